import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../../shared/ids/index.js';
import { formatUnits, parseUnits } from '../../shared/money/index.js';
import { IPN_SIGNATURE_HEADER, signIpnPayload } from '../../shared/nowpayments/index.js';
import { hasPostgresServer } from '../../shared/testing/database.js';
import { checkoutFor, newSubscriber, seedChannel, startTestGateway, type SeededChannel, type TestGateway } from './gateway-harness.js';

/**
 * The NowPayments IPN entry point, end to end: real HTTP requests to `/nowpayments-ipn` as NowPayments sends them
 * (sorted keys, JSON numbers, HMAC-SHA512 of the sorted body), with the whole gateway behind it delivering every
 * bus message twice.
 */

/** A JSON number written exactly as given (`'1e-7'`, `'0.00666334'`): the IPN text is built by hand, never by a float. */
interface JsonNumber {
  number: string;
}
type IpnValue = string | null | JsonNumber;
type IpnFields = Record<string, IpnValue>;

const num = (text: string): JsonNumber => ({ number: text });

/** Ids far above the simulator's (4.0e9 … 4.9e9), so hand-built payments never collide with simulated ones. */
let nextProviderId = 9_100_000_000;
const newProviderId = () => String((nextProviderId += 17));

/** A finished, fully paid IPN for the checkout, with the fields and types of a real capture (sorted keys). */
function ipnFields(orderId: string, overrides: Partial<IpnFields> = {}): IpnFields {
  const fields: IpnFields = {
    actually_paid: num('0.00666334'),
    actually_paid_at_fiat: num('19.99'),
    invoice_id: num(newProviderId()),
    order_description: 'Premium <Club>: 30 days',
    order_id: orderId,
    outcome_amount: num('0.00663002'),
    outcome_currency: 'eth',
    pay_address: '0x1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c',
    pay_amount: num('0.00666334'),
    pay_currency: 'eth',
    payment_id: num(newProviderId()),
    payment_status: 'finished',
    price_amount: num('19.99'),
    price_currency: 'usd',
    purchase_id: newProviderId(),
    updated_at: num(String(Date.now())),
  };
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) fields[key] = value;
  return fields;
}

function ipnText(fields: IpnFields, keys: string[] = Object.keys(fields).sort()): string {
  const write = (value: IpnValue | undefined) => (value !== null && typeof value === 'object' ? value.number : JSON.stringify(value ?? null));
  return `{${keys.map((key) => `${JSON.stringify(key)}:${write(fields[key])}`).join(',')}}`;
}

const paymentIdOf = (fields: IpnFields) => (fields.payment_id as JsonNumber).number;

