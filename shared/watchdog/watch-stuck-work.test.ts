import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMessage } from '../bus/index.js';
import { createLogger } from '../logging/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertCheckout, insertPayment, insertPayout, insertSwap, movePayout } from '../testing/fixtures.js';
import { redriveStuckWork, watchStuckWork } from './index.js';

const MINUTE = 60_000;

describe('the watchdog', () => {
  let testDb: TestDatabase;
  const clock = createFakeClock(FIXTURE_NOW);
  const lines: string[] = [];
  const logger = createLogger({ write: (line) => lines.push(line) });
  const db = () => testDb.db;
  const deps = () => ({ db: db(), clock, logger });
  const criticalLines = (event: string) => lines.filter((line) => line.includes('"CRITICAL"') && line.includes(event));

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.dispose());

  it('runs every state query of every machine', async () => {
    clock.set(FIXTURE_NOW);
    expect((await watchStuckWork(deps())).failed).toEqual([]);
    expect((await redriveStuckWork(deps(), 'reconcile')).failed).toEqual([]);
  });

  it('alerts once for a payout past its age limit, and again only for a new episode', async () => {
    clock.set(FIXTURE_NOW);
    const payout = await insertPayout(db());
    clock.advance(59 * MINUTE);
    await watchStuckWork(deps());
    expect(criticalLines(payout.id)).toEqual([]);

    clock.advance(2 * MINUTE);
    expect((await watchStuckWork(deps())).raised).toMatchObject({ 'payouts.requested': 1 });
    await watchStuckWork(deps());
    clock.advance(60 * MINUTE);
    await watchStuckWork(deps());
    expect(criticalLines(payout.id)).toHaveLength(1);
    expect(JSON.parse(criticalLines(payout.id)[0] ?? '{}')).toMatchObject({ message: 'stuck.payouts.requested', subjectId: payout.id, owner: 'track-payouts' });
    const { rows } = await db().query('SELECT alert, subject_type, subject_id FROM operator_alerts WHERE subject_id = $1', [payout.id]);
    expect(rows).toEqual([{ alert: 'stuck.payouts.requested', subject_type: 'payouts', subject_id: payout.id }]);

    // It moves on and gets stuck in the next state: a new episode, a new alert.
    await movePayout(db(), payout.id, 'quoted', { at: clock.now() });
    clock.advance(61 * MINUTE);
    await watchStuckWork(deps());
    expect(criticalLines(payout.id)).toHaveLength(2);
  });

  it('re-publishes the payment-settled message of a payment settled but never booked, with its id, then alerts', async () => {
    clock.set(FIXTURE_NOW);
    const payment = await insertPayment(db(), { status: 'finished', isSettled: true });
    const message = await db().transaction((tx) =>
      enqueueMessage(tx, 'payment-settled', { paymentId: payment.id }, { at: clock.now(), dedupeKey: `payment-settled:${payment.id}` }),
    );
    // Published (the relay marked it), then the delivery was lost.
    await db().query(`UPDATE outbox SET published_at = $2, provider_message_id = 'p-1' WHERE dedupe_key = $1`, [`payment-settled:${payment.id}`, clock.now()]);
    const outboxRow = () =>
      db()
        .query<{ message_id: string; published_at: Date | null; republish_count: number }>(
          'SELECT message_id, published_at, republish_count FROM outbox WHERE dedupe_key = $1',
          [`payment-settled:${payment.id}`],
        )
        .then((result) => result.rows[0]);

    clock.advance(9 * MINUTE);
    await redriveStuckWork(deps(), 'reconcile');
    expect(await outboxRow()).toMatchObject({ republish_count: 0 });

    clock.advance(2 * MINUTE);
    expect((await redriveStuckWork(deps(), 'reconcile')).redriven).toMatchObject({ 'payment_bookings.settled': 1 });
    expect(await outboxRow()).toEqual({ message_id: message?.messageId, published_at: null, republish_count: 1 });
    // Not again while the relay has not published it (nor within 10 minutes of its publication).
    await redriveStuckWork(deps(), 'reconcile');
    expect((await outboxRow())?.republish_count).toBe(1);

    clock.advance(50 * MINUTE);
    await watchStuckWork(deps());
    expect(criticalLines(payment.id)).toHaveLength(1);
    expect(criticalLines(payment.id)[0]).toContain('stuck.payment_bookings.settled');
  });

  it('expires open checkouts past their expiry', async () => {
    clock.set(FIXTURE_NOW);
    const checkout = await insertCheckout(db());
    clock.advance(25 * 60 * MINUTE);
    expect((await redriveStuckWork(deps(), 'reconcile')).redriven['checkouts.open']).toBeGreaterThanOrEqual(1);
    const { rows } = await db().query('SELECT status FROM checkouts WHERE id = $1', [checkout.id]);
    expect(rows).toEqual([{ status: 'expired' }]);
  });

  it('times exchanges held for verification (AML) or never seeing our deposit, once each', async () => {
    clock.set(FIXTURE_NOW);
    const held = await insertSwap(db(), await insertPayout(db()));
    const awaitingDeposit = await insertSwap(db(), await insertPayout(db()));
    // ChangeNow moved the first into verifying an hour in; the second stays waiting for our deposit.
    clock.advance(60 * MINUTE);
    await db().query(`UPDATE swaps SET status = 'verifying', status_checked_at = $2, updated_at = $2 WHERE id = $1`, [held.id, clock.now()]);
    clock.advance(61 * MINUTE);
    await watchStuckWork(deps());
    expect(criticalLines(awaitingDeposit.id)).toHaveLength(1);
    expect(criticalLines(awaitingDeposit.id)[0]).toContain('stuck.swaps.waiting');
    expect(criticalLines(held.id)).toEqual([]);

    clock.advance(23 * 60 * MINUTE);
    await watchStuckWork(deps());
    await watchStuckWork(deps());
    expect(criticalLines(held.id)).toHaveLength(1);
    expect(criticalLines(held.id)[0]).toContain('AML');
    expect(criticalLines(awaitingDeposit.id)).toHaveLength(1);
  });
});
