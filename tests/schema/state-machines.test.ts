import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAIN_TRANSFER_STATUSES, canTransitionChainTransfer } from '../../shared/chain/index.js';
import { CHECKOUT_STATUSES, canTransitionCheckout } from '../../shared/checkout/index.js';
import { GIFT_STATUSES, canTransitionGift } from '../../shared/gifts/index.js';
import { PAYMENT_STATUSES, canTransitionPayment } from '../../shared/payments/index.js';
import { PAYOUT_STATES, SWAP_STATUSES, canTransitionPayout, canTransitionSwap } from '../../shared/payouts/index.js';
import { createTestDatabase, databaseRefusalOf, type TestDatabase } from '../../shared/testing/database.js';
import { insertChainTransfer, insertCheckout, insertPayment, insertPayout, insertSwap } from '../../shared/testing/fixtures.js';

// Every state machine has one transition table in code (its owning folder) and the same graph in SQL,
// enforced by a BEFORE UPDATE trigger. This walks every (from, to) pair of both.
const MACHINES = [
  { table: 'payouts', column: 'state', sqlFunction: 'payout_state_can_advance', states: PAYOUT_STATES, can: canTransitionPayout },
  { table: 'payments', column: 'status', sqlFunction: 'payment_status_can_advance', states: PAYMENT_STATUSES, can: canTransitionPayment },
  { table: 'checkouts', column: 'status', sqlFunction: 'checkout_status_can_advance', states: CHECKOUT_STATUSES, can: canTransitionCheckout },
  { table: 'swaps', column: 'status', sqlFunction: 'swap_status_can_advance', states: SWAP_STATUSES, can: canTransitionSwap },
  { table: 'gifts', column: 'status', sqlFunction: 'gift_status_can_advance', states: GIFT_STATUSES, can: canTransitionGift },
  {
    table: 'chain_transfers',
    column: 'status',
    sqlFunction: 'chain_transfer_status_can_advance',
    states: CHAIN_TRANSFER_STATUSES,
    can: canTransitionChainTransfer,
  },
] as const;

describe('state machines', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.dispose());

  describe.each(MACHINES)('$table', ({ table, column, sqlFunction, states, can }) => {
    const canMove = can as (from: string, to: string) => boolean;

    it(`has the states its ${column} column accepts`, async () => {
      const { rows } = await testDb.db.query<{ definition: string }>(
        `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2`,
        [table, `${table}_${column}_check`],
      );
      const accepted = [...(rows[0]?.definition ?? '').matchAll(/'([a-z_]+)'::text/g)].map((match) => match[1]);
      expect([...accepted].sort()).toEqual([...states].sort());
    });

    it(`allows exactly the moves of its code table (${sqlFunction})`, async () => {
      const { rows } = await testDb.db.query<{ from: string; to: string; allowed: boolean }>(
        `SELECT f AS "from", t AS "to", ${sqlFunction}(f, t) AS allowed FROM unnest($1::text[]) f CROSS JOIN unnest($1::text[]) t`,
        [[...states]],
      );
      expect(rows).toHaveLength(states.length ** 2);
      const disagreements = rows.filter((row) => row.allowed !== canMove(row.from, row.to)).map((row) => `${row.from} → ${row.to}: SQL says ${row.allowed}`);
      expect(disagreements).toEqual([]);
      // No state moves to itself: an UPDATE that keeps the state is not a transition.
      expect(states.filter((state) => canMove(state, state))).toEqual([]);
    });
  });

  it('walk a payout through its main line with the guard trigger on, and refuse a move out of completed', async () => {
    const payout = await insertPayout(testDb.db);
    // The SQL guard is under test: the states are written by hand, not through transitionPayout's own check.
    for (const state of ['quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap']) {
      await testDb.db.query(`UPDATE payouts SET state = $1, state_changed_at = now() WHERE id = $2`, [state, payout.id]);
    }
    await testDb.db.query(`UPDATE payouts SET state = 'completed', completed_at = now() WHERE id = $1`, [payout.id]);
    const error = await databaseRefusalOf(testDb.db.query(`UPDATE payouts SET state = 'failed', failure_code = 'late' WHERE id = $1`, [payout.id]));
    expect(error).toMatchObject({ code: '23514', constraint: 'payouts_state_transition' });
  });

  it('refuse a payment status going back', async () => {
    const payment = await insertPayment(testDb.db, { status: 'confirmed' });
    const error = await databaseRefusalOf(testDb.db.query(`UPDATE payments SET status = 'waiting' WHERE id = $1`, [payment.id]));
    expect(error).toMatchObject({ code: '23514', constraint: 'payments_status_forward_only' });
  });

  it('let a late payment pay an expired checkout, and refuse an expired checkout being cancelled or a paid one reopened', async () => {
    const late = await insertCheckout(testDb.db);
    await testDb.db.query(`UPDATE checkouts SET status = 'expired', closed_at = now() WHERE id = $1`, [late.id]);
    const cancelled = await databaseRefusalOf(testDb.db.query(`UPDATE checkouts SET status = 'cancelled' WHERE id = $1`, [late.id]));
    expect(cancelled).toMatchObject({ code: '23514', constraint: 'checkouts_status_transition' });
    await testDb.db.query(`UPDATE checkouts SET status = 'paid', paid_at = now(), closed_at = NULL WHERE id = $1`, [late.id]);
    const reopened = await databaseRefusalOf(testDb.db.query(`UPDATE checkouts SET status = 'open', paid_at = NULL WHERE id = $1`, [late.id]));
    expect(reopened).toMatchObject({ code: '23514', constraint: 'checkouts_status_transition' });
  });

  it('follow a swap through a failure its support finishes, and refuse a status after finished', async () => {
    const swap = await insertSwap(testDb.db, await insertPayout(testDb.db));
    for (const status of ['confirming', 'verifying', 'exchanging', 'failed', 'sending']) {
      await testDb.db.query(`UPDATE swaps SET status = $1, updated_at = now() WHERE id = $2`, [status, swap.id]);
    }
    await testDb.db.query(`UPDATE swaps SET status = 'finished', finished_at = now() WHERE id = $1`, [swap.id]);
    const error = await databaseRefusalOf(testDb.db.query(`UPDATE swaps SET status = 'sending' WHERE id = $1`, [swap.id]));
    expect(error).toMatchObject({ code: '23514', constraint: 'swaps_status_transition' });
  });

  it('refuse a signed transfer recorded as confirmed without its broadcast', async () => {
    const transfer = await insertChainTransfer(testDb.db, await insertPayout(testDb.db));
    const error = await databaseRefusalOf(
      testDb.db.query(
        `UPDATE chain_transfers SET status = 'confirmed', broadcast_at = now(), block_number = 1, confirmed_at = now(), mined_tx_hash = tx_hash
          WHERE id = $1`,
        [transfer.id],
      ),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'chain_transfers_status_transition' });
  });
});
