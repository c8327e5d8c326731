import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Checkout, openCheckout } from '../../shared/checkout/index.js';
import { AppError } from '../../shared/errors/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { createNowPaymentsClient } from '../../shared/nowpayments/index.js';
import { createFakeClock } from '../../shared/testing/fakes/clock.js';
import { redriveStuckWork } from '../../shared/watchdog/index.js';
import { newSubscriber, seedChannel, startTestGateway, type SeededChannel, type TestGateway } from './gateway-harness.js';

const clock = createFakeClock(new Date());

/**
 * A promo code's usage limit under load, on the whole gateway with every message delivered twice
 * (concurrently): 20 checkouts at once for a code limited to 5 uses, 3 of them paid (each IPN sent
 * once more), 2 left to expire. Uses are reserved at checkout, released by reconcile's expiry
 * sweep and counted once per settled payment.
 */
describe('promo code limits under concurrent checkouts (every message twice)', () => {
  let gateway: TestGateway;
  let channel: SeededChannel;
  let codeId: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ deliverTwice: 'concurrently', clock });
    channel = await seedChannel(gateway, { priceCents: 2000n, days: 30 });
    const { rows } = await gateway.testDb.db.query<{ id: string }>(
      `INSERT INTO promo_codes (channel_id, code, percent_off_bps, max_uses) VALUES ($1, 'LIMIT5', 2500, 5) RETURNING id`,
      [channel.channelId],
    );
    codeId = rows[0]!.id;
  });
  afterAll(() => gateway?.stop());

  const checkoutWithCode = (subscriber: { id: number; username: string }) =>
    openCheckout(
      {
        db: gateway.testDb.db,
        clock,
        nowpayments: createNowPaymentsClient({ apiUrl: process.env.NOWPAYMENTS_API_URL ?? '', apiKey: process.env.NOWPAYMENTS_API_KEY ?? '' }),
        publicBaseUrl: gateway.runtime.url,
        returnUrl: 'https://t.me/PayGatePrimeSandboxBot',
      },
      { kind: 'subscription', user: { id: BigInt(subscriber.id), username: subscriber.username, firstName: 'Fan' }, channelId: channel.channelId, tierNumber: 1, promoCode: 'limit5' },
    );

  async function invoiceOf(checkout: Checkout): Promise<string> {
    const { rows } = await gateway.testDb.db.query<{ provider_invoice_id: string }>('SELECT provider_invoice_id FROM checkouts WHERE id = $1', [checkout.id]);
    return rows[0]!.provider_invoice_id;
  }

  async function reservations(): Promise<Record<string, number>> {
    const { rows } = await gateway.testDb.db.query<{ status: string; n: bigint }>(
      'SELECT status, count(*) AS n FROM promo_code_reservations WHERE promo_code_id = $1 GROUP BY status',
      [codeId],
    );
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
  }

  it('gives exactly 5 of 20 concurrent checkouts the discount, redeems 3 paid ones once each and frees the 2 that expired', async () => {
    const db = gateway.testDb.db;
    const subscribers = Array.from({ length: 20 }, () => newSubscriber(gateway));
    const outcomes = await Promise.allSettled(subscribers.map(checkoutWithCode));

    const granted = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    expect(granted).toHaveLength(5);
    for (const checkout of granted) expect(checkout).toMatchObject({ priceCents: 1500n, listPriceCents: 2000n });
    expect(refusals).toHaveLength(15);
    for (const refusal of refusals) expect(refusal instanceof AppError && refusal.code).toBe('promo_code_used_up');
    expect(await reservations()).toEqual({ reserved: 5 });
    // The invoices NowPayments got are for the discounted price.
    const invoices = await Promise.all(granted.map(invoiceOf));
    for (const invoiceId of invoices) expect(gateway.nowpayments.invoices().find((invoice) => invoice.id === invoiceId)?.priceAmount).toBe('15');

    // Three pay; each IPN is also delivered once more after the sequence.
    const paid = await Promise.all(invoices.slice(0, 3).map((invoiceId) => gateway.nowpayments.pay(invoiceId)));
    for (const payment of paid) expect(await gateway.nowpayments.resendIpn(payment.paymentId)).toBe(200);
    await gateway.settle();
    // Two never pay: their payments expire at NowPayments, then their checkouts pass their validity.
    for (const invoiceId of invoices.slice(3)) await gateway.nowpayments.expire(invoiceId);
    await gateway.settle();
    expect(await reservations()).toEqual({ reserved: 2, redeemed: 3 });

    clock.advance(61 * 60_000);
    const logger = createLogger({ write: () => undefined });
    const report = await redriveStuckWork({ db, clock, logger }, 'reconcile');
    expect(report.redriven).toMatchObject({ 'checkouts.open': 2, 'promo_code_reservations.reserved': 2 });
    // Running the owner again changes nothing.
    expect((await redriveStuckWork({ db, clock, logger }, 'reconcile')).redriven['promo_code_reservations.reserved']).toBeUndefined();
    expect(await reservations()).toEqual({ released: 2, redeemed: 3 });

    const { rows: redemptions } = await db.query<{ payment_id: string; list_price_cents: bigint; price_cents: bigint }>(
      'SELECT payment_id, list_price_cents, price_cents FROM promo_redemptions WHERE promo_code_id = $1',
      [codeId],
    );
    expect(redemptions).toHaveLength(3);
    for (const redemption of redemptions) expect(redemption).toMatchObject({ list_price_cents: 2000n, price_cents: 1500n });
    const { rows: subscriptions } = await db.query('SELECT 1 FROM subscriptions WHERE channel_id = $1 AND status = $2', [channel.channelId, 'active']);
    expect(subscriptions).toHaveLength(3);
    expect(await db.query('SELECT source, reason_code FROM dead_letters').then((r) => r.rows)).toEqual([]);

    // The two freed uses are there for others, and then the code is used up again.
    const later = await Promise.allSettled([newSubscriber(gateway), newSubscriber(gateway), newSubscriber(gateway)].map(checkoutWithCode));
    expect(later.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(2);
    expect(later.filter((outcome) => outcome.status === 'rejected').map((outcome) => ((outcome as PromiseRejectedResult).reason as AppError).code)).toEqual([
      'promo_code_used_up',
    ]);
  });
});
