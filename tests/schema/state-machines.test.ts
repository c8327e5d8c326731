import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canTransitionPayout, PAYOUT_STATES, type PayoutState } from '../../shared/payouts/index.js';
import { createTestDatabase, databaseRefusalOf, type TestDatabase } from '../../shared/testing/database.js';
import { insertPayout } from '../../shared/testing/fixtures.js';

// The payout lifecycle is enforced by the database; this walks every pair of states against the
// one table the stages use (shared/payouts).
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
      const expected = canTransitionPayout(row.from_state as PayoutState, row.to_state as PayoutState);
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
    // The SQL guard is under test: the states are written by hand, not through transitionPayout's own check.
    for (const state of ['quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap']) {
      await testDb.db.query(`UPDATE payouts SET state = $1, state_changed_at = now() WHERE id = $2`, [state, payout.id]);
    }
    await testDb.db.query(`UPDATE payouts SET state = 'completed', completed_at = now() WHERE id = $1`, [payout.id]);
    const error = await databaseRefusalOf(testDb.db.query(`UPDATE payouts SET state = 'failed', failure_code = 'late' WHERE id = $1`, [payout.id]));
    expect(error).toMatchObject({ code: '23514', constraint: 'payouts_state_transition' });
  });
});
