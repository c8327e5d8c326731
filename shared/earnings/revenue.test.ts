import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../ids/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { type TestDatabase, createTestDatabase } from '../testing/database.js';
import { creditOwner, insertAccount, insertChannel, insertCheckout, insertPayment, insertPayout, insertSubscription, insertTier } from '../testing/fixtures.js';
import { listChannelFigures, revenueOverTime } from './index.js';

let testDb: TestDatabase;
// A Wednesday, mid-day: the current day, week (from Monday 2026-03-02) and month are partly gone.
const clock = createFakeClock('2026-03-04T15:00:00Z');
const db = () => testDb.db;
let owner: string;
let stranger: string;
let channelA: string;
let channelB: string;
let strangerChannel: string;
const tiers = new Map<string, string>();

async function pay(channelId: string, priceCents: bigint, settledAt: Date | null, status: 'finished' | 'refunded' | 'waiting' = 'finished') {
  let tierId = tiers.get(channelId);
  if (!tierId) tiers.set(channelId, (tierId = (await insertTier(db(), { channelId })).id));
  const checkout = await insertCheckout(db(), { channelId, tierId, priceCents });
  await insertPayment(db(), { checkoutId: checkout.id, status, ...(settledAt ? { settledAt } : {}) });
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  owner = (await insertAccount(db())).id;
  stranger = (await insertAccount(db())).id;
  channelA = (await insertChannel(db(), { ownerAccountId: owner })).id;
  channelB = (await insertChannel(db(), { ownerAccountId: owner, payoutStrategy: 'threshold', payoutThresholdCents: 5_000n })).id;
  strangerChannel = (await insertChannel(db(), { ownerAccountId: stranger })).id;
  // Day buckets: midnight belongs to the day it starts; the instant before it to the day before.
  await pay(channelA, 999n, new Date('2026-03-04T00:00:00Z'));
  await pay(channelA, 1_001n, new Date('2026-03-03T23:59:59.999Z'));
  await pay(channelB, 2_500n, new Date('2026-03-04T10:00:00Z'));
  await pay(channelA, 700n, new Date('2026-02-01T12:00:00Z')); // 31 days back: outside the default 30 days
  await pay(channelA, 5_000n, new Date('2026-03-02T08:00:00Z'), 'refunded'); // refunds are not revenue
  await pay(channelA, 4_000n, null, 'waiting'); // not settled
  await pay(strangerChannel, 9_900n, new Date('2026-03-04T09:00:00Z')); // another account's
});
afterAll(() => testDb?.dispose());

