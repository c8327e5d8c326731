import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, type Db, type TransactionRetry } from '../db/index.js';
import { formatUnits } from '../money/index.js';
import { settlePayment } from '../payments/index.js';
import { hasPostgresServer } from '../testing/database.js';
import { creditOwner, insertCheckout, insertConversionBatch, insertPayment } from '../testing/fixtures.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { countStatements } from '../testing/statement-counter.js';
import { holdPayout, rejectPayout } from './limits.js';
import { runThresholdPayouts } from './threshold.js';
import { FIRST_CYCLE, hasReached, percentOfThreshold, readThresholdProgress, thresholdProgressKey } from './threshold-progress.js';

const FEE_BPS = 300;
/** Each test payment: a $10.00 invoice paying 0.003 ETH; the owner's net (97 %) is worth $9.70 (970 cents). */
const PRICE_CENTS = 1_000n;
const OUTCOME_WEI = 3_000_000_000_000_000n;
/** $40: the 3rd payment passes 50 % ($29.10), the 5th 100 % ($48.50). */
const THRESHOLD_CENTS = 4_000n;

let h: StageHarness;
beforeAll(async () => {
  h = await createStageHarness({ start: '2026-03-01T00:00:00Z' });
});
afterAll(() => h?.close());

interface Channel {
  id: string;
  tierId: string;
}

async function thresholdChannel(options: { chat?: boolean; strategy?: 'instant' | 'threshold' } = {}): Promise<Channel> {
  const strategy = options.strategy ?? 'threshold';
  const { channel, tier } = await h.seedChannel({
    payoutStrategy: strategy,
    payoutThresholdCents: strategy === 'threshold' ? THRESHOLD_CENTS : null,
    payoutCurrency: 'USDT',
    tier: { priceCents: PRICE_CENTS },
  });
  if (options.chat !== false) {
    await h.db.query('UPDATE channels SET notifications_enabled = true, notification_chat_id = $2 WHERE id = $1', [channel.id, 5_550_000 + Math.floor(Math.random() * 1_000_000)]);
  }
  return { id: channel.id, tierId: tier.id };
}

/** A settled payment on the channel (ETH outcome unless `usdtUnits` is given), not yet consumed by settle-payment. */
async function settledPayment(channel: Channel, options: { usdtUnits?: bigint } = {}): Promise<string> {
  const checkout = await insertCheckout(h.db, { channelId: channel.id, tierId: channel.tierId, status: 'paid' });
  const isUsdt = options.usdtUnits !== undefined;
  const payment = await insertPayment(h.db, { checkoutId: checkout.id, status: 'finished', isSettled: !isUsdt, outcomeUnits: OUTCOME_WEI });
  if (isUsdt) {
    await h.db.query(
      `UPDATE payments SET outcome_currency = 'usdterc20', outcome_asset = 'USDT_ERC20', outcome_amount = $2, outcome_units = $3,
                           settled_outcome_units = $3, settled_at = $4 WHERE id = $1`,
      [payment.id, formatUnits(options.usdtUnits!, 6), options.usdtUnits!.toString(), h.clock.now()],
    );
  }
  return payment.id;
}

