import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logging/index.js';
import { createNowPaymentsClient, IPN_SIGNATURE_HEADER, type NowPaymentsClient, parseNowPaymentsPayment, signIpnPayload } from '../../shared/nowpayments/index.js';
import { type ReconcileDeps, reconcilePayments } from '../../shared/payments/index.js';
import { createFakeClock } from '../../shared/testing/fakes/clock.js';
import { checkoutFor, newSubscriber, seedChannel, type SeededChannel, startTestGateway, type TestGateway } from './gateway-harness.js';

/**
 * Reconciliation of missed IPNs, end to end: payments whose later IPNs were lost are re-read from the NowPayments
 * simulator's `GET /v1/payment/{id}` and settled through the same pipeline as an IPN, every bus message delivered twice.
 * Tests run in order: each run of `reconcilePayments` looks at every unsettled payment in the file's database.
 */
describe('reconcilePayments', () => {
  let gateway: TestGateway;
  let nowpayments: NowPaymentsClient;

  beforeAll(async () => {
    gateway = await startTestGateway({ deliverTwice: true });
    nowpayments = createNowPaymentsClient({ apiUrl: process.env.NOWPAYMENTS_API_URL ?? '', apiKey: process.env.NOWPAYMENTS_API_KEY ?? '' });
  });
  afterAll(() => gateway?.stop());

  function deps(overrides: Partial<ReconcileDeps> & Pick<ReconcileDeps, 'clock'>): ReconcileDeps {
    return {
      db: gateway.testDb.db,
      logger: createLogger({ write: (line) => gateway.logLines.push(line) }),
      nowpayments,
      ...overrides,
    };
  }

  /** The outbox is published after commit by the stage that wrote it, or by the every-minute relay: its tick, as Cloud Scheduler sends it. */
  async function relayAndSettle(): Promise<void> {
    await gateway.runtime.bus?.publish('outbox-relay-requested', { job: 'relay-outbox' });
    await gateway.settle();
  }

  async function countOf(sql: string, params: unknown[]): Promise<number> {
    const { rows } = await gateway.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
    return rows[0]?.n ?? -1;
  }

  async function effectsOf(providerPaymentId: string, channel: SeededChannel) {
    const { rows } = await gateway.testDb.db.query<{ id: string; status: string; settled_at: Date | null }>(
      'SELECT id, status, settled_at FROM payments WHERE provider_payment_id = $1',
      [providerPaymentId],
    );
    const payment = rows[0];
    if (!payment) throw new Error(`no payments row for ${providerPaymentId}`);
    return {
      status: payment.status,
      isSettled: payment.settled_at !== null,
      ledgerTransactions: await countOf(`ledger_transactions WHERE kind = 'payment_settled' AND payment_id = $1`, [payment.id]),
      settledMessages: await countOf(`outbox WHERE topic = 'payment-settled' AND payload->>'paymentId' = $1`, [payment.id]),
      periods: await countOf('subscription_periods WHERE payment_id = $1', [payment.id]),
      invites: await countOf('invite_links WHERE payment_id = $1', [payment.id]),
      telegramInviteLinks: gateway.telegram.inviteLinks(channel.closedChatId).length,
    };
  }

  const unsettled = { isSettled: false, ledgerTransactions: 0, settledMessages: 0, periods: 0, invites: 0, telegramInviteLinks: 0 };
  const settledOnce = { status: 'finished', isSettled: true, ledgerTransactions: 1, settledMessages: 1, periods: 1, invites: 1, telegramInviteLinks: 1 };

  async function newCheckout() {
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 1999n, days: 30 });
    const subscriber = newSubscriber(gateway);
    const checkout = await checkoutFor(gateway, channel, subscriber);
    return { channel, subscriber, checkout };
  }

  it('settles, once, a payment whose IPNs stopped after waiting, and a second run changes nothing', async () => {
    const { channel, subscriber, checkout } = await newCheckout();
    const payment = await gateway.nowpayments.pay(checkout.invoiceId, { deliverFirstIpns: 1 });
    await gateway.settle();
    expect(gateway.nowpayments.ipnDeliveries.filter((delivery) => delivery.paymentId === payment.paymentId).map((d) => [d.status, d.httpStatus])).toEqual([
      ['waiting', 200],
    ]);
    expect(await effectsOf(payment.paymentId, channel)).toEqual({ ...unsettled, status: 'waiting' });

    const clock = createFakeClock(new Date(Date.now() + 60_000));
    const first = await reconcilePayments(deps({ clock, staleAfterMinutes: 0 }));
    await relayAndSettle();

    expect(first).toEqual({ checked: 1, changed: 1, settled: 1, failed: 0 });
    expect(await effectsOf(payment.paymentId, channel)).toEqual(settledOnce);
    const { rows: events } = await gateway.testDb.db.query<{ provider_status: string; headers: unknown }>(
      'SELECT provider_status, headers FROM payment_events WHERE provider_payment_id = $1 ORDER BY id',
      [payment.paymentId],
    );
    expect(events.map((event) => event.provider_status)).toEqual(['waiting', 'finished']);
    expect(events[1]?.headers).toEqual({ source: 'reconcile' });
    const dms = gateway.telegram.messagesTo(subscriber.id);
    expect(dms).toHaveLength(1);
    expect(dms[0]?.text).toContain(gateway.telegram.inviteLinks(channel.closedChatId)[0]?.invite_link);
    expect(gateway.telegram.messagesTo(channel.ownerTelegramId)).toHaveLength(1);

    clock.advance(60_000);
    const second = await reconcilePayments(deps({ clock, staleAfterMinutes: 0 }));
    await relayAndSettle();

    expect(second).toEqual({ checked: 0, changed: 0, settled: 0, failed: 0 });
    expect(await effectsOf(payment.paymentId, channel)).toEqual(settledOnce);
    expect(await countOf('payment_events WHERE provider_payment_id = $1', [payment.paymentId])).toBe(2);
    expect(gateway.telegram.messagesTo(subscriber.id)).toHaveLength(1);
    expect(await countOf(`payouts WHERE channel_id = $1`, [channel.channelId])).toBe(1);
  });

  it('settles a stale payment once from a scheduled reconciliation tick delivered twice', async () => {
    const { channel, subscriber, checkout } = await newCheckout();
    const payment = await gateway.nowpayments.pay(checkout.invoiceId, { deliverFirstIpns: 2 });
    await gateway.settle();
    expect(await effectsOf(payment.paymentId, channel)).toEqual({ ...unsettled, status: 'confirming' });
    // The function reads the system clock and re-reads payments untouched for 10 minutes: age this one.
    await gateway.testDb.db.query(`UPDATE payments SET updated_at = updated_at - interval '11 minutes' WHERE provider_payment_id = $1`, [payment.paymentId]);

    await gateway.runtime.bus?.publish('reconciliation-requested', { job: 'reconcile' });
    await gateway.settle();

    expect(await effectsOf(payment.paymentId, channel)).toEqual(settledOnce);
    expect(gateway.telegram.messagesTo(subscriber.id)).toHaveLength(1);
    expect(await countOf(`payment_events WHERE provider_payment_id = $1 AND headers->>'source' = 'reconcile'`, [payment.paymentId])).toBe(1);
  });

  it('leaves a payment NowPayments still reports as waiting unsettled, and re-reads it only once staleAfterMinutes have passed', async () => {
    const { channel, checkout } = await newCheckout();
    const ipnSecret = process.env.NOWPAYMENTS_IPN_SECRET ?? '';
    const paymentId = '9200000001';
    const waiting = {
      actually_paid: 0,
      actually_paid_at_fiat: 0,
      invoice_id: Number(checkout.invoiceId),
      order_description: 'Premium <Club>: 30 days',
      order_id: checkout.publicId,
      outcome_amount: 0.00663002,
      outcome_currency: 'eth',
      pay_address: '0x1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c',
      pay_amount: 0.00666334,
      pay_currency: 'eth',
      payment_id: Number(paymentId),
      payment_status: 'waiting',
      price_amount: 19.99,
      price_currency: 'usd',
      purchase_id: '9200000002',
      updated_at: Date.now(),
    };
    const response = await fetch(`${gateway.runtime.url}/nowpayments-ipn`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IPN_SIGNATURE_HEADER]: signIpnPayload(waiting, ipnSecret) },
      body: JSON.stringify(waiting),
    });
    expect(response.status).toBe(200);
    // NowPayments' answer to GET /v1/payment/{id} while the payer has not paid yet.
    const reads: string[] = [];
    const stillWaiting: NowPaymentsClient = {
      createInvoice: (input) => nowpayments.createInvoice(input),
      retrievePayment: async (id) => {
        reads.push(id);
        return parseNowPaymentsPayment({ ...waiting, payment_id: id });
      },
    };
    const clock = createFakeClock(new Date(Date.now() + 1000));
    const run = () => reconcilePayments(deps({ clock, nowpayments: stillWaiting, staleAfterMinutes: 10 }));

    expect(await run()).toEqual({ checked: 0, changed: 0, settled: 0, failed: 0 });
    expect(reads).toEqual([]);

    clock.advance(10 * 60_000);
    expect(await run()).toEqual({ checked: 1, changed: 0, settled: 0, failed: 0 });
    expect(reads).toEqual([paymentId]);

    clock.advance(9 * 60_000);
    expect(await run()).toEqual({ checked: 0, changed: 0, settled: 0, failed: 0 });
    expect(reads).toEqual([paymentId]);

    clock.advance(60_000 + 1);
    expect(await run()).toEqual({ checked: 1, changed: 0, settled: 0, failed: 0 });
    expect(reads).toEqual([paymentId, paymentId]);

    await relayAndSettle();
    expect(await effectsOf(paymentId, channel)).toEqual({ ...unsettled, status: 'waiting' });
    const { rows } = await gateway.testDb.db.query<{ status: string }>('SELECT status FROM checkouts WHERE id = $1', [checkout.id]);
    expect(rows[0]?.status).toBe('open');
  });
});