describe('nowpayments-ipn', () => {
  let gateway: TestGateway;
  let ipnUrl: string;
  let ipnSecret: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ deliverTwice: true });
    ipnUrl = `${gateway.runtime.url}/nowpayments-ipn`;
    ipnSecret = process.env.NOWPAYMENTS_IPN_SECRET ?? '';
    expect(ipnSecret).not.toBe('');
  });
  afterAll(() => gateway?.stop());

  /** NowPayments' signature: HMAC-SHA512 of the sorted JSON of the parsed body (what the simulator sends). */
  const signatureOf = (text: string) => signIpnPayload(JSON.parse(text) as Record<string, unknown>, ipnSecret);

  async function postIpn(
    body: string,
    options: { signature?: string | null; contentType?: string } = {},
  ): Promise<{ status: number; body: { status?: string; outcome?: string; error?: { code: string } } }> {
    const signature = options.signature === undefined ? signatureOf(body) : options.signature;
    const response = await fetch(ipnUrl, {
      method: 'POST',
      headers: {
        'content-type': options.contentType ?? 'application/json',
        'user-agent': 'NowPayments IPN',
        ...(signature === null ? {} : { [IPN_SIGNATURE_HEADER]: signature }),
      },
      body,
    });
    const text = await response.text();
    let parsed: unknown = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { raw: text };
    }
    return { status: response.status, body: parsed as { status?: string; outcome?: string; error?: { code: string } } };
  }

  async function countOf(sql: string, params: unknown[]): Promise<number> {
    const { rows } = await gateway.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
    return rows[0]?.n ?? -1;
  }

  interface PaymentRow {
    id: string;
    status: string;
    settled_at: Date | null;
  }

  async function paymentRow(providerPaymentId: string): Promise<PaymentRow | undefined> {
    const { rows } = await gateway.testDb.db.query<PaymentRow>('SELECT id, status, settled_at FROM payments WHERE provider_payment_id = $1', [
      providerPaymentId,
    ]);
    return rows[0];
  }

  /** What settling a payment produced, counted per payment. */
  async function effectsOf(providerPaymentId: string, channel: SeededChannel) {
    const payment = await paymentRow(providerPaymentId);
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

  const settledOnce = {
    status: 'finished',
    isSettled: true,
    ledgerTransactions: 1,
    settledMessages: 1,
    periods: 1,
    invites: 1,
    telegramInviteLinks: 1,
  };

  /** A fresh channel, subscriber and checkout (an open NowPayments invoice). */
  async function newCheckout() {
    const channel = await seedChannel(gateway, { strategy: 'threshold', priceCents: 1999n, days: 30 });
    const subscriber = newSubscriber(gateway);
    const checkout = await checkoutFor(gateway, channel, subscriber);
    return { channel, subscriber, checkout };
  }

  const repeatsLoggedFor = (paymentId: string) =>
    gateway.logLines.filter((line) => line.includes('"ipn.repeated"') && line.includes(`"providerPaymentId":"${paymentId}"`)).length;
  const deliveriesOf = (paymentId: string) => gateway.nowpayments.ipnDeliveries.filter((delivery) => delivery.paymentId === paymentId);

  describe('authentication', () => {
    it('answers 401 to a bad signature and stores nothing', async () => {
      const { checkout } = await newCheckout();
      const fields = ipnFields(checkout.publicId);
      const body = ipnText(fields);
      const otherSecret = signIpnPayload(JSON.parse(body) as Record<string, unknown>, `${ipnSecret}-but-another`);
      const tampered = ipnText({ ...fields, actually_paid: num('0.1') });

      for (const request of [
        { body, signature: otherSecret },
        { body: tampered, signature: signatureOf(body) },
        { body, signature: 'not-hex' },
      ]) {
        const answer = await postIpn(request.body, { signature: request.signature });
        expect(answer.status).toBe(401);
        expect(answer.body.error?.code).toBe('invalid_signature');
      }
      await gateway.settle();
      expect(await countOf('payment_events WHERE provider_payment_id = $1', [paymentIdOf(fields)])).toBe(0);
      expect(await paymentRow(paymentIdOf(fields))).toBeUndefined();
    });

    it('answers 401 to an IPN without a signature and stores nothing', async () => {
      const { checkout } = await newCheckout();
      const fields = ipnFields(checkout.publicId);

      for (const signature of [null, '']) {
        const answer = await postIpn(ipnText(fields), { signature });
        expect(answer.status).toBe(401);
      }
      expect(await countOf('payment_events WHERE provider_payment_id = $1', [paymentIdOf(fields)])).toBe(0);
      expect(await paymentRow(paymentIdOf(fields))).toBeUndefined();
    });

    it('accepts and applies an authentic body whose keys arrive in another order', async () => {
      const { channel, subscriber, checkout } = await newCheckout();
      const fields = ipnFields(checkout.publicId);
      const sorted = ipnText(fields);
      const reordered = ipnText(fields, Object.keys(fields).sort().reverse());
      expect(reordered).not.toBe(sorted);

      const answer = await postIpn(reordered, { signature: signatureOf(sorted) });
      await gateway.settle();

      expect(answer).toEqual({ status: 200, body: { status: 'ok', outcome: 'updated' } });
      expect(await effectsOf(paymentIdOf(fields), channel)).toEqual(settledOnce);
      expect(gateway.telegram.messagesTo(subscriber.id)).toHaveLength(1);
    });
  });

  describe('duplicates', () => {
    it('settles once when the same finished IPN arrives twice', async () => {
      const { channel, subscriber, checkout } = await newCheckout();
      const fields = ipnFields(checkout.publicId);
      const body = ipnText(fields);
      const paymentId = paymentIdOf(fields);

      const first = await postIpn(body);
      const second = await postIpn(body);
      await gateway.settle();

      expect(first).toEqual({ status: 200, body: { status: 'ok', outcome: 'updated' } });
      expect(second).toEqual({ status: 200, body: { status: 'ok', outcome: 'unchanged' } });
      expect(await effectsOf(paymentId, channel)).toEqual(settledOnce);
      // The body is kept once; its exact repeat is answered from a read and logged as received.
      expect(await countOf('payment_events WHERE provider_payment_id = $1', [paymentId])).toBe(1);
      expect(repeatsLoggedFor(paymentId)).toBe(1);
      expect(gateway.telegram.messagesTo(subscriber.id)).toHaveLength(1);
    });

    it('settles once when every IPN of the sequence arrives three times', async () => {
      const { channel, subscriber, checkout } = await newCheckout();

      const payment = await gateway.nowpayments.pay(checkout.invoiceId, { repeatEachIpn: 3 });
      await gateway.settle();

      const deliveries = deliveriesOf(payment.paymentId);
      expect(deliveries.map((delivery) => delivery.status)).toEqual(payment.statuses.flatMap((status) => [status, status, status]));
      expect(deliveries.every((delivery) => delivery.httpStatus === 200)).toBe(true);
      expect(await effectsOf(payment.paymentId, channel)).toEqual(settledOnce);
      expect(gateway.telegram.messagesTo(subscriber.id)).toHaveLength(1);
    });
  });

  describe('statuses out of order', () => {
    it('keeps a finished payment finished when a late confirming IPN arrives', async () => {
      const { channel, checkout } = await newCheckout();
      const finishedAt = Date.now();
      const finished = ipnFields(checkout.publicId, { updated_at: num(String(finishedAt)) });
      const confirming = {
        ...finished,
        payment_status: 'confirming',
        outcome_amount: num('0.00660001'),
        updated_at: num(String(finishedAt - 2000)),
      };

      const first = await postIpn(ipnText(finished));
      const late = await postIpn(ipnText(confirming));
      await gateway.settle();

      expect(first.status).toBe(200);
      expect(late).toEqual({ status: 200, body: { status: 'ok', outcome: 'unchanged' } });
      expect(await effectsOf(paymentIdOf(finished), channel)).toEqual(settledOnce);
      const { rows } = await gateway.testDb.db.query<{ outcome_amount: string }>('SELECT outcome_amount::text FROM payments WHERE provider_payment_id = $1', [
        paymentIdOf(finished),
      ]);
      expect(rows[0]?.outcome_amount).toBe('0.00663002');
    });

    it('answers 200 to every IPN of a sequence sent backwards and settles once', async () => {
      const { channel, checkout } = await newCheckout();

      const payment = await gateway.nowpayments.pay(checkout.invoiceId, { order: 'reverse' });
      await gateway.settle();

      expect(deliveriesOf(payment.paymentId).map((delivery) => [delivery.status, delivery.httpStatus])).toEqual([
        ['finished', 200],
        ['sending', 200],
        ['confirmed', 200],
        ['confirming', 200],
        ['waiting', 200],
      ]);
      expect(await effectsOf(payment.paymentId, channel)).toEqual(settledOnce);
    });
  });

  describe('underpayment', () => {
    it('does not settle a payment under the tolerance and tells the subscriber exactly what is missing', async () => {
      const { channel, subscriber, checkout } = await newCheckout();

      const payment = await gateway.nowpayments.pay(checkout.invoiceId, { fraction: '0.5' });
      // Only a settlement is published before the IPN is answered; the notice waits in the outbox for the
      // every-minute relay, whose tick is sent here as Cloud Scheduler would.
      await gateway.runtime.bus?.publish('outbox-relay-requested', { job: 'relay-outbox' });
      await gateway.settle();

      expect(payment.status).toBe('partially_paid');
      expect(deliveriesOf(payment.paymentId).every((delivery) => delivery.httpStatus === 200)).toBe(true);
      const row = await paymentRow(payment.paymentId);
      expect(row).toMatchObject({ status: 'partially_paid', settled_at: null });
      expect(await effectsOf(payment.paymentId, channel)).toMatchObject({ ledgerTransactions: 0, settledMessages: 0, periods: 0, invites: 0, telegramInviteLinks: 0 });
      expect(await countOf('subscriptions WHERE telegram_user_id = $1', [subscriber.id])).toBe(0);
      const { rows: checkouts } = await gateway.testDb.db.query<{ status: string }>('SELECT status FROM checkouts WHERE id = $1', [checkout.id]);
      expect(checkouts[0]?.status).toBe('open');

      const missing = formatUnits(parseUnits(payment.payAmount, 18) - parseUnits(payment.actuallyPaid, 18), 18);
      expect(parseUnits(missing, 18)).toBeGreaterThan(0n);
      const dms = gateway.telegram.messagesTo(subscriber.id);
      expect(dms).toHaveLength(1);
      expect(dms[0]?.text).toContain(`Missing: ${missing} ETH`);
      expect(dms[0]?.text).toContain(`${payment.actuallyPaid} of ${payment.payAmount} ETH`);
    });

    it('settles a payment short by less than the tolerance', async () => {
      const { channel, subscriber, checkout } = await newCheckout();

      const payment = await gateway.nowpayments.pay(checkout.invoiceId, { fraction: '0.99' });
      await gateway.settle();

      expect(payment.status).toBe('partially_paid');
      expect(await effectsOf(payment.paymentId, channel)).toEqual({ ...settledOnce, status: 'partially_paid' });
      const dms = gateway.telegram.messagesTo(subscriber.id);
      expect(dms).toHaveLength(1);
      expect(dms[0]?.text).not.toContain('Missing');
    });
  });

  describe('unknown orders', () => {
    it.each([
      ['a well-formed checkout id that does not exist', () => formatPublicId('checkout', randomUUID())],
      ['a garbage order id', () => 'order #42; DROP TABLE payments'],
    ])('answers 200 to %s, keeps the event and records an orphan dead letter', async (_name, orderId) => {
      const fields = ipnFields(orderId());
      const paymentId = paymentIdOf(fields);

      const answer = await postIpn(ipnText(fields));
      await gateway.settle();

      expect(answer).toEqual({ status: 200, body: { status: 'ok', outcome: 'orphan' } });
      expect(await countOf('payment_events WHERE provider_payment_id = $1 AND signature_valid', [paymentId])).toBe(1);
      expect(await paymentRow(paymentId)).toBeUndefined();
      const { rows } = await gateway.testDb.db.query<{ source: string; reason_code: string }>('SELECT source, reason_code FROM dead_letters WHERE message_id = $1', [
        `nowpayments:${paymentId}:finished`,
      ]);
      expect(rows).toEqual([{ source: 'nowpayments-ipn', reason_code: 'orphan_payment' }]);
    });
  });

  describe('the price checked against the checkout', () => {
    it('holds a validly signed $0.01 IPN for a $19.99 checkout (no access, no ledger entry, an operator alert), then settles the real payment', async () => {
      const { channel, subscriber, checkout } = await newCheckout();
      const forged = ipnFields(checkout.publicId, { price_amount: num('0.01'), actually_paid_at_fiat: num('0.01') });
      const forgedId = paymentIdOf(forged);

      const answer = await postIpn(ipnText(forged));
      await gateway.settle();

      // 200: authentic and recorded, a retry could not change the outcome; the operator decides.
      expect(answer).toEqual({ status: 200, body: { status: 'ok', outcome: 'held' } });
      expect(await countOf('payment_events WHERE provider_payment_id = $1 AND signature_valid', [forgedId])).toBe(1);
      expect(await paymentRow(forgedId)).toBeUndefined();
      expect(await countOf(`ledger_transactions t JOIN payments p ON p.id = t.payment_id WHERE p.checkout_id = $1`, [checkout.id])).toBe(0);
      expect(await countOf('subscriptions WHERE telegram_user_id = $1 AND channel_id = $2', [subscriber.id, channel.channelId])).toBe(0);
      expect(gateway.telegram.inviteLinks(channel.closedChatId)).toHaveLength(0);
      expect(gateway.telegram.messagesTo(subscriber.id)).toHaveLength(0);
      const { rows: checkouts } = await gateway.testDb.db.query<{ status: string }>('SELECT status FROM checkouts WHERE id = $1', [checkout.id]);
      expect(checkouts).toEqual([{ status: 'open' }]);
      expect(await countOf(`operator_alerts WHERE alert = 'payment.price_mismatch' AND subject_id = $1`, [checkout.id])).toBe(1);
      expect(gateway.logLines.filter((line) => line.includes('"CRITICAL"') && line.includes('"payment.price_mismatch"') && line.includes(forgedId))).toHaveLength(1);

      // The real price for the same checkout still settles, once, with access.
      const paid = ipnFields(checkout.publicId);
      expect(await postIpn(ipnText(paid))).toEqual({ status: 200, body: { status: 'ok', outcome: 'updated' } });
      await gateway.settle();
      expect(await effectsOf(paymentIdOf(paid), channel)).toEqual(settledOnce);
      expect(gateway.telegram.messagesTo(subscriber.id)).toHaveLength(1);
    });

    it.each([
      ['another currency', { price_currency: 'eur' }],
      ['a price a fraction of a cent off', { price_amount: num('19.989') }],
      ['a progress report with another price, then the same payment finished', { price_amount: num('0.01'), payment_status: 'waiting' }],
    ])('holds %s', async (_name, overrides) => {
      const { channel, checkout } = await newCheckout();
      const fields = ipnFields(checkout.publicId, overrides);

      expect(await postIpn(ipnText(fields))).toEqual({ status: 200, body: { status: 'ok', outcome: 'held' } });
      expect(await postIpn(ipnText({ ...fields, payment_status: 'finished', updated_at: num(String(Date.now() + 1000)) }))).toEqual({
        status: 200,
        body: { status: 'ok', outcome: 'held' },
      });
      await gateway.settle();
      expect(await paymentRow(paymentIdOf(fields))).toBeUndefined();
      expect(await countOf(`ledger_transactions t JOIN payments p ON p.id = t.payment_id WHERE p.checkout_id = $1`, [checkout.id])).toBe(0);
      expect(gateway.telegram.inviteLinks(channel.closedChatId)).toHaveLength(0);
      expect(await countOf(`operator_alerts WHERE alert = 'payment.price_mismatch' AND subject_id = $1`, [checkout.id])).toBe(1);
    });
  });

  describe('exact amounts', () => {
    async function storedAmounts(providerPaymentId: string) {
      const { rows } = await gateway.testDb.db.query(
        `SELECT pay_amount::text, actually_paid::text, actually_paid_fiat::text, outcome_amount::text, outcome_asset, outcome_units::text, price_amount_cents::text
         FROM payments WHERE provider_payment_id = $1`,
        [providerPaymentId],
      );
      return rows[0];
    }

    it('stores amounts sent in exponent notation exactly', async () => {
      const { channel, checkout } = await newCheckout();

      const payment = await gateway.nowpayments.pay(checkout.invoiceId, { useExponentNotation: true });
      await gateway.settle();

      expect(await storedAmounts(payment.paymentId)).toEqual({
        pay_amount: payment.payAmount,
        actually_paid: payment.actuallyPaid,
        actually_paid_fiat: payment.actuallyPaidAtFiat,
        outcome_amount: payment.outcomeAmount,
        outcome_asset: 'ETH',
        outcome_units: parseUnits(payment.outcomeAmount, 18).toString(),
        price_amount_cents: '1999',
      });
      expect(await effectsOf(payment.paymentId, channel)).toEqual(settledOnce);
    });

    it('stores hand-written exponent and long-fraction numbers digit for digit', async () => {
      const { checkout } = await newCheckout();
      const confirming = ipnFields(checkout.publicId, {
        payment_status: 'confirming',
        price_amount: num('1.999e1'),
        pay_amount: num('6.66334E-3'),
        actually_paid: num('1e-7'),
        actually_paid_at_fiat: num('3.0e-4'),
        outcome_amount: num('1.2345678901234567e-2'),
      });

      const answer = await postIpn(ipnText(confirming));

      expect(answer.status).toBe(200);
      expect(await storedAmounts(paymentIdOf(confirming))).toEqual({
        pay_amount: '0.00666334',
        actually_paid: '0.0000001',
        actually_paid_fiat: '0.0003',
        outcome_amount: '0.012345678901234567',
        outcome_asset: 'ETH',
        outcome_units: '12345678901234567',
        price_amount_cents: '1999',
      });
    });
  });

  describe('malformed requests', () => {
    it('answers 413 to a body over 64 KiB', async () => {
      const { checkout } = await newCheckout();
      const fields = ipnFields(checkout.publicId, { order_description: 'x'.repeat(64 * 1024) });

      const answer = await postIpn(ipnText(fields));

      expect(answer.status).toBe(413);
      expect(answer.body.error?.code).toBe('payload_too_large');
      expect(await countOf('payment_events WHERE provider_payment_id = $1', [paymentIdOf(fields)])).toBe(0);
    });

    it.each([
      // Either way the raw text reaches the verifier (a malformed JSON body is left to us, see
      // acceptMalformedJsonBodies), which refuses a body that is not a JSON object.
      ['application/json', 401],
      ['text/plain', 401],
    ])('refuses a non-JSON body with a valid HMAC of its text, sent as %s, with %i', async (contentType, expectedStatus) => {
      const body = 'payment_id=5077125051&payment_status=finished';
      const signature = createHmac('sha512', ipnSecret).update(body).digest('hex');

      const answer = await postIpn(body, { signature, contentType });

      expect(answer.status).toBe(expectedStatus);
      expect(await countOf(`payment_events WHERE body = $1`, [body])).toBe(0);
    });

    it('answers 400 to an authentic JSON body that is not a payment, keeping the event', async () => {
      const orderId = formatPublicId('checkout', randomUUID());
      const body = JSON.stringify({ order_id: orderId, payment_status: 'finished', price_amount: 19.99, price_currency: 'usd' });

      const answer = await postIpn(body);

      expect(answer.status).toBe(400);
      expect(answer.body.error?.code).toBe('invalid_payment_payload');
      expect(await countOf('payment_events WHERE order_id = $1 AND provider_payment_id IS NULL', [orderId])).toBe(1);
    });

    it.each([
      ['empty strings as payment id and status', { payment_id: '', payment_status: '' }],
      ['a NUL character in the status', { payment_id: '9000000001', payment_status: 'fin\u0000ished' }],
      ['a NUL character in the pay address', { payment_id: '9000000002', payment_status: 'finished', pay_address: '0x\u0000' }],
    ])('answers 400, never 500, to an authentic body with %s, keeping the event', async (_name, fields) => {
      const { checkout } = await newCheckout();
      const body = JSON.stringify({ ...fields, order_id: checkout.publicId, price_amount: 19.99, price_currency: 'usd', pay_currency: 'eth' });

      const answer = await postIpn(body);

      expect(answer.status).toBe(400);
      expect(await countOf('payment_events WHERE order_id = $1 AND body = $2', [checkout.publicId, body])).toBe(1);
      expect(await countOf('payments WHERE checkout_id = $1', [checkout.id])).toBe(0);
    });

    it('answers 405 to GET', async () => {
      const response = await fetch(ipnUrl);
      await response.arrayBuffer();

      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    });
  });

  describe.skipIf(!hasPostgresServer)('concurrent deliveries [skipped: needs DATABASE_URL]', () => {
    it('settles once when 100 copies of the same finished IPN arrive at the same time', async () => {
      const { channel, subscriber, checkout } = await newCheckout();
      const fields = ipnFields(checkout.publicId);
      const body = ipnText(fields);

      const answers = await Promise.all(Array.from({ length: 100 }, () => postIpn(body)));
      await gateway.settle();

      expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 100 }, () => 200));
      expect(answers.filter((answer) => answer.body.outcome === 'updated')).toHaveLength(1);
      expect(await effectsOf(paymentIdOf(fields), channel)).toEqual(settledOnce);
      // Every copy is accounted for: stored (those that raced the first), or answered as a logged repeat.
      const stored = await countOf('payment_events WHERE provider_payment_id = $1', [paymentIdOf(fields)]);
      expect(stored).toBeGreaterThanOrEqual(1);
      expect(stored + repeatsLoggedFor(paymentIdOf(fields))).toBe(100);
      expect(gateway.telegram.messagesTo(subscriber.id)).toHaveLength(1);
    });
  });
});
