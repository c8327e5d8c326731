import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseRefusalOf, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertCheckout, insertPayment, insertTelegramUser, insertTier } from '../testing/fixtures.js';
import { balanceOf, ledgerAccountCodes, postLedgerTransaction, type PostLedgerTransactionInput } from '../ledger/index.js';
import { countStatements } from '../testing/statement-counter.js';
import { extendSubscription } from './extend.js';

const DAY_MS = 86_400_000;

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb?.dispose());

const daysAfter = (date: Date, days: number) => new Date(date.getTime() + days * DAY_MS);

/** A subscriber and a channel with a 30-day tier; `pay()` makes another settled payment of theirs. */
async function subscriberOfChannel() {
  const user = await insertTelegramUser(testDb.db);
  const channel = await insertChannel(testDb.db);
  const tier = await insertTier(testDb.db, { channelId: channel.id, durationDays: 30 });
  return {
    telegramUserId: user.id,
    channelId: channel.id,
    async pay(): Promise<string> {
      const checkout = await insertCheckout(testDb.db, { telegramUserId: user.id, channelId: channel.id, tierId: tier.id, status: 'paid' });
      return (await insertPayment(testDb.db, { checkoutId: checkout.id, status: 'finished', isSettled: true })).id;
    },
  };
}

function extend(input: { telegramUserId: bigint; channelId: string; paymentId: string; durationDays: number; now: Date }) {
  return testDb.db.transaction((tx) => extendSubscription(tx, input));
}

async function subscriptionOf(telegramUserId: bigint, channelId: string) {
  const { rows } = await testDb.db.query<{
    id: string;
    status: string;
    expires_at: Date;
    last_payment_id: string | null;
    expired_at: Date | null;
    removed_at: Date | null;
    removal_attempts: number;
    next_removal_attempt_at: Date | null;
  }>(
    `SELECT id, status, expires_at, last_payment_id, expired_at, removed_at, removal_attempts, next_removal_attempt_at
     FROM subscriptions WHERE telegram_user_id = $1 AND channel_id = $2`,
    [telegramUserId, channelId],
  );
  return rows;
}

async function periodsOf(subscriptionId: string) {
  const { rows } = await testDb.db.query<{ payment_id: string; starts_at: Date; ends_at: Date; duration_days: number }>(
    'SELECT payment_id, starts_at, ends_at, duration_days FROM subscription_periods WHERE subscription_id = $1 ORDER BY starts_at',
    [subscriptionId],
  );
  return rows;
}

