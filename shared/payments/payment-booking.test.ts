import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NowPaymentsPayment } from '../nowpayments/index.js';
import { findOwnerBalanceMismatches } from '../testing/owner-balance-invariant.js';
import { applyReport, deliverSettlementMessages, paymentReport, REPORT_PRICE_CENTS } from '../testing/settlement-steps.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { insertCheckout } from '../testing/fixtures.js';
import { redriveStuckWork } from '../watchdog/index.js';

const FEE_BPS = 300;

/**
 * What a payment's money does in the books after it settled: a later top-up or `finished` is booked
 * as its own transaction (and the settlement books what the settling report said, whenever its
 * message is consumed); a refund after settlement takes the fee and the owner's net back, revokes the
 * rest of the access it bought and alerts the operator. Every message is delivered twice.
 */
describe('booking a payment after it settled', () => {
  let h: StageHarness;

  beforeAll(async () => {
    h = await createStageHarness({ start: '2026-03-01T00:00:00Z' });
  });
  afterAll(() => h?.close());
  // Every owner's ledger balance = settled net − refunds taken back − payouts claimed.
  afterEach(async () => expect(await findOwnerBalanceMismatches(h.db, FEE_BPS)).toEqual([]));

  async function newCheckout(strategy: 'instant' | 'threshold') {
    const { channel, tier } = await h.seedChannel({ payoutStrategy: strategy, underpaymentToleranceBps: 9800 });
    const checkout = await insertCheckout(h.db, { channelId: channel.id, tierId: tier.id, priceCents: REPORT_PRICE_CENTS });
    return { channel, checkout };
  }

  /** A NowPayments report for the checkout: `paid` of 1 ETH asked, the outcome as given. */
  const report = (checkoutId: string, providerPaymentId: string, status: NowPaymentsPayment['status'], paid: string, outcome: string) =>
    paymentReport(checkoutId, providerPaymentId, status, { paid, outcome, at: h.clock.now() });
  const apply = (payment: NowPaymentsPayment) => applyReport(h, payment);
  /** Consumes every unpublished `payment-settled` message twice (as Pub/Sub may), marking it published. */
  const consumeSettlementMessages = () => deliverSettlementMessages({ ...h, platformFeeBps: FEE_BPS });

  async function books(paymentId: string, channelId: string) {
    const { rows: kinds } = await h.db.query<{ kind: string; hot_wallet: string | null }>(
      `SELECT t.kind, (SELECT sum(e.amount)::text FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
                        WHERE e.transaction_id = t.id AND a.code = 'hot_wallet:eth') AS hot_wallet
         FROM ledger_transactions t WHERE t.payment_id = $1 ORDER BY t.created_at, t.kind`,
      [paymentId],
    );
    const { rows: balances } = await h.db.query<{ code: string; balance: string }>(
      `SELECT a.code, sum(e.amount)::text AS balance FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
         JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE t.payment_id = $1 GROUP BY a.code ORDER BY a.code`,
      [paymentId],
    );
    const owner = `owner:${channelId}:eth`;
    return {
      transactions: kinds.map((row) => `${row.kind} ${row.hot_wallet ?? '-'}`),
      balances: Object.fromEntries(balances.map((row) => [row.code === owner ? 'owner' : row.code, row.balance])),
    };
  }

  describe('a top-up after a settled partial payment', () => {
    it('books the settling report, then the rest as a top-up, when finished arrives before the settlement is consumed', async () => {
      const { channel, checkout } = await newCheckout('threshold');
      const providerId = String(Date.now()) + '1';
      const partial = await apply(report(checkout.id, providerId, 'partially_paid', '0.985', '0.985'));
      expect(partial).toMatchObject({ outcome: 'updated', isSettledNow: true });
      await apply(report(checkout.id, providerId, 'finished', '1', '1'));
      expect(await consumeSettlementMessages()).toBeGreaterThanOrEqual(1);
      await consumeSettlementMessages();

      const paymentId = partial.outcome === 'updated' ? partial.paymentId : '';
      expect(await books(paymentId, channel.id)).toEqual({
        transactions: ['payment_settled 985000000000000000', 'payment_topped_up 15000000000000000'],
        balances: {
          'hot_wallet:eth': '1000000000000000000',
          owner: '-970000000000000000', // 1 ETH less 3 %, each part split on its own (floor of the fee)
          'platform:fees:eth': '-30000000000000000',
        },
      });
    });

    it('books a finished report that follows a consumed settlement, once, and books nothing for a repeat', async () => {
      const { channel, checkout } = await newCheckout('instant');
      const providerId = String(Date.now()) + '2';
      const partial = await apply(report(checkout.id, providerId, 'partially_paid', '0.985', '0.985'));
      await consumeSettlementMessages();
      await apply(report(checkout.id, providerId, 'finished', '1', '1'));
      await apply(report(checkout.id, providerId, 'finished', '1', '1'));
      await consumeSettlementMessages();

      const paymentId = partial.outcome === 'updated' ? partial.paymentId : '';
      const booked = await books(paymentId, channel.id);
      expect(booked.transactions).toEqual(['payment_settled 985000000000000000', 'payout_claimed -', 'payment_topped_up 15000000000000000']);
      // The instant payout claimed the settled net; the top-up's net waits on the owner's balance for the balance run.
      expect(booked.balances).toMatchObject({ 'hot_wallet:eth': '1000000000000000000', owner: '-14550000000000000', 'platform:fees:eth': '-30000000000000000' });
      const { rows } = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM payouts WHERE payment_id = $1`, [paymentId]);
      expect(rows[0]?.n).toBe(1);
    });
  });

  it('has a top-up whose message was lost re-driven by the watchdog and booked', async () => {
    const { channel, checkout } = await newCheckout('threshold');
    const providerId = String(Date.now()) + '5';
    const partial = await apply(report(checkout.id, providerId, 'partially_paid', '0.985', '0.985'));
    await consumeSettlementMessages();
    await apply(report(checkout.id, providerId, 'finished', '1', '1'));
    // Published, never delivered.
    await h.db.query(`UPDATE outbox SET published_at = $1, provider_message_id = 'lost-' || id WHERE topic = 'payment-settled' AND published_at IS NULL`, [h.clock.now()]);
    const paymentId = partial.outcome === 'updated' ? partial.paymentId : '';
    expect((await books(paymentId, channel.id)).transactions).toEqual(['payment_settled 985000000000000000']);

    h.clock.advance(11 * 60_000);
    const redriven = await redriveStuckWork(h, 'reconcile');
    expect(redriven.redriven).toMatchObject({ 'payment_bookings.changed_after_settlement': 1 });
    expect(await consumeSettlementMessages()).toBe(1);
    expect((await books(paymentId, channel.id)).transactions).toEqual(['payment_settled 985000000000000000', 'payment_topped_up 15000000000000000']);
  });

  describe('a refund after settlement', () => {
    it('takes the fee and the net back, owes the gross to NowPayments, revokes the access left and alerts the operator', async () => {
      const { channel, checkout } = await newCheckout('threshold');
      const providerId = String(Date.now()) + '3';
      const paid = await apply(report(checkout.id, providerId, 'finished', '1', '0.5'));
      await consumeSettlementMessages();
      const paymentId = paid.outcome === 'updated' ? paid.paymentId : '';
      const { rows: before } = await h.db.query<{ expires_at: Date }>('SELECT expires_at FROM subscriptions WHERE last_payment_id = $1', [paymentId]);
      expect(before[0]?.expires_at.getTime()).toBeGreaterThan(h.clock.now().getTime());

      h.clock.advance(86_400_000);
      await apply(report(checkout.id, providerId, 'refunded', '1', '0.5'));
      await consumeSettlementMessages();

      expect(await books(paymentId, channel.id)).toEqual({
        transactions: ['payment_settled 500000000000000000', 'payment_refunded -'],
        balances: { 'external:nowpayments:eth': '-500000000000000000', 'hot_wallet:eth': '500000000000000000', owner: '0', 'platform:fees:eth': '0' },
      });
      const { rows: access } = await h.db.query<{ expires_at: Date; ends_at: Date; revoked_at: Date | null }>(
        `SELECT s.expires_at, p.ends_at, p.revoked_at FROM subscriptions s JOIN subscription_periods p ON p.subscription_id = s.id WHERE p.payment_id = $1`,
        [paymentId],
      );
      expect(access[0]).toEqual({ expires_at: h.clock.now(), ends_at: h.clock.now(), revoked_at: h.clock.now() });
      const { rows: alerts } = await h.db.query<{ alert: string; details: Record<string, string> }>(
        `SELECT alert, details FROM operator_alerts WHERE subject_id = $1`,
        [paymentId],
      );
      expect(alerts).toEqual([{ alert: 'payment.refunded_after_settlement', details: expect.objectContaining({ grossUnits: '500000000000000000', lossUnits: '0' }) }]);
    });

    it('books what the owner was already paid as the platform’s loss', async () => {
      const { channel, checkout } = await newCheckout('instant');
      const providerId = String(Date.now()) + '4';
      const paid = await apply(report(checkout.id, providerId, 'finished', '1', '1'));
      await consumeSettlementMessages();
      await apply(report(checkout.id, providerId, 'refunded', '1', '1'));
      await consumeSettlementMessages();

      const paymentId = paid.outcome === 'updated' ? paid.paymentId : '';
      const booked = await books(paymentId, channel.id);
      expect(booked.transactions).toEqual(['payment_settled 1000000000000000000', 'payout_claimed -', 'payment_refunded -']);
      expect(booked.balances).toMatchObject({
        'expense:refund_losses:eth': '970000000000000000',
        'external:nowpayments:eth': '-1000000000000000000',
        'platform:fees:eth': '0',
      });
      const { rows } = await h.db.query<{ refund_booked_at: Date | null }>('SELECT refund_booked_at FROM payments WHERE id = $1', [paymentId]);
      expect(rows[0]?.refund_booked_at).toEqual(h.clock.now());
    });
  });
});
