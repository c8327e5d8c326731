import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxMessage } from '../bus/index.js';
import { createLogger } from '../logging/index.js';
import { createTestDatabase, databaseRefusalOf, type TestDatabase } from '../testing/database.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { FIXTURE_NOW, insertChannel, insertCheckout, insertPayment, insertTelegramUser, insertTier } from '../testing/fixtures.js';
import { type GiftDeps, GIFT_CLAIM_DAYS, claimGift, createGift, expireUnclaimedGifts, findGiftByCode, giftFigures, issueGiftClaimCode, listBuyerGifts } from './gifts.js';

const DAY_MS = 86_400_000;

let testDb: TestDatabase;
let clock: FakeClock;
let deps: GiftDeps;

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock(FIXTURE_NOW);
  deps = { db: testDb.db, clock, logger: createLogger({ write: () => undefined }) };
});
afterAll(() => testDb?.dispose());

/** A settled gift payment of a 30-day tier and its gift, with a claim code issued. */
async function boughtGift(channelId?: string) {
  const channel = channelId ?? (await insertChannel(testDb.db)).id;
  const tier = await insertTier(testDb.db, { channelId: channel, tierNumber: 1, durationDays: 30 }).catch(async () => {
    const { rows } = await testDb.db.query<{ id: string }>('SELECT id FROM channel_tiers WHERE channel_id = $1 AND tier_number = 1', [channel]);
    return { id: rows[0]!.id };
  });
  const buyer = await insertTelegramUser(testDb.db, { firstName: 'Buyer' });
  const checkout = await insertCheckout(testDb.db, { telegramUserId: buyer.id, channelId: channel, tierId: tier.id, status: 'paid' });
  await testDb.db.query('UPDATE checkouts SET is_gift = true WHERE id = $1', [checkout.id]);
  const payment = await insertPayment(testDb.db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
  const followUps: OutboxMessage[] = [];
  const giftId = await testDb.db.transaction((tx) =>
    createGift(tx, { paymentId: payment.id, buyerTelegramUserId: buyer.id, channelId: channel, tierId: tier.id, durationDays: 30, now: clock.now() }, followUps),
  );
  const code = await issueGiftClaimCode(testDb.db, giftId);
  if (!code) throw new Error('no claim code');
  return { giftId, code, buyer, channelId: channel, paymentId: payment.id, followUps, tierId: tier.id };
}

const profile = (id: bigint, firstName = 'Claimer') => ({ id, firstName });

describe('createGift', () => {
  it('makes one pending gift per payment, expiring after 30 days, and queues the buyer’s claim-link DM', async () => {
    const { giftId, paymentId, buyer, channelId, followUps, tierId } = await boughtGift();
    expect(followUps.map((message) => [message.topic, message.payload, message.options.dedupeKey])).toEqual([
      ['subscriber-notification-requested', { kind: 'gift_ready', subjectId: giftId }, `gift_ready:${giftId}`],
    ]);
    const again = await testDb.db.transaction((tx) => createGift(tx, { paymentId, buyerTelegramUserId: buyer.id, channelId, tierId, durationDays: 30, now: clock.now() }, []));
    expect(again).toBe(giftId);
    const { rows } = await testDb.db.query<{ status: string; expires_at: Date }>('SELECT status, expires_at FROM gifts WHERE payment_id = $1', [paymentId]);
    expect(rows).toEqual([{ status: 'pending', expires_at: new Date(clock.now().getTime() + GIFT_CLAIM_DAYS * DAY_MS) }]);
  });
});

describe('issueGiftClaimCode', () => {
  it('makes a 192-bit code, stores only its hash, and a new code retires the old link', async () => {
    const { giftId, code } = await boughtGift();
    expect(code).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await findGiftByCode(testDb.db, code))?.id).toBe(giftId);
    const { rows } = await testDb.db.query<{ claim_code_hash: Buffer }>('SELECT claim_code_hash FROM gifts WHERE id = $1', [giftId]);
    expect(rows[0]!.claim_code_hash).toHaveLength(32);
    const newer = await issueGiftClaimCode(testDb.db, giftId);
    expect(newer).not.toBe(code);
    expect(await findGiftByCode(testDb.db, code)).toBeUndefined();
    expect((await findGiftByCode(testDb.db, newer!))?.id).toBe(giftId);
  });
});

