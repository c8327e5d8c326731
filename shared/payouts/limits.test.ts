import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChainTransfer, insertChannel, insertPayout, movePayout, type PayoutFixture } from '../testing/fixtures.js';
import { checkOutflowLimits, DESTINATION_COOL_OFF_MS, type PayoutState } from './index.js';

const HOUR = 3_600_000;
const LIMITS = { perPayoutMaxUsdCents: 100_000n, dailyCapUsdCents: 150_000n };

/**
 * The daily cap counts what left the hot wallet, or is committed to leave it, whatever the payout
 * became afterwards: a transfer that reverted, an exchange refunded or failed, still went out.
 * Each test runs on its own day (fixture transfers are signed at FIXTURE_NOW, so days are offsets).
 */
describe('checkOutflowLimits: the daily cap', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.dispose());
  const db = () => testDb.db;

  /** A payout of `usdCents`, quoted at `quotedAt` (as quote-payout records it), walked through `path` with the guard on. */
  async function payoutThrough(usdCents: bigint, quotedAt: Date, path: PayoutState[], options: { signed?: boolean } = {}): Promise<PayoutFixture> {
    const payout = await insertPayout(db(), { amountUsdCents: usdCents });
    // quote-payout writes the quote next to its transition; a fixture has only the transition.
    await db().query('UPDATE payouts SET quoted_to_amount = 1, quoted_at = $2 WHERE id = $1', [payout.id, quotedAt]);
    let from: PayoutState = 'requested';
    for (const state of path) {
      if (state === 'transfer_signed' && options.signed !== false) await insertChainTransfer(db(), payout);
      await movePayout(db(), payout.id, [state], { from, at: quotedAt, failureCode: 'transfer_reverted' });
      from = state;
    }
    return payout;
  }

  async function verdictFor(usdCents: bigint, at: Date) {
    const next = await insertPayout(db(), { amountUsdCents: usdCents });
    return db().transaction((tx) => checkOutflowLimits(tx, next.id, LIMITS, at));
  }

  it('still counts a payout that was sent and then reverted on chain', async () => {
    // Transfers of the fixture are signed at FIXTURE_NOW: this day starts there.
    await payoutThrough(100_000n, FIXTURE_NOW, ['quoted', 'transfer_signed', 'transfer_broadcast', 'failed']);
    expect(await verdictFor(60_000n, new Date(FIXTURE_NOW.getTime() + HOUR))).toEqual({ isWithinLimits: false, reason: 'over_daily_limit' });
    // A day after it was sent it no longer counts.
    expect(await verdictFor(60_000n, new Date(FIXTURE_NOW.getTime() + 24 * HOUR + 1))).toEqual({ isWithinLimits: true });
  });

  it('counts payouts whose exchange was refunded or still needs attention, and not those that failed before anything was signed', async () => {
    const day = new Date(FIXTURE_NOW.getTime() + 10 * 24 * HOUR);
    const swapped = ['quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap'] as PayoutState[];
    // Signed before the day: the fixture's transfer is signed at FIXTURE_NOW, quoted_at is what places them.
    await payoutThrough(50_000n, day, [...swapped, 'refunded']);
    await payoutThrough(50_000n, day, [...swapped, 'needs_attention']);
    await payoutThrough(90_000n, day, ['quoted', 'swap_created', 'failed'], { signed: false });
    expect(await verdictFor(50_000n, new Date(day.getTime() + HOUR))).toEqual({ isWithinLimits: true });
    expect(await verdictFor(50_001n, new Date(day.getTime() + HOUR))).toEqual({ isWithinLimits: false, reason: 'over_daily_limit' });
  });

  it('counts a payout from when it was quoted, not from its last state change', async () => {
    const day = new Date(FIXTURE_NOW.getTime() + 20 * 24 * HOUR);
    const payout = await payoutThrough(100_000n, day, ['quoted']);
    // Moved on much later (a slow exchange): the day still runs from the quote.
    await movePayout(db(), payout.id, ['swap_created'], { from: 'quoted', at: new Date(day.getTime() + 23 * HOUR) });
    expect(await verdictFor(60_000n, new Date(day.getTime() + 24 * HOUR + 1))).toEqual({ isWithinLimits: true });
    expect(await verdictFor(60_000n, new Date(day.getTime() + 23 * HOUR))).toEqual({ isWithinLimits: false, reason: 'over_daily_limit' });
  });
});