describe('revenueOverTime', () => {
  it('by day: the last 30 days up to the end of today, every day present, what was paid and settled in it', async () => {
    const revenue = await revenueOverTime({ db: db(), clock }, { accountId: owner }, {});
    expect(revenue.interval).toBe('day');
    expect(revenue.from).toBe('2026-02-03T00:00:00.000Z');
    expect(revenue.to).toBe('2026-03-05T00:00:00.000Z');
    expect(revenue.points).toHaveLength(30);
    expect(revenue.points[0]).toEqual({ start: '2026-02-03T00:00:00Z', revenueUsd: '0.00', payments: 0 });
    expect(revenue.points.at(-2)).toEqual({ start: '2026-03-03T00:00:00Z', revenueUsd: '10.01', payments: 1 });
    expect(revenue.points.at(-1)).toEqual({ start: '2026-03-04T00:00:00Z', revenueUsd: '34.99', payments: 2 });
    expect(revenue.totalUsd).toBe('45.00');
    expect(revenue.payments).toBe(3);
  });

  it('by ISO week (from Monday) and by month', async () => {
    const weeks = await revenueOverTime({ db: db(), clock }, { accountId: owner }, { interval: 'week' });
    expect(weeks.points).toHaveLength(26);
    expect(weeks.points.at(-1)).toEqual({ start: '2026-03-02T00:00:00Z', revenueUsd: '45.00', payments: 3 });
    const months = await revenueOverTime({ db: db(), clock }, { accountId: owner }, { interval: 'month' });
    expect(months.points).toHaveLength(12);
    expect(months.points.slice(-2)).toEqual([
      { start: '2026-02-01T00:00:00Z', revenueUsd: '7.00', payments: 1 },
      { start: '2026-03-01T00:00:00Z', revenueUsd: '45.00', payments: 3 },
    ]);
    expect(months.totalUsd).toBe('52.00');
  });

  it('one channel, and an explicit range (from inclusive, to exclusive)', async () => {
    const b = await revenueOverTime({ db: db(), clock }, { accountId: owner }, { channelId: formatPublicId('channel', channelB) });
    expect(b.totalUsd).toBe('25.00');
    const range = await revenueOverTime({ db: db(), clock }, { accountId: owner }, { from: '2026-03-03T00:00:00Z', to: '2026-03-04T00:00:00Z' });
    expect(range.points).toEqual([{ start: '2026-03-03T00:00:00Z', revenueUsd: '10.01', payments: 1 }]);
  });

  it("refuses another account's channel, an inverted or empty range, too many buckets, an unknown interval", async () => {
    await expect(revenueOverTime({ db: db(), clock }, { accountId: owner }, { channelId: formatPublicId('channel', strangerChannel) })).rejects.toMatchObject({
      code: 'channel_not_found',
    });
    await expect(revenueOverTime({ db: db(), clock }, { accountId: owner }, { from: '2026-03-04T00:00:00Z', to: '2026-03-04T00:00:00Z' })).rejects.toMatchObject({
      code: 'validation_failed',
      context: { fields: { 'query.to': 'must be later than from' } },
    });
    await expect(revenueOverTime({ db: db(), clock }, { accountId: owner }, { from: '2020-01-01T00:00:00Z' })).rejects.toMatchObject({
      code: 'validation_failed',
      context: { fields: { 'query.from': expect.stringContaining('more than 732 days') } },
    });
    expect((await revenueOverTime({ db: db(), clock }, { accountId: owner }, { from: '2020-01-01T00:00:00Z', interval: 'month' })).points).toHaveLength(75);
    await expect(revenueOverTime({ db: db(), clock }, { accountId: owner }, { interval: 'hour' })).rejects.toMatchObject({ code: 'validation_failed' });
  });
});

describe('listChannelFigures', () => {
  it('gives each live channel its subscribers now, revenue over 30 days and where the next payout stands', async () => {
    await insertSubscription(db(), { channelId: channelA, expiresAt: new Date('2026-03-20T00:00:00Z') });
    await insertSubscription(db(), { channelId: channelA, expiresAt: new Date('2026-03-01T00:00:00Z') }); // ran out, not yet expired by the job
    await insertSubscription(db(), { channelId: channelB, expiresAt: new Date('2026-04-01T00:00:00Z') });
    await creditOwner(db(), channelB, 'USDT_ERC20', 30_000_000n); // $30 of the $50 threshold
    await insertPayout(db(), { channelId: channelA }); // on its way
    const figures = await listChannelFigures({ db: db(), clock }, { accountId: owner });
    // Both fixtures were created at the same instant: their order is by id, so compare as a set.
    expect(figures.channels).toHaveLength(2);
    expect(figures.channels).toEqual(expect.arrayContaining([
      { channelId: formatPublicId('channel', channelA), activeSubscribers: 1, revenue30DaysUsd: '20.00', nextPayout: { strategy: 'instant', inFlight: 1 } },
      {
        channelId: formatPublicId('channel', channelB),
        activeSubscribers: 1,
        revenue30DaysUsd: '25.00',
        nextPayout: { strategy: 'threshold', thresholdUsd: '50.00', balanceUsd: '30.00', percent: 60, inFlight: 0 },
      },
    ]));
    expect((await listChannelFigures({ db: db(), clock }, { accountId: (await insertAccount(db())).id })).channels).toEqual([]);
  });
});