describe('claimGift', () => {
  it('lets exactly one of two concurrent claimers have it, and answers a repeat by the winner without granting twice', async () => {
    const { giftId, code } = await boughtGift();
    const [alice, bob] = [await insertTelegramUser(testDb.db), await insertTelegramUser(testDb.db)];
    const results = await Promise.all([alice, bob, alice, bob].map((user) => claimGift(deps, { user: profile(user.id), code })));
    const firstClaims = results.filter((result) => result.outcome === 'claimed' && !result.isRepeat);
    expect(firstClaims).toHaveLength(1);
    const { rows } = await testDb.db.query<{ claimed_by_telegram_user_id: bigint }>('SELECT claimed_by_telegram_user_id FROM gifts WHERE id = $1', [giftId]);
    const winner = BigInt(rows[0]!.claimed_by_telegram_user_id);
    const { rows: periods } = await testDb.db.query<{ telegram_user_id: bigint; duration_days: number }>(
      'SELECT s.telegram_user_id, p.duration_days FROM subscription_periods p JOIN subscriptions s ON s.id = p.subscription_id WHERE p.gift_id = $1',
      [giftId],
    );
    expect(periods.map((row) => [BigInt(row.telegram_user_id), row.duration_days])).toEqual([[winner, 30]]);
    const loserId = winner === alice.id ? bob.id : alice.id;
    expect(await claimGift(deps, { user: profile(loserId), code })).toEqual({ outcome: 'already_claimed' });
    expect(await claimGift(deps, { user: profile(winner), code })).toMatchObject({ outcome: 'claimed', isRepeat: true });
    const { rows: invites } = await testDb.db.query(`SELECT 1 FROM outbox WHERE dedupe_key = $1`, [`invite-requested:${giftId}`]);
    expect(invites).toHaveLength(1);
  });

  it('refuses the buyer their own gift, a made-up code, an expired gift and a paused channel’s gift (which stays pending)', async () => {
    const { giftId, code, buyer, channelId } = await boughtGift();
    expect(await claimGift(deps, { user: profile(buyer.id, 'Buyer'), code })).toEqual({ outcome: 'own_gift' });
    const other = await insertTelegramUser(testDb.db);
    expect(await claimGift(deps, { user: profile(other.id), code: 'A'.repeat(32) })).toEqual({ outcome: 'not_found' });

    await testDb.db.query(`UPDATE channels SET status = 'paused' WHERE id = $1`, [channelId]);
    expect(await claimGift(deps, { user: profile(other.id), code })).toEqual({ outcome: 'channel_unavailable' });
    expect((await testDb.db.query('SELECT status FROM gifts WHERE id = $1', [giftId])).rows).toEqual([{ status: 'pending' }]);
    await testDb.db.query(`UPDATE channels SET status = 'active' WHERE id = $1`, [channelId]);

    clock.set(new Date(FIXTURE_NOW.getTime() + GIFT_CLAIM_DAYS * DAY_MS));
    expect(await claimGift(deps, { user: profile(other.id), code })).toEqual({ outcome: 'expired' });
    clock.set(FIXTURE_NOW);
  });

  it('is guarded by the database too: no buyer as claimer, no way back from claimed', async () => {
    const { giftId, buyer } = await boughtGift();
    expect(
      await databaseRefusalOf(testDb.db.query(`UPDATE gifts SET status = 'claimed', claimed_at = $2, claimed_by_telegram_user_id = $3 WHERE id = $1`, [giftId, FIXTURE_NOW, buyer.id])),
    ).toMatchObject({ code: '23514', constraint: 'gifts_check4' });
    const other = await insertTelegramUser(testDb.db);
    await testDb.db.query(`UPDATE gifts SET status = 'claimed', claimed_at = $2, claimed_by_telegram_user_id = $3 WHERE id = $1`, [giftId, FIXTURE_NOW, other.id]);
    expect(
      await databaseRefusalOf(testDb.db.query(`UPDATE gifts SET status = 'pending', claimed_at = NULL, claimed_by_telegram_user_id = NULL WHERE id = $1`, [giftId])),
    ).toMatchObject({ code: '23514', constraint: 'gifts_status_transition' });
  });
});

describe('expireUnclaimedGifts', () => {
  it('expires pending gifts past their 30 days once, even from overlapping runs, and queues one DM each', async () => {
    const { giftId } = await boughtGift();
    clock.set(new Date(FIXTURE_NOW.getTime() + GIFT_CLAIM_DAYS * DAY_MS - 1));
    expect(await expireUnclaimedGifts(deps)).toBe(0);
    clock.set(new Date(FIXTURE_NOW.getTime() + GIFT_CLAIM_DAYS * DAY_MS + 1));
    const counts = await Promise.all([expireUnclaimedGifts(deps), expireUnclaimedGifts(deps), expireUnclaimedGifts(deps)]);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(1);
    expect((await testDb.db.query('SELECT status FROM gifts WHERE id = $1', [giftId])).rows).toEqual([{ status: 'expired' }]);
    const { rows } = await testDb.db.query(`SELECT payload FROM outbox WHERE dedupe_key = $1`, [`gift_expired:${giftId}`]);
    expect(rows).toEqual([{ payload: { kind: 'gift_expired', subjectId: giftId } }]);
    clock.set(FIXTURE_NOW);
  });
});

describe('listBuyerGifts and giftFigures', () => {
  it('lists a buyer’s gifts with who claimed them, and counts a channel’s gifts by status', async () => {
    const first = await boughtGift();
    const second = await boughtGift(first.channelId);
    const claimer = await insertTelegramUser(testDb.db, { firstName: 'Zoe' });
    expect((await claimGift(deps, { user: profile(claimer.id, 'Zoe'), code: first.code })).outcome).toBe('claimed');
    const listed = await listBuyerGifts(testDb.db, first.buyer.id);
    expect(listed.map((gift) => [gift.status, gift.claimedByFirstName])).toEqual([['claimed', 'Zoe']]);
    expect(await giftFigures(testDb.db, first.channelId)).toEqual({ sold: 2, pending: 1, claimed: 1, expired: 0 });
    expect(second.giftId).not.toBe(first.giftId);
  });
});
