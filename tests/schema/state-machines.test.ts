import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { insertPayout } from '../../shared/testing/fixtures.js';

async function dbErrorOf(promise: Promise<unknown>): Promise<{ code?: string; constraint?: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, 'expected the database to refuse').toBeDefined();
  return error as { code?: string; constraint?: string };
}

// The payout lifecycle is enforced by the database; this walks every pair of states.
const PAYOUT_STATES = [
  'requested', 'held', 'deferred', 'quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap',
  'completed', 'failed', 'refunded', 'cancelled',
] as const;
const PAYOUT_EDGES: Record<(typeof PAYOUT_STATES)[number], readonly string[]> = {
  requested: ['quoted', 'held', 'deferred', 'failed', 'cancelled'],
  held: ['requested', 'cancelled'],
  deferred: ['requested', 'failed', 'cancelled'],
  quoted: ['requested', 'swap_created', 'transfer_signed', 'held', 'deferred', 'failed', 'cancelled'],
  swap_created: ['transfer_signed', 'failed', 'cancelled'],
  transfer_signed: ['transfer_broadcast'],
  transfer_broadcast: ['awaiting_swap', 'completed', 'failed'],
  awaiting_swap: ['completed', 'refunded', 'failed'],
  completed: [],
  failed: [],
  refunded: [],
  cancelled: [],
};
const PAYMENT_STATUSES = ['waiting', 'confirming', 'confirmed', 'sending', 'partially_paid', 'finished', 'failed', 'refunded', 'expired'];
const PAYMENT_FORWARD: Record<string, readonly string[]> = {
  waiting: ['confirming', 'confirmed', 'sending', 'partially_paid', 'finished', 'failed', 'refunded', 'expired'],
  confirming: ['confirmed', 'sending', 'partially_paid', 'finished', 'failed', 'refunded', 'expired'],
  confirmed: ['sending', 'partially_paid', 'finished', 'failed', 'refunded', 'expired'],
  sending: ['partially_paid', 'finished', 'failed', 'refunded', 'expired'],
  partially_paid: ['finished', 'failed', 'refunded', 'expired'],
  finished: ['refunded'],
  failed: [],
  refunded: [],
  expired: [],
};

describe('state machines', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.dispose());

  it('allow exactly the documented payout transitions', async () => {
    const { rows } = await testDb.db.query<{ from_state: string; to_state: string; allowed: boolean }>(
      `SELECT f AS from_state, t AS to_state, payout_state_can_advance(f, t) AS allowed
         FROM unnest($1::text[]) f CROSS JOIN unnest($1::text[]) t`,
      [[...PAYOUT_STATES]],
    );
    expect(rows).toHaveLength(PAYOUT_STATES.length ** 2);
    for (const row of rows) {
      const expected = PAYOUT_EDGES[row.from_state as (typeof PAYOUT_STATES)[number]].includes(row.to_state);
      expect({ ...row, allowed: row.allowed }).toEqual({ ...row, allowed: expected });
    }
  });

  it('allow exactly the forward payment statuses', async () => {
    const { rows } = await testDb.db.query<{ from_status: string; to_status: string; allowed: boolean }>(
      `SELECT f AS from_status, t AS to_status, payment_status_can_advance(f, t) AS allowed
         FROM unnest($1::text[]) f CROSS JOIN unnest($1::text[]) t`,
      [PAYMENT_STATUSES],
    );
    for (const row of rows) {
      expect({ ...row }).toEqual({ ...row, allowed: (PAYMENT_FORWARD[row.from_status] ?? []).includes(row.to_status) });
    }
  });

  it('walk a payout through its main line with the guard trigger on', async () => {
    const payout = await insertPayout(testDb.db);
    for (const state of ['quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap']) {
      await testDb.db.query(`UPDATE payouts SET state = $1, state_changed_at = now() WHERE id = $2`, [state, payout.id]);
    }
    await testDb.db.query(`UPDATE payouts SET state = 'completed', completed_at = now() WHERE id = $1`, [payout.id]);
    const error = await dbErrorOf(testDb.db.query(`UPDATE payouts SET state = 'failed', failure_code = 'late' WHERE id = $1`, [payout.id]));
    expect(error).toMatchObject({ code: '23514', constraint: 'payouts_state_transition' });
  });
});