/** Who is paid and how much, against the channel's own history: the holds a stolen session would meet. */
describe('checkOutflowLimits: the destination and the amount', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.dispose());
  const db = () => testDb.db;
  const NOW = new Date(FIXTURE_NOW.getTime() + 40 * 24 * HOUR);

  const verdictFor = async (channelId: string, usdCents: bigint) => {
    const payout = await insertPayout(db(), { channelId, amountUsdCents: usdCents });
    return db().transaction((tx) => checkOutflowLimits(tx, payout.id, LIMITS, NOW));
  };
  const completedPayouts = async (channelId: string, usdCents: bigint[], at: Date) => {
    for (const cents of usdCents) {
      const payout = await insertPayout(db(), { channelId, amountUsdCents: cents });
      await movePayout(db(), payout.id, 'completed', { at });
    }
  };

  it('holds a payout to a destination changed in the last 24 hours, and not one changed before', async () => {
    const channel = await insertChannel(db());
    await db().query('UPDATE channels SET payout_destination_changed_at = $2 WHERE id = $1', [channel.id, new Date(NOW.getTime() - 23 * HOUR)]);
    expect(await verdictFor(channel.id, 1_000n)).toEqual({ isWithinLimits: false, reason: 'destination_recently_changed' });
    await db().query('UPDATE channels SET payout_destination_changed_at = $2 WHERE id = $1', [channel.id, new Date(NOW.getTime() - DESTINATION_COOL_OFF_MS - 1)]);
    expect(await verdictFor(channel.id, 1_000n)).toEqual({ isWithinLimits: true });
  });

  it('passes a new channel whose destination never changed', async () => {
    const channel = await insertChannel(db());
    expect(await verdictFor(channel.id, 1_000n)).toEqual({ isWithinLimits: true });
  });

  it('holds an amount above 5 × the median of the channel’s completed payouts of the last 30 days', async () => {
    const channel = await insertChannel(db());
    await completedPayouts(channel.id, [9_000n, 10_000n, 30_000n], new Date(NOW.getTime() - 10 * 24 * HOUR));
    expect(await verdictFor(channel.id, 50_000n)).toEqual({ isWithinLimits: true });
    expect(await verdictFor(channel.id, 50_001n)).toEqual({ isWithinLimits: false, reason: 'unusual_amount' });
  });

  it('needs three completed payouts in the window before it calls an amount unusual', async () => {
    const channel = await insertChannel(db());
    await completedPayouts(channel.id, [1_000n, 1_000n], new Date(NOW.getTime() - 24 * HOUR));
    await completedPayouts(channel.id, [1_000n], new Date(NOW.getTime() - 31 * 24 * HOUR));
    expect(await verdictFor(channel.id, 90_000n)).toEqual({ isWithinLimits: true });
  });

  it('does not hold a payout an operator approved', async () => {
    const channel = await insertChannel(db());
    await db().query('UPDATE channels SET payout_destination_changed_at = $2 WHERE id = $1', [channel.id, NOW]);
    const payout = await insertPayout(db(), { channelId: channel.id, amountUsdCents: 1_000n });
    await movePayout(db(), payout.id, ['held'], { at: NOW, heldReason: 'destination_recently_changed' });
    await movePayout(db(), payout.id, ['requested'], { from: 'held', at: NOW, approvedBy: 'ops@example.com' });
    expect(await db().transaction((tx) => checkOutflowLimits(tx, payout.id, LIMITS, NOW))).toEqual({ isWithinLimits: true });
  });
});