/** settle-payment for the payment, its message delivered twice. */
async function settle(paymentId: string, db: Db = h.db): Promise<void> {
  const key = { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' };
  const deps = { db, clock: h.clock, logger: h.logger, platformFeeBps: FEE_BPS };
  await settlePayment(deps, key, paymentId);
  await settlePayment(deps, key, paymentId);
}

async function pay(channel: Channel, count = 1): Promise<void> {
  for (let index = 0; index < count; index++) await settle(await settledPayment(channel));
}

/** The channel's queued progress messages: `<cycle>:<mark>` subjects, oldest first. */
async function announced(channelId: string): Promise<string[]> {
  const { rows } = await h.db.query<{ subject: string }>(
    `SELECT payload->>'subjectId' AS subject FROM outbox
      WHERE topic = 'owner-notification-requested' AND payload->>'kind' = 'threshold_progress' AND payload->>'channelId' = $1 ORDER BY id`,
    [channelId],
  );
  return rows.map((row) => row.subject);
}

describe('readThresholdProgress', () => {
  it('values parked USDT at $1 and unparked ETH (balance and converting batches) at the latest payment’s invoice rate', async () => {
    const channel = await thresholdChannel();
    await pay(channel); // 0.00291 ETH net at $10 per 0.003 ETH
    await creditOwner(h.db, channel.id, 'USDT_ERC20', 12_345_678n); // $12.34 (and a fraction)
    await insertConversionBatch(h.db, [{ channelId: channel.id, fromUnits: 1_500_000_000_000_000n }]); // 0.0015 ETH converting

    const progress = await readThresholdProgress(h.db, channel.id);
    expect(progress).toMatchObject({
      isThreshold: true,
      thresholdCents: THRESHOLD_CENTS,
      cycle: FIRST_CYCLE,
      usdtUnits: 12_345_678n,
      usdtCents: 1_234n,
      ethUnits: 2_910_000_000_000_000n + 1_500_000_000_000_000n,
      ethCents: 1_470n, // 0.00441 ETH × $10 / 0.003 ETH
      balanceCents: 2_704n,
      queued: [],
    });
    expect(percentOfThreshold(progress!)).toBe(67n);
    expect(hasReached(progress!, 50)).toBe(true);
    expect(hasReached(progress!, 100)).toBe(false);
  });

  it('counts a mark reached exactly, never rounding 99.99 % up', () => {
    expect(hasReached({ balanceCents: 1_999n, thresholdCents: 3_999n }, 50)).toBe(false);
    expect(hasReached({ balanceCents: 2_000n, thresholdCents: 3_999n }, 50)).toBe(true);
    expect(percentOfThreshold({ balanceCents: 3_998n, thresholdCents: 3_999n })).toBe(99n);
  });

  it('is not a threshold measure for an instant channel', async () => {
    const channel = await thresholdChannel({ strategy: 'instant' });
    expect((await readThresholdProgress(h.db, channel.id))?.isThreshold).toBe(false);
    expect(await readThresholdProgress(h.db, randomUUID())).toBeUndefined();
  });
});

describe('settle-payment and threshold progress', () => {
  it('queues 50 % once when the balance passes it and 100 % once when it reaches the threshold', async () => {
    const channel = await thresholdChannel();
    await pay(channel, 2); // $19.40: 48 %
    expect(await announced(channel.id)).toEqual([]);
    await pay(channel); // $29.10: 72 %
    expect(await announced(channel.id)).toEqual([`${FIRST_CYCLE}:50`]);
    await pay(channel); // $38.80: 97 %
    expect(await announced(channel.id)).toEqual([`${FIRST_CYCLE}:50`]);
    await pay(channel); // $48.50: 121 %
    await pay(channel);
    expect(await announced(channel.id)).toEqual([`${FIRST_CYCLE}:50`, `${FIRST_CYCLE}:100`]);
    const { rows } = await h.db.query<{ dedupe_key: string }>(`SELECT dedupe_key FROM outbox WHERE payload->>'channelId' = $1 AND payload->>'kind' = 'threshold_progress' ORDER BY id`, [channel.id]);
    expect(rows.map((row) => row.dedupe_key)).toEqual([thresholdProgressKey(channel.id, FIRST_CYCLE, 50), thresholdProgressKey(channel.id, FIRST_CYCLE, 100)]);
  });

  it('queues both marks when one payment jumps past both, and counts USDT outcomes at face value', async () => {
    const channel = await thresholdChannel();
    await settle(await settledPayment(channel, { usdtUnits: 45_000_000n })); // 43.65 USDT net
    expect(await announced(channel.id)).toEqual([`${FIRST_CYCLE}:50`, `${FIRST_CYCLE}:100`]);
  });

  it('queues nothing for an instant channel or one without a notification chat', async () => {
    const instant = await thresholdChannel({ strategy: 'instant' });
    const silent = await thresholdChannel({ chat: false });
    await pay(instant, 5);
    await pay(silent, 5);
    expect(await announced(instant.id)).toEqual([]);
    expect(await announced(silent.id)).toEqual([]);
  });

  it('catches up a mark it could not announce: a chat set later, at the next payment', async () => {
    const channel = await thresholdChannel({ chat: false });
    await pay(channel, 3); // 72 %, nobody to tell
    await h.db.query('UPDATE channels SET notifications_enabled = true, notification_chat_id = 5549999 WHERE id = $1', [channel.id]);
    expect(await announced(channel.id)).toEqual([]);
    await pay(channel);
    expect(await announced(channel.id)).toEqual([`${FIRST_CYCLE}:50`]);
  });

  it('crosses nothing when the payment was refunded before settle-payment booked it', async () => {
    const channel = await thresholdChannel();
    await pay(channel, 2); // 48 %
    const paymentId = await settledPayment(channel);
    await h.db.query(`UPDATE payments SET status = 'refunded' WHERE id = $1`, [paymentId]);
    await settle(paymentId); // settlement and refund in one delivery: the balance is back at 48 %
    expect(await announced(channel.id)).toEqual([]);
  });

  it('starts a new cycle when a threshold payout takes the balance, and not when that payout comes back', async () => {
    const channel = await thresholdChannel();
    await settle(await settledPayment(channel, { usdtUnits: 45_000_000n })); // 43.65 USDT: both marks
    const report = await runThresholdPayouts(h);
    expect(report.requested).toBeGreaterThanOrEqual(1);
    const { rows } = await h.db.query<{ id: string }>(`SELECT id FROM payouts WHERE channel_id = $1 AND kind = 'threshold'`, [channel.id]);
    const payoutId = rows[0]!.id;
    expect((await readThresholdProgress(h.db, channel.id))).toMatchObject({ cycle: payoutId, usdtUnits: 0n, balanceCents: 0n });

    await settle(await settledPayment(channel, { usdtUnits: 25_000_000n })); // 24.25 USDT: 60 % of the new cycle
    expect(await announced(channel.id)).toEqual([`${FIRST_CYCLE}:50`, `${FIRST_CYCLE}:100`, `${payoutId}:50`]);

    // The payout is held and rejected: its 43.65 USDT come back, and so does the first cycle, whose
    // marks were announced. 67.90 USDT is over the threshold, but nothing is told twice.
    await h.db.transaction((tx) => holdPayout(tx, payoutId, 'test', h.clock.now()));
    await rejectPayout(h.db, { payoutId, operator: 'test', reason: 'test', at: h.clock.now() });
    expect(await readThresholdProgress(h.db, channel.id)).toMatchObject({ cycle: FIRST_CYCLE, balanceCents: 6_790n, queued: [50, 100] });
    await settle(await settledPayment(channel, { usdtUnits: 1_000_000n }));
    expect(await announced(channel.id)).toEqual([`${FIRST_CYCLE}:50`, `${FIRST_CYCLE}:100`, `${payoutId}:50`]);
  });

  it('costs a threshold settlement one statement, and none for a channel with nobody to tell', async () => {
    const told = await thresholdChannel();
    const silent = await thresholdChannel({ chat: false });
    const statementsFor = async (channel: Channel) => {
      const paymentId = await settledPayment(channel);
      const counter = countStatements(h.db);
      await settlePayment({ db: counter.db, clock: h.clock, logger: h.logger, platformFeeBps: FEE_BPS }, { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' }, paymentId);
      return counter.counts().statements;
    };
    // Both queue an invite; the progress messages ride in the same insert. The lock rides in the first statement.
    expect((await statementsFor(told)) - (await statementsFor(silent))).toBe(1);
  });
});

/**
 * Two payments of one channel settled at the same moment, which pass 100 % only together: each
 * settlement must read the other's booking, or neither would queue the mark. Needs a real server
 * (PGlite runs one transaction at a time).
 */
describe.skipIf(!hasPostgresServer)('threshold progress under concurrent settlements [skipped: needs DATABASE_URL]', () => {
  let db: Db;
  const retries: TransactionRetry[] = [];
  beforeAll(() => {
    db = createPostgresDatabase({ connectionString: h.database.url ?? '', maxConnections: 25, onTransactionRetry: (retry) => retries.push(retry) });
  });
  afterAll(() => db?.close());

  it('announces a mark crossed by two settlements at once exactly once, duplicates delivered at once too', async () => {
    const channels = await Promise.all(Array.from({ length: 6 }, () => thresholdChannel()));
    for (const channel of channels) await pay(channel, 3); // 72 %: 50 % announced
    const pairs = await Promise.all(channels.map(async (channel) => [await settledPayment(channel), await settledPayment(channel)] as const));
    // Alone each would make 97 %; together 121 %. Every payment's message twice at once.
    await Promise.all(
      pairs.flatMap((pair) =>
        pair.flatMap((paymentId) => {
          const key = { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' };
          const deps = { db, clock: h.clock, logger: h.logger, platformFeeBps: FEE_BPS };
          return [settlePayment(deps, key, paymentId), settlePayment(deps, key, paymentId)];
        }),
      ),
    );
    for (const channel of channels) expect(await announced(channel.id)).toEqual([`${FIRST_CYCLE}:50`, `${FIRST_CYCLE}:100`]);
    // The lock orders them; it cannot deadlock with the payment row, ledger or payout locks.
    expect(retries).toEqual([]);
  });
});
