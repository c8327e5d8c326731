import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, type Db, type TransactionRetry } from '../db/index.js';
import { hasPostgresServer } from '../testing/database.js';
import { insertCheckout, insertPayment } from '../testing/fixtures.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { settlePayment } from './index.js';

const PAYMENTS_PER_CHANNEL = 50;

/**
 * A popular channel's launch: many payments on one channel settle at the same moment. Lock order
 * must make a deadlock impossible (not merely retried), so no transaction may even be retried.
 * Needs a real server: PGlite runs one transaction at a time.
 */
describe.skipIf(!hasPostgresServer)('settlePayment under concurrency [skipped: needs DATABASE_URL]', () => {
  let h: StageHarness;
  let db: Db;
  const retries: TransactionRetry[] = [];

  beforeAll(async () => {
    h = await createStageHarness({ start: '2026-03-01T00:00:00Z' });
    db = createPostgresDatabase({ connectionString: h.database.url ?? '', maxConnections: 25, onTransactionRetry: (retry) => retries.push(retry) });
  });
  afterAll(async () => {
    await db?.close();
    await h?.close();
  });

  async function settledPaymentsOn(strategy: 'instant' | 'threshold', count: number): Promise<{ channelId: string; paymentIds: string[] }> {
    const { channel, tier } = await h.seedChannel({ payoutStrategy: strategy });
    const paymentIds: string[] = [];
    for (let i = 0; i < count; i++) {
      const checkout = await insertCheckout(h.db, { channelId: channel.id, tierId: tier.id, status: 'paid' });
      paymentIds.push((await insertPayment(h.db, { checkoutId: checkout.id, status: 'finished', isSettled: true })).id);
    }
    return { channelId: channel.id, paymentIds };
  }

  const settle = (paymentId: string) =>
    settlePayment({ db, clock: h.clock, logger: h.logger, platformFeeBps: 300 }, { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' }, paymentId);

  it('settles 50 payments of one instant channel at once with no deadlock and no retry', async () => {
    retries.length = 0;
    const { channelId, paymentIds } = await settledPaymentsOn('instant', PAYMENTS_PER_CHANNEL);
    const results = await Promise.allSettled(paymentIds.map(settle));
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(retries).toEqual([]);
    const { rows } = await db.query<{ payouts: bigint; balance: string }>(
      `SELECT (SELECT count(*) FROM payouts WHERE channel_id = $1) AS payouts,
              (SELECT coalesce(sum(e.amount), 0)::text FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
                WHERE a.channel_id = $1) AS balance`,
      [channelId],
    );
    // Every net claimed into its own payout: one per payment, nothing left on the owner's balance.
    expect(rows[0]).toEqual({ payouts: BigInt(PAYMENTS_PER_CHANNEL), balance: '0' });
  });

  it('books once when one message is delivered four times at the same moment, and under another message id too', async () => {
    retries.length = 0;
    const { channelId, paymentIds } = await settledPaymentsOn('instant', 1);
    const paymentId = paymentIds[0] as string;
    const key = { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' };
    const deliver = (messageKey = key) => settlePayment({ db, clock: h.clock, logger: h.logger, platformFeeBps: 300 }, messageKey, paymentId);
    const results = await Promise.all([deliver(), deliver(), deliver(), deliver(), deliver({ ...key, messageId: randomUUID() })]);
    // One books the settlement; the repeats of its message find the claim taken, the other id finds it booked.
    expect(results.filter((result) => result?.booked.includes('settlement'))).toHaveLength(1);
    expect(results.filter((result) => result === undefined).length).toBeGreaterThanOrEqual(3);
    const { rows } = await db.query<{ payouts: bigint; settlements: bigint; claims: bigint; invites: bigint }>(
      `SELECT (SELECT count(*) FROM payouts WHERE channel_id = $1) AS payouts,
              (SELECT count(*) FROM ledger_transactions WHERE payment_id = $2 AND kind = 'payment_settled') AS settlements,
              (SELECT count(*) FROM processed_messages WHERE consumer = 'settle-payment' AND message_id = $3) AS claims,
              (SELECT count(*) FROM outbox WHERE dedupe_key = 'invite-requested:' || $2) AS invites`,
      [channelId, paymentId, key.messageId],
    );
    expect(rows[0]).toEqual({ payouts: 1n, settlements: 1n, claims: 1n, invites: 1n });
    expect(retries).toEqual([]);
  });

  it('settles payments over four channels, instant and threshold, at once with no retry', async () => {
    retries.length = 0;
    const channels = await Promise.all([
      settledPaymentsOn('instant', 12),
      settledPaymentsOn('instant', 12),
      settledPaymentsOn('threshold', 12),
      settledPaymentsOn('threshold', 12),
    ]);
    const interleaved = channels.flatMap((channel) => channel.paymentIds.map((id, index) => ({ id, index }))).sort((a, b) => a.index - b.index);
    const results = await Promise.allSettled(interleaved.map((payment) => settle(payment.id)));
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(retries).toEqual([]);
  });
});
