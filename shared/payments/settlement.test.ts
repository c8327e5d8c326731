import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, ledgerAccountCodes } from '../ledger/index.js';
import { insertCheckout, insertPayment, insertTelegramUser } from '../testing/fixtures.js';
import { findOwnerBalanceMismatches } from '../testing/owner-balance-invariant.js';
import { applyReport, deliverSettlementMessages, paymentIdOf, paymentReport, REPORT_PRICE_CENTS } from '../testing/settlement-steps.js';
import { createStageHarness, type SeededChannel, type StageHarness } from '../testing/stage-harness.js';
import { settlePayment } from './index.js';

const FEE_BPS = 300;
const DAY_MS = 86_400_000;
const ETH = 1_000_000_000_000_000_000n;
/** What the owner keeps of one whole ETH outcome: 97 %. */
const NET_OF_ONE_ETH = 970_000_000_000_000_000n;

/**
 * settle-payment as a table: what one settled payment books, whatever Pub/Sub does with its message
 * (delivered twice in a row, twice at the same moment, or re-driven under another id), which
 * underpaid reports settle at all, and how renewals stack. Every outcome is read back from the rows
 * and the outbox.
 */
describe('settle-payment', () => {
  let h: StageHarness;
  let nextProviderId = 8_100_000_000;

  beforeAll(async () => {
    h = await createStageHarness({ start: '2026-03-01T00:00:00Z' });
  });
  afterAll(() => h?.close());
  afterEach(async () => expect(await findOwnerBalanceMismatches(h.db, FEE_BPS)).toEqual([]));

  /** A channel whose owner is told about payments (so the owner notification is part of what is counted). */
  async function channelPaying(strategy: 'instant' | 'threshold', toleranceBps = 9800): Promise<SeededChannel> {
    const seeded = await h.seedChannel({ payoutStrategy: strategy, underpaymentToleranceBps: toleranceBps, tier: { durationDays: 30 } });
    await h.db.query('UPDATE channels SET notifications_enabled = true, notification_chat_id = $2 WHERE id = $1', [seeded.channel.id, 5_560_000]);
    return seeded;
  }

  /** A NowPayments report for a new checkout of the tier applied as an IPN; `paid` of 1 ETH, outcome as given. */
  async function report(seeded: SeededChannel, amounts: { status?: 'finished' | 'partially_paid'; paid?: string; outcome?: string; telegramUserId?: bigint } = {}) {
    const checkout = await insertCheckout(h.db, { channelId: seeded.channel.id, tierId: seeded.tier.id, telegramUserId: amounts.telegramUserId, priceCents: REPORT_PRICE_CENTS });
    const providerId = String(nextProviderId++);
    const result = await applyReport(
      h,
      paymentReport(checkout.id, providerId, amounts.status ?? 'finished', { paid: amounts.paid ?? '1', outcome: amounts.outcome ?? '1', at: h.clock.now() }),
    );
    return { checkout, providerId, paymentId: paymentIdOf(result) };
  }

  const deliver = (options: { deliveries?: number; concurrently?: boolean } = {}) => deliverSettlementMessages({ ...h, platformFeeBps: FEE_BPS }, options);

  /** Everything settle-payment may write for one payment, counted. */
  async function effectsOf(paymentId: string) {
    const { rows } = await h.db.query<Record<string, number>>(
      `SELECT (SELECT count(*) FROM ledger_transactions WHERE payment_id = $1::uuid AND kind = 'payment_settled')::int AS settlements,
              (SELECT count(*) FROM subscription_periods WHERE payment_id = $1::uuid)::int AS extensions,
              (SELECT count(*) FROM outbox WHERE topic = 'invite-requested' AND payload->>'paymentId' = $1::text)::int AS invites,
              (SELECT count(*) FROM outbox WHERE topic = 'owner-notification-requested' AND payload->>'kind' = 'payment_received'
                                             AND payload->>'subjectId' = $1::text)::int AS "ownerNotices",
              (SELECT count(*) FROM payouts WHERE payment_id = $1::uuid)::int AS payouts,
              (SELECT count(*) FROM outbox o JOIN payouts p ON o.payload->>'payoutId' = p.id::text
                WHERE p.payment_id = $1::uuid AND o.topic = 'payout-requested')::int AS "payoutMessages"`,
      [paymentId],
    );
    return rows[0];
  }

  const none = { settlements: 0, extensions: 0, invites: 0, ownerNotices: 0, payouts: 0, payoutMessages: 0 };
  const settledOnce = (strategy: 'instant' | 'threshold') => ({
    settlements: 1,
    extensions: 1,
    invites: 1,
    ownerNotices: 1,
    payouts: strategy === 'instant' ? 1 : 0,
    payoutMessages: strategy === 'instant' ? 1 : 0,
  });
  const ownerBalance = (channelId: string) => balanceOf(h.db, ledgerAccountCodes.owner(channelId, 'ETH'), 'ETH');

  it.each(['donation', 'gift'] as const)('books a %s once, with no access for the payer, its message delivered twice at the same moment', async (kind) => {
    const seeded = await channelPaying('threshold');
    const checkout = await insertCheckout(h.db, {
      channelId: seeded.channel.id,
      priceCents: REPORT_PRICE_CENTS,
      ...(kind === 'donation' ? { kind: 'donation' as const } : { tierId: seeded.tier.id }),
    });
    if (kind === 'gift') await h.db.query('UPDATE checkouts SET is_gift = true WHERE id = $1', [checkout.id]);
    const result = await applyReport(h, paymentReport(checkout.id, String(nextProviderId++), 'finished', { paid: '1', outcome: '1', at: h.clock.now() }));
    const paymentId = paymentIdOf(result);

    expect(await deliver({ deliveries: 2, concurrently: true })).toBe(1);

    // The settlement is posted on its own here: no subscription statement carries it.
    // (A donation's owner notice is `donation_received`, which effectsOf does not count.)
    expect(await effectsOf(paymentId)).toMatchObject({ settlements: 1, extensions: 0, invites: 0, ownerNotices: kind === 'gift' ? 1 : 0, payouts: 0 });
    expect(await ownerBalance(seeded.channel.id)).toBe(NET_OF_ONE_ETH);
    const { rows } = await h.db.query<{ gifts: number }>('SELECT count(*)::int AS gifts FROM gifts WHERE payment_id = $1', [paymentId]);
    expect(rows[0]?.gifts).toBe(kind === 'gift' ? 1 : 0);
  });

  describe('books a settled payment once, however its message is delivered', () => {
    const deliveries = [
      ['twice in a row', { deliveries: 2 }],
      ['twice at the same moment', { deliveries: 2, concurrently: true }],
      ['three times at the same moment', { deliveries: 3, concurrently: true }],
    ] as const;
    for (const strategy of ['instant', 'threshold'] as const) {
      it.each(deliveries)(`${strategy} owner, delivered %s`, async (_name, options) => {
        const seeded = await channelPaying(strategy);
        const { paymentId } = await report(seeded);
        expect(await deliver(options)).toBe(1);

        expect(await effectsOf(paymentId)).toEqual(settledOnce(strategy));
        const { rows: payouts } = await h.db.query<{ kind: string; amount_units: string; state: string }>(
          'SELECT kind, amount_units::text, state FROM payouts WHERE payment_id = $1',
          [paymentId],
        );
        // An instant owner's net is claimed into its payout; a threshold owner's waits on the balance.
        expect(payouts).toEqual(strategy === 'instant' ? [{ kind: 'instant', amount_units: NET_OF_ONE_ETH.toString(), state: 'requested' }] : []);
        expect(await ownerBalance(seeded.channel.id)).toBe(strategy === 'instant' ? 0n : NET_OF_ONE_ETH);
        const { rows } = await h.db.query<{ expires_at: Date }>('SELECT expires_at FROM subscriptions WHERE last_payment_id = $1', [paymentId]);
        expect(rows).toEqual([{ expires_at: new Date(h.clock.now().getTime() + 30 * DAY_MS) }]);
      });
    }

    it('books nothing more when the payment is re-driven under another message id', async () => {
      const seeded = await channelPaying('instant');
      const { paymentId } = await report(seeded);
      await deliver();
      const key = { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' };
      const redriven = await settlePayment({ ...h, platformFeeBps: FEE_BPS }, key, paymentId);
      expect(redriven).toMatchObject({ booked: [] });
      expect(await effectsOf(paymentId)).toEqual(settledOnce('instant'));
    });

    it('queues no second message when the settling report arrives again', async () => {
      const seeded = await channelPaying('threshold');
      const first = await report(seeded);
      await applyReport(h, paymentReport(first.checkout.id, first.providerId, 'finished', { paid: '1', outcome: '1', at: h.clock.now() }));
      expect(await deliver()).toBe(1);
      expect(await effectsOf(first.paymentId)).toEqual(settledOnce('threshold'));
    });
  });

  it('refuses to book a settled payment whose price is not its checkout\'s (the IPN holds such reports; nothing else may settle one)', async () => {
    const seeded = await channelPaying('instant');
    const checkout = await insertCheckout(h.db, { channelId: seeded.channel.id, tierId: seeded.tier.id, priceCents: REPORT_PRICE_CENTS });
    const payment = await insertPayment(h.db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
    await h.db.query('UPDATE payments SET price_amount_cents = 1 WHERE id = $1', [payment.id]);
    const key = { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' };
    await expect(settlePayment({ ...h, platformFeeBps: FEE_BPS }, key, payment.id)).rejects.toMatchObject({ code: 'price_mismatch', kind: 'conflict' });
    const { rows } = await h.db.query('SELECT 1 FROM ledger_transactions WHERE payment_id = $1', [payment.id]);
    expect(rows).toEqual([]);
  });

  describe('an underpaid report, against the channel tolerance', () => {
    const cases = [
      { name: 'exactly at 98 %', toleranceBps: 9800, paid: '0.98', isSettled: true },
      { name: 'one part in ten thousand short of 98 %', toleranceBps: 9800, paid: '0.9799', isSettled: false },
      { name: '99 % against 98 %', toleranceBps: 9800, paid: '0.99', isSettled: true },
      { name: '99.9 % where nothing may be missing', toleranceBps: 10000, paid: '0.999', isSettled: false },
      { name: '90 % against a 90 % tolerance', toleranceBps: 9000, paid: '0.9', isSettled: true },
    ];
    it.each(cases)('$name: settled $isSettled', async ({ toleranceBps, paid, isSettled }) => {
      const seeded = await channelPaying('instant', toleranceBps);
      // The outcome is what NowPayments forwards of what was paid, less its own fee.
      const { paymentId } = await report(seeded, { status: 'partially_paid', paid, outcome: paid });
      expect(await deliver()).toBe(isSettled ? 1 : 0);

      expect(await effectsOf(paymentId)).toEqual(isSettled ? settledOnce('instant') : none);
      const { rows } = await h.db.query<{ settled: boolean; booked: string | null; checkout: string; underpaidNotices: number }>(
        `SELECT p.settled_at IS NOT NULL AS settled, p.booked_outcome_units::text AS booked, k.status AS checkout,
                (SELECT count(*) FROM outbox WHERE topic = 'subscriber-notification-requested' AND payload->>'kind' = 'payment_underpaid'
                                               AND payload->>'subjectId' = p.id::text)::int AS "underpaidNotices"
           FROM payments p JOIN checkouts k ON k.id = p.checkout_id WHERE p.id = $1`,
        [paymentId],
      );
      const outcomeUnits = (ETH * BigInt(Math.round(Number(paid) * 10_000))) / 10_000n;
      expect(rows[0]).toEqual(
        isSettled
          ? { settled: true, booked: outcomeUnits.toString(), checkout: 'paid', underpaidNotices: 0 }
          : { settled: false, booked: null, checkout: 'open', underpaidNotices: 1 },
      );
    });

    it('settles, once, an underpaid payment topped up into the tolerance, booking the settling report', async () => {
      const seeded = await channelPaying('threshold');
      const underpaid = await report(seeded, { status: 'partially_paid', paid: '0.9', outcome: '0.9' });
      expect(await deliver()).toBe(0);
      await applyReport(h, paymentReport(underpaid.checkout.id, underpaid.providerId, 'partially_paid', { paid: '0.985', outcome: '0.985', at: h.clock.now() }));
      expect(await deliver({ concurrently: true })).toBe(1);

      expect(await effectsOf(underpaid.paymentId)).toEqual(settledOnce('threshold'));
      expect(await ownerBalance(seeded.channel.id)).toBe(985_000_000_000_000_000n - 29_550_000_000_000_000n);
    });
  });

  describe('renewals', () => {
    /** The subscriber's periods on the channel, as [starts, ends] in days after now, oldest first. */
    async function periodsOf(telegramUserId: bigint, channelId: string, origin: Date) {
      const { rows } = await h.db.query<{ starts_at: Date; ends_at: Date }>(
        `SELECT p.starts_at, p.ends_at FROM subscription_periods p JOIN subscriptions s ON s.id = p.subscription_id
          WHERE s.telegram_user_id = $1 AND s.channel_id = $2 ORDER BY p.starts_at`,
        [telegramUserId, channelId],
      );
      return rows.map((row) => [(row.starts_at.getTime() - origin.getTime()) / DAY_MS, (row.ends_at.getTime() - origin.getTime()) / DAY_MS]);
    }

    /** A subscriber whose first 30 days are paid and settled now; `renew()` pays another checkout of the tier. */
    async function subscriber(strategy: 'instant' | 'threshold') {
      const seeded = await channelPaying(strategy);
      const { id: userId } = await insertTelegramUser(h.db);
      const origin = h.clock.now();
      const renew = () => report(seeded, { telegramUserId: userId });
      const first = await renew();
      await deliver();
      return { channelId: seeded.channel.id, userId, origin, first, renew, periods: () => periodsOf(userId, seeded.channel.id, origin) };
    }

    it('stacks a renewal paid while the subscription runs on its expiry, each payment granting its days once', async () => {
      const { first, renew, periods } = await subscriber('instant');
      h.clock.advance(10 * DAY_MS);
      const renewal = await renew();
      await deliver({ concurrently: true });

      expect(await periods()).toEqual([
        [0, 30],
        [30, 60],
      ]);
      expect(await effectsOf(first.paymentId)).toEqual(settledOnce('instant'));
      expect(await effectsOf(renewal.paymentId)).toEqual(settledOnce('instant'));
    });

    it('stacks two renewals whose messages arrive at the same moment, twice each, without overlapping', async () => {
      const { userId, origin, renew, periods } = await subscriber('threshold');
      h.clock.advance(DAY_MS);
      const renewals = [await renew(), await renew()];
      expect(await deliver({ concurrently: true })).toBe(2);

      expect(await periods()).toEqual([
        [0, 30],
        [30, 60],
        [60, 90],
      ]);
      for (const renewal of renewals) expect(await effectsOf(renewal.paymentId)).toEqual(settledOnce('threshold'));
      const { rows } = await h.db.query<{ expires_at: Date }>('SELECT expires_at FROM subscriptions WHERE telegram_user_id = $1', [userId]);
      expect(rows).toEqual([{ expires_at: new Date(origin.getTime() + 90 * DAY_MS) }]);
    });

    it('starts a renewal paid after the expiry now, not on the lapsed period', async () => {
      const { renew, periods } = await subscriber('instant');
      h.clock.advance(45 * DAY_MS);
      await renew();
      await deliver();

      expect(await periods()).toEqual([
        [0, 30],
        [45, 75],
      ]);
    });
  });
});
