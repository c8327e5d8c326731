import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { createTestDatabase, databaseRefusalOf, type TestDatabase } from '../testing/database.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { FIXTURE_NOW, insertChannel, insertCheckout, insertPayment, insertTelegramUser, insertTier } from '../testing/fixtures.js';
import { extendSubscription } from '../subscriptions/index.js';
import { type TrialDeps, grantTrial, trialFigures } from './trials.js';

const DAY_MS = 86_400_000;

let testDb: TestDatabase;
let clock: FakeClock;
let deps: TrialDeps;

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock(FIXTURE_NOW);
  deps = { db: testDb.db, clock, logger: createLogger({ write: () => undefined }) };
});
afterAll(() => testDb?.dispose());

async function channelWithTrial(trialDays = 7) {
  const channel = await insertChannel(testDb.db);
  const tier = await insertTier(testDb.db, { channelId: channel.id, tierNumber: 1, durationDays: 30 });
  await testDb.db.query('UPDATE channel_tiers SET trial_days = $2 WHERE id = $1', [tier.id, trialDays]);
  return { channelId: channel.id, tierId: tier.id };
}

const userProfile = (id: bigint) => ({ id, firstName: 'Trial' });

describe('grantTrial', () => {
  it('grants the tier’s trial days once, with no payment, and queues one invite keyed by the trial', async () => {
    const { channelId } = await channelWithTrial(7);
    const user = await insertTelegramUser(testDb.db);
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => grantTrial(deps, { user: userProfile(user.id), channelId, tierNumber: 1 })));
    const granted = results.filter((result) => result.outcome === 'granted');
    expect(granted).toHaveLength(1);
    expect(results.filter((result) => result.outcome === 'already_used')).toHaveLength(4);
    const trialId = (granted[0] as { trialId: string }).trialId;
    expect((granted[0] as { expiresAt: Date }).expiresAt).toEqual(new Date(FIXTURE_NOW.getTime() + 7 * DAY_MS));

    const { rows: periods } = await testDb.db.query('SELECT trial_id, payment_id, duration_days FROM subscription_periods WHERE trial_id = $1', [trialId]);
    expect(periods).toEqual([{ trial_id: trialId, payment_id: null, duration_days: 7 }]);
    const { rows: outbox } = await testDb.db.query<{ payload: unknown }>(`SELECT payload FROM outbox WHERE dedupe_key = $1`, [`invite-requested:${trialId}`]);
    expect(outbox.map((row) => row.payload)).toEqual([{ paymentId: trialId }]);
    const { rows: subscription } = await testDb.db.query('SELECT last_payment_id FROM subscriptions WHERE telegram_user_id = $1', [user.id]);
    expect(subscription).toEqual([{ last_payment_id: null }]);
  });

  it('is unavailable on a tier without a trial, an inactive tier, or a paused channel', async () => {
    const user = await insertTelegramUser(testDb.db);
    const none = await channelWithTrial(0);
    expect(await grantTrial(deps, { user: userProfile(user.id), channelId: none.channelId, tierNumber: 1 })).toEqual({ outcome: 'unavailable' });
    const paused = await channelWithTrial(3);
    await testDb.db.query(`UPDATE channels SET status = 'paused' WHERE id = $1`, [paused.channelId]);
    expect(await grantTrial(deps, { user: userProfile(user.id), channelId: paused.channelId, tierNumber: 1 })).toEqual({ outcome: 'unavailable' });
    const other = await channelWithTrial(3);
    expect(await grantTrial(deps, { user: userProfile(user.id), channelId: other.channelId, tierNumber: 2 })).toEqual({ outcome: 'unavailable' });
  });

  it('is for newcomers: refused to a user who has or had access to the channel', async () => {
    const { channelId, tierId } = await channelWithTrial(5);
    const user = await insertTelegramUser(testDb.db);
    const checkout = await insertCheckout(testDb.db, { telegramUserId: user.id, channelId, tierId, status: 'paid' });
    const payment = await insertPayment(testDb.db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
    await testDb.db.transaction((tx) => extendSubscription(tx, { telegramUserId: user.id, channelId, paymentId: payment.id, durationDays: 30, now: FIXTURE_NOW }));
    expect(await grantTrial(deps, { user: userProfile(user.id), channelId, tierNumber: 1 })).toEqual({ outcome: 'has_subscribed' });
  });

  it('honours the channel’s minimum account age, counted from when the bot first saw the user', async () => {
    const { channelId } = await channelWithTrial(5);
    await testDb.db.query('UPDATE channels SET trial_min_account_age_days = 3 WHERE id = $1', [channelId]);
    const user = await insertTelegramUser(testDb.db); // first seen at FIXTURE_NOW
    clock.set(new Date(FIXTURE_NOW.getTime() + 2 * DAY_MS));
    expect(await grantTrial(deps, { user: userProfile(user.id), channelId, tierNumber: 1 })).toEqual({ outcome: 'account_too_new', minAccountAgeDays: 3 });
    clock.set(new Date(FIXTURE_NOW.getTime() + 3 * DAY_MS));
    expect((await grantTrial(deps, { user: userProfile(user.id), channelId, tierNumber: 1 })).outcome).toBe('granted');
    clock.set(FIXTURE_NOW);
  });

  it('is one per user and channel in the database itself, whatever writes the row', async () => {
    const { channelId, tierId } = await channelWithTrial(5);
    const user = await insertTelegramUser(testDb.db);
    const insert = () =>
      testDb.db.query('INSERT INTO trials (telegram_user_id, channel_id, tier_id, duration_days, granted_at) VALUES ($1, $2, $3, 5, $4)', [user.id, channelId, tierId, FIXTURE_NOW]);
    await insert();
    expect(await databaseRefusalOf(insert())).toMatchObject({ code: '23505', constraint: 'trials_telegram_user_id_channel_id_key' });
  });
});

describe('trialFigures', () => {
  it('counts trials granted, recent ones, and those whose user paid since', async () => {
    const { channelId, tierId } = await channelWithTrial(7);
    const [converted, stayedFree] = [await insertTelegramUser(testDb.db), await insertTelegramUser(testDb.db)];
    for (const user of [converted, stayedFree]) expect((await grantTrial(deps, { user: userProfile(user.id), channelId, tierNumber: 1 })).outcome).toBe('granted');
    const checkout = await insertCheckout(testDb.db, { telegramUserId: converted.id, channelId, tierId, status: 'paid' });
    const payment = await insertPayment(testDb.db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
    await testDb.db.transaction((tx) => extendSubscription(tx, { telegramUserId: converted.id, channelId, paymentId: payment.id, durationDays: 30, now: FIXTURE_NOW }));
    expect(await trialFigures(testDb.db, channelId, FIXTURE_NOW)).toEqual({ granted: 2, grantedLast30Days: 2, convertedToPaid: 1 });
    expect(await trialFigures(testDb.db, channelId, new Date(FIXTURE_NOW.getTime() + 31 * DAY_MS))).toEqual({ granted: 2, grantedLast30Days: 0, convertedToPaid: 1 });
  });
});