describe('extendSubscription', () => {
  it('activates a first payment for its days, starting now', async () => {
    const subscriber = await subscriberOfChannel();
    const paymentId = await subscriber.pay();
    const now = FIXTURE_NOW;

    const extension = await extend({ ...subscriber, paymentId, durationDays: 30, now });

    expect(extension).toMatchObject({ startsAt: now, expiresAt: daysAfter(now, 30), isRenewal: false });
    const [subscription] = await subscriptionOf(subscriber.telegramUserId, subscriber.channelId);
    expect(subscription).toMatchObject({ id: extension.subscriptionId, status: 'active', expires_at: daysAfter(now, 30), last_payment_id: paymentId, expired_at: null });
    expect(await periodsOf(extension.subscriptionId)).toEqual([{ payment_id: paymentId, starts_at: now, ends_at: daysAfter(now, 30), duration_days: 30 }]);
  });

  it('stacks a renewal made while active on the current expiry', async () => {
    const subscriber = await subscriberOfChannel();
    const first = await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 30, now: FIXTURE_NOW });
    const renewedAt = daysAfter(FIXTURE_NOW, 20);
    const paymentId = await subscriber.pay();

    const renewal = await extend({ ...subscriber, paymentId, durationDays: 90, now: renewedAt });

    expect(renewal).toEqual({ subscriptionId: first.subscriptionId, startsAt: first.expiresAt, expiresAt: daysAfter(first.expiresAt, 90), isRenewal: true });
    const subscriptions = await subscriptionOf(subscriber.telegramUserId, subscriber.channelId);
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]).toMatchObject({ status: 'active', expires_at: daysAfter(FIXTURE_NOW, 120), last_payment_id: paymentId });
  });

  it('stacks two first payments settled at once, each in one statement: neither period is lost', async () => {
    const subscriber = await subscriberOfChannel();
    const [a, b] = [await subscriber.pay(), await subscriber.pay()];
    const counter = countStatements(testDb.db);
    const extensions = await Promise.all([a, b].map((paymentId) => counter.db.transaction((tx) => extendSubscription(tx, { ...subscriber, paymentId, durationDays: 30, now: FIXTURE_NOW }))));
    expect(counter.counts()).toMatchObject({ statements: 6, transactions: 2 }); // BEGIN, one statement, COMMIT each
    expect(extensions.map((extension) => extension.isRenewal).sort()).toEqual([false, true]);
    const [subscription] = await subscriptionOf(subscriber.telegramUserId, subscriber.channelId);
    expect(subscription?.expires_at).toEqual(daysAfter(FIXTURE_NOW, 60));
    expect((await periodsOf(subscription?.id ?? '')).map((period) => [period.starts_at, period.ends_at])).toEqual([
      [FIXTURE_NOW, daysAfter(FIXTURE_NOW, 30)],
      [daysAfter(FIXTURE_NOW, 30), daysAfter(FIXTURE_NOW, 60)],
    ]);
  });

  it('starts a renewal made after the expiry now, even before the expiry job has run', async () => {
    const subscriber = await subscriberOfChannel();
    const first = await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 30, now: FIXTURE_NOW });
    const renewedAt = daysAfter(first.expiresAt, 3);

    const renewal = await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 30, now: renewedAt });

    expect(renewal).toMatchObject({ startsAt: renewedAt, expiresAt: daysAfter(renewedAt, 30), isRenewal: false });
    const [subscription] = await subscriptionOf(subscriber.telegramUserId, subscriber.channelId);
    expect(subscription).toMatchObject({ status: 'active', expires_at: daysAfter(renewedAt, 30) });
  });

  describe('in the channel’s grace period', () => {
    const HOUR_MS = 3_600_000;
    const withGrace = async (hours: number) => {
      const subscriber = await subscriberOfChannel();
      await testDb.db.query('UPDATE channels SET grace_period_hours = $2 WHERE id = $1', [subscriber.channelId, hours]);
      const first = await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 30, now: FIXTURE_NOW });
      return { subscriber, first };
    };

    it('stacks a renewal onto the end of the lapsed period: the member was never removed', async () => {
      const { subscriber, first } = await withGrace(48);
      const renewedAt = new Date(first.expiresAt.getTime() + 47 * HOUR_MS);

      const renewal = await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 30, now: renewedAt });

      expect(renewal).toEqual({ subscriptionId: first.subscriptionId, startsAt: first.expiresAt, expiresAt: daysAfter(first.expiresAt, 30), isRenewal: true });
      expect((await periodsOf(first.subscriptionId)).map((period) => [period.starts_at, period.ends_at])).toEqual([
        [FIXTURE_NOW, first.expiresAt],
        [first.expiresAt, daysAfter(first.expiresAt, 30)],
      ]);
    });

    it('starts now once the grace period is over, even before the expiry job has removed the member', async () => {
      const { subscriber, first } = await withGrace(48);
      const renewedAt = new Date(first.expiresAt.getTime() + 48 * HOUR_MS);
      const renewal = await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 30, now: renewedAt });
      expect(renewal).toMatchObject({ startsAt: renewedAt, expiresAt: daysAfter(renewedAt, 30), isRenewal: false });
    });

    it('starts now when the stacked period would already be over (1 day bought 30 hours into a 72-hour grace)', async () => {
      const { subscriber, first } = await withGrace(72);
      const renewedAt = new Date(first.expiresAt.getTime() + 30 * HOUR_MS);
      const renewal = await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 1, now: renewedAt });
      expect(renewal).toMatchObject({ startsAt: renewedAt, expiresAt: daysAfter(renewedAt, 1), isRenewal: false });
    });
  });

  it('reactivates a subscription the expiry job ended, clearing its removal state', async () => {
    const subscriber = await subscriberOfChannel();
    const first = await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 30, now: FIXTURE_NOW });
    await testDb.db.query(
      `UPDATE subscriptions SET status = 'expired', expired_at = $2, removed_at = $2, removal_attempts = 2, last_removal_error = 'telegram_unavailable: x'
       WHERE id = $1`,
      [first.subscriptionId, first.expiresAt],
    );
    const renewedAt = daysAfter(first.expiresAt, 10);

    const renewal = await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 7, now: renewedAt });

    expect(renewal).toMatchObject({ subscriptionId: first.subscriptionId, startsAt: renewedAt, expiresAt: daysAfter(renewedAt, 7), isRenewal: false });
    const [subscription] = await subscriptionOf(subscriber.telegramUserId, subscriber.channelId);
    expect(subscription).toMatchObject({ status: 'active', expired_at: null, removed_at: null, removal_attempts: 0, next_removal_attempt_at: null });
  });

  it('refuses to extend twice for the same payment and leaves the expiry as it was', async () => {
    const subscriber = await subscriberOfChannel();
    const paymentId = await subscriber.pay();
    const first = await extend({ ...subscriber, paymentId, durationDays: 30, now: FIXTURE_NOW });

    const refusal = await databaseRefusalOf(extend({ ...subscriber, paymentId, durationDays: 30, now: daysAfter(FIXTURE_NOW, 1) }));

    expect(refusal.code).toBe('23505'); // unique_violation on subscription_periods.payment_id
    const [subscription] = await subscriptionOf(subscriber.telegramUserId, subscriber.channelId);
    expect(subscription?.expires_at).toEqual(first.expiresAt);
    expect(await periodsOf(first.subscriptionId)).toHaveLength(1);
  });

  it('records periods that never overlap, whatever order renewals and gaps come in', async () => {
    const subscriber = await subscriberOfChannel();
    const renewals = [
      { at: FIXTURE_NOW, days: 30 },
      { at: daysAfter(FIXTURE_NOW, 1), days: 30 }, // early: stacks
      { at: daysAfter(FIXTURE_NOW, 59), days: 7 }, // just before expiry: stacks
      { at: daysAfter(FIXTURE_NOW, 100), days: 30 }, // after a gap: starts then
      { at: daysAfter(FIXTURE_NOW, 100), days: 1 }, // twice the same instant: stacks
    ];
    let subscriptionId = '';
    for (const renewal of renewals) {
      subscriptionId = (await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: renewal.days, now: renewal.at })).subscriptionId;
    }

    const periods = await periodsOf(subscriptionId);
    expect(periods.map((period) => [period.starts_at, period.ends_at])).toEqual([
      [FIXTURE_NOW, daysAfter(FIXTURE_NOW, 30)],
      [daysAfter(FIXTURE_NOW, 30), daysAfter(FIXTURE_NOW, 60)],
      [daysAfter(FIXTURE_NOW, 60), daysAfter(FIXTURE_NOW, 67)],
      [daysAfter(FIXTURE_NOW, 100), daysAfter(FIXTURE_NOW, 130)],
      [daysAfter(FIXTURE_NOW, 130), daysAfter(FIXTURE_NOW, 131)],
    ]);
    for (const [index, period] of periods.entries()) {
      if (index > 0) expect(period.starts_at.getTime()).toBeGreaterThanOrEqual(periods[index - 1]!.ends_at.getTime());
    }
    const [subscription] = await subscriptionOf(subscriber.telegramUserId, subscriber.channelId);
    expect(subscription?.expires_at).toEqual(daysAfter(FIXTURE_NOW, 131));
  });

  it('is backed by the database: an overlapping period is refused whoever writes it', async () => {
    const subscriber = await subscriberOfChannel();
    const first = await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 30, now: FIXTURE_NOW });
    const paymentId = await subscriber.pay();

    const refusal = await databaseRefusalOf(
      testDb.db.query(
        `INSERT INTO subscription_periods (subscription_id, payment_id, starts_at, ends_at, duration_days, created_at)
         VALUES ($1, $2, $3, $4, 30, $3)`,
        [first.subscriptionId, paymentId, daysAfter(FIXTURE_NOW, 29), daysAfter(FIXTURE_NOW, 59)],
      ),
    );
    expect(refusal.constraint).toBe('subscription_periods_no_overlap');
  });

  it('keeps one subscription per channel: the same user’s other channel is untouched', async () => {
    const subscriber = await subscriberOfChannel();
    const other = await insertChannel(testDb.db);
    const otherTier = await insertTier(testDb.db, { channelId: other.id });
    await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 30, now: FIXTURE_NOW });
    const otherCheckout = await insertCheckout(testDb.db, { telegramUserId: subscriber.telegramUserId, channelId: other.id, tierId: otherTier.id, status: 'paid' });
    const otherPayment = await insertPayment(testDb.db, { checkoutId: otherCheckout.id, status: 'finished', isSettled: true });

    const elsewhere = await extend({ telegramUserId: subscriber.telegramUserId, channelId: other.id, paymentId: otherPayment.id, durationDays: 7, now: daysAfter(FIXTURE_NOW, 5) });

    expect(elsewhere.isRenewal).toBe(false);
    expect((await subscriptionOf(subscriber.telegramUserId, subscriber.channelId))[0]?.expires_at).toEqual(daysAfter(FIXTURE_NOW, 30));
    expect((await subscriptionOf(subscriber.telegramUserId, other.id))[0]?.expires_at).toEqual(daysAfter(FIXTURE_NOW, 12));
  });

  describe('with the payment\'s booking', () => {
    /** A settlement's posting: the gross into the hot wallet, the fee and the owner's net out of it. */
    const bookingOf = (paymentId: string, channelId: string, units = { gross: 1_000n, fee: 50n }): PostLedgerTransactionInput => ({
      kind: 'payment_settled',
      idempotencyKey: `settle:${paymentId}`,
      occurredAt: FIXTURE_NOW,
      paymentId,
      entries: [
        { account: ledgerAccountCodes.hotWallet('ETH'), asset: 'ETH', amount: units.gross },
        { account: ledgerAccountCodes.platformFees('ETH'), asset: 'ETH', amount: -units.fee },
        { account: ledgerAccountCodes.owner(channelId, 'ETH'), asset: 'ETH', amount: -(units.gross - units.fee) },
      ],
    });
    const postingsOf = async (paymentId: string) =>
      (await testDb.db.query<{ kind: string }>('SELECT kind FROM ledger_transactions WHERE payment_id = $1', [paymentId])).rows.map((row) => row.kind);

    it('posts it in the extension\'s statement; a channel\'s first payment creates its account and writes everything once', async () => {
      const subscriber = await subscriberOfChannel();
      const first = await subscriber.pay();
      const counter = countStatements(testDb.db);

      const extension = await counter.db.transaction((tx) => extendSubscription(tx, { ...subscriber, paymentId: first, durationDays: 30, now: FIXTURE_NOW, booking: bookingOf(first, subscriber.channelId) }));

      // The statement wrote nothing the first time (the owner's account is new), and ran again once it was created.
      const counts = counter.counts();
      const extensionRuns = [...counts.sqlByLabel].filter(([, sql]) => sql.includes('INSERT INTO subscriptions')).map(([label]) => counts.byLabel.get(label));
      expect(extensionRuns).toEqual([2]);
      expect(extension).toMatchObject({ startsAt: FIXTURE_NOW, expiresAt: daysAfter(FIXTURE_NOW, 30), isRenewal: false });
      expect(await periodsOf(extension.subscriptionId)).toHaveLength(1);
      expect(await postingsOf(first)).toEqual(['payment_settled']);
      expect(await balanceOf(testDb.db, ledgerAccountCodes.owner(subscriber.channelId, 'ETH'), 'ETH')).toBe(950n);

      const second = await subscriber.pay();
      const again = countStatements(testDb.db);
      const renewal = await again.db.transaction((tx) => extendSubscription(tx, { ...subscriber, paymentId: second, durationDays: 30, now: FIXTURE_NOW, booking: bookingOf(second, subscriber.channelId) }));
      expect(again.counts()).toMatchObject({ statements: 3, transactions: 1 }); // BEGIN, one statement, COMMIT
      expect(renewal).toMatchObject({ subscriptionId: extension.subscriptionId, expiresAt: daysAfter(FIXTURE_NOW, 60), isRenewal: true });
      expect(await balanceOf(testDb.db, ledgerAccountCodes.owner(subscriber.channelId, 'ETH'), 'ETH')).toBe(1_900n);
    });

    it('refuses a booking whose key was posted for other entries, and extends nothing then', async () => {
      const subscriber = await subscriberOfChannel();
      const paid = await subscriber.pay();
      await extend({ ...subscriber, paymentId: await subscriber.pay(), durationDays: 30, now: FIXTURE_NOW }); // the subscription exists
      await testDb.db.transaction((tx) => postLedgerTransaction(tx, bookingOf(paid, subscriber.channelId)));
      const [before] = await subscriptionOf(subscriber.telegramUserId, subscriber.channelId);

      const attempt = testDb.db.transaction((tx) =>
        extendSubscription(tx, { ...subscriber, paymentId: paid, durationDays: 30, now: FIXTURE_NOW, booking: bookingOf(paid, subscriber.channelId, { gross: 2_000n, fee: 100n }) }),
      );

      await expect(attempt).rejects.toMatchObject({ code: 'ledger_idempotency_conflict' });
      expect((await subscriptionOf(subscriber.telegramUserId, subscriber.channelId))[0]?.expires_at).toEqual(before?.expires_at);
    });
  });
});
