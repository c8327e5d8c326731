import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNowPaymentsClient, parseNowPaymentsPayment, verifyIpnSignature, type NowPaymentsPayment } from '../../nowpayments/index.js';
import { createFakeClock } from '../fakes/clock.js';
import { startNowPaymentsSimulator, type NowPaymentsSimulator } from './nowpayments-simulator.js';

const API_KEY = 'sim-api-key-123456';
const IPN_SECRET = 'sim-ipn-secret-123456';

interface ReceivedIpn {
  rawBody: string;
  signature: string | undefined;
  contentType: string | undefined;
  payment: NowPaymentsPayment;
}

/** A merchant endpoint: verifies and records every IPN; answers `status` (200 by default). */
async function startIpnReceiver() {
  const received: ReceivedIpn[] = [];
  let status = 200;
  const read = async (request: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server = createServer((request, response) => {
    void read(request).then((rawBody) => {
      const signature = request.headers['x-nowpayments-sig'] as string | undefined;
      const verification = verifyIpnSignature({ rawBody, signature, secret: IPN_SECRET });
      if (!verification.isValid) {
        response.writeHead(401).end();
        return;
      }
      received.push({ rawBody, signature, contentType: request.headers['content-type'], payment: parseNowPaymentsPayment(verification.payload) });
      response.writeHead(status, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/nowpayments-ipn`,
    received,
    answerWith: (next: number) => {
      status = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let receiver: Awaited<ReturnType<typeof startIpnReceiver>>;
let simulator: NowPaymentsSimulator;
const clock = createFakeClock('2026-03-01T12:00:00Z');

beforeAll(async () => {
  receiver = await startIpnReceiver();
  simulator = await startNowPaymentsSimulator({ apiKey: API_KEY, ipnSecret: IPN_SECRET, clock });
});
afterAll(async () => {
  await simulator.close();
  await receiver.close();
});
afterEach(() => {
  receiver.received.length = 0;
  receiver.answerWith(200);
});

const client = () => createNowPaymentsClient({ apiUrl: simulator.apiUrl, apiKey: API_KEY, sleep: async () => {} });

async function newInvoice(priceCents = 1999n, overrides: { ipnCallbackUrl?: string } = {}) {
  return client().createInvoice({
    priceCents,
    orderId: `chk_${Math.random().toString(36).slice(2)}`,
    orderDescription: 'Subscription - 30 days',
    ipnCallbackUrl: overrides.ipnCallbackUrl ?? receiver.url,
    successUrl: 'https://t.me/paygate_bot',
    cancelUrl: 'https://t.me/paygate_bot',
  });
}

const statusesReceived = () => receiver.received.map((ipn) => ipn.payment.rawStatus);

describe('NowPayments simulator API', () => {
  it('answers GET /v1/status', async () => {
    const response = await fetch(`${simulator.apiUrl}/status`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: 'OK' });
  });

  it('creates an invoice for our client, with the documented answer fields', async () => {
    const invoice = await newInvoice(1999n);
    expect(invoice.invoiceId).toMatch(/^\d+$/);
    expect(invoice.invoiceUrl).toBe(`${simulator.url}/invoice/${invoice.invoiceId}`);
    expect(invoice.createdAt).toEqual(new Date('2026-03-01T12:00:00Z'));
    expect(simulator.invoices().find((item) => item.id === invoice.invoiceId)).toMatchObject({
      orderId: invoice.orderId,
      priceAmount: '19.99',
      priceCurrency: 'usd',
      ipnCallbackUrl: receiver.url,
      isFixedRate: false,
    });

    const raw = await fetch(`${simulator.apiUrl}/invoice`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      body: '{"price_amount":1000,"price_currency":"usd","order_id":"RGDBP-21314"}',
    });
    const body = (await raw.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'id', 'token_id', 'order_id', 'order_description', 'price_amount', 'price_currency', 'pay_currency', 'ipn_callback_url',
      'invoice_url', 'success_url', 'cancel_url', 'created_at', 'updated_at', 'is_fixed_rate', 'is_fee_paid_by_user',
    ]);
    expect(body).toMatchObject({ id: expect.stringMatching(/^\d+$/), price_amount: '1000', pay_currency: null, ipn_callback_url: null });
  });

  it('refuses a wrong API key with 403 like the real API', async () => {
    const response = await fetch(`${simulator.apiUrl}/invoice`, {
      method: 'POST',
      headers: { 'x-api-key': 'wrong', 'content-type': 'application/json' },
      body: '{"price_amount":10,"price_currency":"usd"}',
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ status: false, statusCode: 403, code: 'INVALID_API_KEY', message: 'Invalid api key' });
    const missing = await fetch(`${simulator.apiUrl}/payment/1`);
    expect(missing.status).toBe(403);
  });

  it.each([
    ['no price', '{"price_currency":"usd"}', 'price_amount is required'],
    ['a string price', '{"price_amount":"10","price_currency":"usd"}', 'price_amount must be a number'],
    ['a zero price', '{"price_amount":0,"price_currency":"usd"}', 'price_amount must be greater than 0'],
    ['no currency', '{"price_amount":10}', 'price_currency is required'],
    ['an invalid callback', '{"price_amount":10,"price_currency":"usd","ipn_callback_url":"not a uri"}', 'ipn_callback_url must be a valid uri'],
    ['a non-boolean flag', '{"price_amount":10,"price_currency":"usd","is_fixed_rate":"no"}', 'is_fixed_rate must be a boolean'],
    ['a body that is not JSON', 'price_amount=10', 'Request body must be a valid JSON object'],
  ])('refuses an invoice with %s: 400 INVALID_REQUEST_PARAMS', async (_name, body, message) => {
    const response = await fetch(`${simulator.apiUrl}/invoice`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ status: false, statusCode: 400, code: 'INVALID_REQUEST_PARAMS', message });
  });

  it('answers 400 for a payment id that is not a number and 404 for an unknown one', async () => {
    const headers = { 'x-api-key': API_KEY };
    const notNumber = await fetch(`${simulator.apiUrl}/payment/status`, { headers });
    expect(notNumber.status).toBe(400);
    expect(await notNumber.json()).toMatchObject({ code: 'INVALID_REQUEST_PARAMS', message: 'Payment id must be a number' });
    const unknown = await fetch(`${simulator.apiUrl}/payment/1`, { headers });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ status: false, statusCode: 404, code: 'NOT_FOUND' });
  });
});

describe('NowPayments simulator payments', () => {
  it('sends a full payment as waiting → confirming → confirmed → sending → finished, each IPN signed', async () => {
    const invoice = await newInvoice(1999n);
    const payment = await simulator.pay(invoice.invoiceId);

    expect(statusesReceived()).toEqual(['waiting', 'confirming', 'confirmed', 'sending', 'finished']);
    expect(receiver.received.every((ipn) => ipn.contentType === 'application/json')).toBe(true);
    expect(simulator.ipnDeliveries.filter((delivery) => delivery.paymentId === payment.paymentId)).toEqual(
      ['waiting', 'confirming', 'confirmed', 'sending', 'finished'].map((status) => ({ paymentId: payment.paymentId, status, httpStatus: 200 })),
    );
    // 19.99 USD / 3000 USD per ETH = 0.0066633…, rounded up to 0.00666334; 0.5 % fee rounded up: 0.00003332.
    const [waiting, , , , finished] = receiver.received.map((ipn) => ipn.payment);
    expect(waiting).toMatchObject({ status: 'waiting', actuallyPaid: '0', payAmount: '0.00666334' });
    expect(finished).toEqual({
      paymentId: payment.paymentId,
      invoiceId: invoice.invoiceId,
      status: 'finished',
      rawStatus: 'finished',
      orderId: invoice.orderId,
      orderDescription: 'Subscription - 30 days',
      priceAmount: '19.99',
      priceCurrency: 'usd',
      payAmount: '0.00666334',
      actuallyPaid: '0.00666334',
      actuallyPaidAtFiat: '19.99002',
      payCurrency: 'eth',
      payAddress: expect.stringMatching(/^0x[0-9a-f]{40}$/),
      outcomeAmount: '0.00663002',
      outcomeCurrency: 'eth',
      createdAt: null,
      updatedAt: new Date('2026-03-01T12:00:00Z'),
    });
    expect(receiver.received[0]!.payment.updatedAt).toEqual(new Date('2026-03-01T11:59:56Z'));
    expect(payment).toMatchObject({ status: 'finished', serviceFee: '0.00003332' });
  });

  it('writes IPN bodies like NowPayments: sorted keys, numbers for amounts and ids, a fee object', async () => {
    const invoice = await newInvoice(1999n);
    await simulator.pay(invoice.invoiceId);
    const body = JSON.parse(receiver.received[4]!.rawBody) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([...Object.keys(body)].sort());
    expect(body).toMatchObject({
      payment_id: expect.any(Number),
      invoice_id: Number(invoice.invoiceId),
      price_amount: 19.99,
      pay_amount: 0.00666334,
      actually_paid: 0.00666334,
      outcome_amount: 0.00663002,
      purchase_id: expect.stringMatching(/^\d+$/),
      parent_payment_id: null,
      payin_extra_id: null,
      fee: { currency: 'eth', depositFee: 0, serviceFee: 0.00003332, withdrawalFee: 0 },
      updated_at: expect.any(Number),
    });
    // The body is the very text NowPayments signs, so the raw-body check matches as well as the sorted one.
    expect(receiver.received[4]!.rawBody).toBe(JSON.stringify(body));
  });

  it('pays half: waiting → confirming → partially_paid with half the amount', async () => {
    const invoice = await newInvoice(1999n);
    await simulator.pay(invoice.invoiceId, { fraction: '0.5' });
    expect(statusesReceived()).toEqual(['waiting', 'confirming', 'partially_paid']);
    expect(receiver.received[2]!.payment).toMatchObject({
      status: 'partially_paid',
      payAmount: '0.00666334',
      actuallyPaid: '0.00333167',
      outcomeAmount: '0.00331501',
    });
  });

  it('overpays by 20 %: finished with 1.2 times the amount', async () => {
    const invoice = await newInvoice(1999n);
    await simulator.pay(invoice.invoiceId, { fraction: '1.2' });
    expect(statusesReceived().at(-1)).toBe('finished');
    expect(receiver.received.at(-1)!.payment).toMatchObject({ payAmount: '0.00666334', actuallyPaid: '0.007996' });
  });

  it('pays in USDT on Tron and settles in the merchant outcome currency', async () => {
    const invoice = await newInvoice(1999n);
    await simulator.pay(invoice.invoiceId, { payCurrency: 'usdttrc20' });
    // 19.99 USDT is 0.00666333 ETH (rounded down), minus 0.5 %: 0.00003332.
    expect(receiver.received.at(-1)!.payment).toMatchObject({
      payCurrency: 'usdttrc20',
      payAmount: '19.99',
      actuallyPaid: '19.99',
      outcomeCurrency: 'eth',
      outcomeAmount: '0.00663001',
      payAddress: expect.stringMatching(/^T[1-9A-HJ-NP-Za-km-z]{33}$/),
    });
  });

  it('ends in a chosen final status', async () => {
    const invoice = await newInvoice(1999n);
    const payment = await simulator.pay(invoice.invoiceId, { finalStatus: 'failed' });
    expect(statusesReceived()).toEqual(['waiting', 'confirming', 'failed']);
    expect(payment.status).toBe('failed');
  });

  it('sends the sequence backwards and each IPN twice when asked, keeping updated_at in processing order', async () => {
    const invoice = await newInvoice(1999n);
    const payment = await simulator.pay(invoice.invoiceId, { order: 'reverse', repeatEachIpn: 2 });
    expect(statusesReceived()).toEqual([
      'finished', 'finished', 'sending', 'sending', 'confirmed', 'confirmed', 'confirming', 'confirming', 'waiting', 'waiting',
    ]);
    const times = receiver.received.map((ipn) => ipn.payment.updatedAt!.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(receiver.received[0]!.rawBody).toBe(receiver.received[1]!.rawBody);
    expect(payment.status).toBe('finished');
  });

  it('loses every IPN when asked, and GET /v1/payment/{id} still shows the payment finished', async () => {
    const invoice = await newInvoice(1999n);
    const payment = await simulator.pay(invoice.invoiceId, { deliverIpn: false });
    expect(receiver.received).toHaveLength(0);
    const retrieved = await client().retrievePayment(payment.paymentId);
    expect(retrieved).toMatchObject({
      paymentId: payment.paymentId,
      invoiceId: invoice.invoiceId,
      status: 'finished',
      orderId: invoice.orderId,
      priceAmount: '19.99',
      payAmount: '0.00666334',
      actuallyPaid: '0.00666334',
      outcomeAmount: '0.00663002',
      createdAt: new Date('2026-03-01T11:59:56Z'),
      updatedAt: new Date('2026-03-01T12:00:00Z'),
    });
  });

  it('writes amounts in exponent form when asked, and they still read exactly and verify', async () => {
    const invoice = await newInvoice(1n); // 0.01 USD
    await simulator.pay(invoice.invoiceId, { useExponentNotation: true });
    const finished = receiver.received.at(-1)!;
    expect(finished.rawBody).toContain('"pay_amount":3.34e-6');
    expect(finished.rawBody).toContain('"price_amount":1e-2');
    expect(finished.payment).toMatchObject({ priceAmount: '0.01', payAmount: '0.00000334', actuallyPaid: '0.00000334' });
  });

  it('writes tiny amounts the way JavaScript does (1e-7) by default', async () => {
    const tiny = await startNowPaymentsSimulator({ apiKey: API_KEY, ipnSecret: IPN_SECRET, usdPerCoin: { eth: '100000' } });
    try {
      const invoice = await createNowPaymentsClient({ apiUrl: tiny.apiUrl, apiKey: API_KEY }).createInvoice({
        priceCents: 1n,
        orderId: 'chk_tiny',
        orderDescription: 'tiny',
        ipnCallbackUrl: receiver.url,
        successUrl: 'https://t.me/x',
        cancelUrl: 'https://t.me/x',
      });
      await tiny.pay(invoice.invoiceId);
      // 0.01 / 100000 = 0.0000001 ETH, which JSON.stringify writes as 1e-7.
      expect(receiver.received.at(-1)!.rawBody).toContain('"pay_amount":1e-7');
      expect(receiver.received.at(-1)!.payment.payAmount).toBe('0.0000001');
    } finally {
      await tiny.close();
    }
  });

  it('expires an invoice: waiting → expired with nothing paid', async () => {
    const invoice = await newInvoice(1999n);
    await simulator.expire(invoice.invoiceId);
    expect(statusesReceived()).toEqual(['waiting', 'expired']);
    expect(receiver.received[1]!.payment).toMatchObject({ status: 'expired', actuallyPaid: '0' });
  });

  it('resends the latest status and records what the callback answered', async () => {
    const invoice = await newInvoice(1999n);
    const payment = await simulator.pay(invoice.invoiceId, { fraction: '0.5' });
    receiver.received.length = 0;
    receiver.answerWith(503);
    expect(await simulator.resendIpn(payment.paymentId)).toBe(503);
    expect(statusesReceived()).toEqual(['partially_paid']);
    expect(simulator.ipnDeliveries.at(-1)).toEqual({ paymentId: payment.paymentId, status: 'partially_paid', httpStatus: 503 });
  });

  it('records 0 for a callback that cannot be reached', async () => {
    const invoice = await newInvoice(1999n, { ipnCallbackUrl: 'http://127.0.0.1:1/ipn' });
    const payment = await simulator.pay(invoice.invoiceId);
    expect(simulator.ipnDeliveries.filter((delivery) => delivery.paymentId === payment.paymentId).map((delivery) => delivery.httpStatus)).toEqual([0, 0, 0, 0, 0]);
  });

  it('refuses an unknown invoice and invalid options', async () => {
    await expect(simulator.pay('1')).rejects.toThrow(/not found/);
    const invoice = await newInvoice(1999n);
    await expect(simulator.pay(invoice.invoiceId, { fraction: '-1' })).rejects.toThrow();
    await expect(simulator.pay(invoice.invoiceId, { payCurrency: 'doge' })).rejects.toThrow(/not supported/);
  });
});

describe('NowPayments simulator pages and sandbox endpoints', () => {
  it('serves a plain invoice page with the price, the address and the four buttons', async () => {
    const invoice = await newInvoice(1999n);
    const response = await fetch(invoice.invoiceUrl);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('19.99 USD');
    expect(html).toContain('0.00666334 ETH');
    expect(html).toMatch(/0x[0-9a-f]{40}/);
    for (const label of ['Pay in full', 'Pay half', 'Overpay 20 %', 'Let it expire']) expect(html).toContain(label);
    expect(html).toContain(`action="/sandbox/invoices/${invoice.invoiceId}/pay"`);
    expect(html).not.toMatch(/<script|https?:\/\/(?!t\.me)/);
  });

  it('pays from the page form and shows the resulting status', async () => {
    const invoice = await newInvoice(1999n);
    const posted = await fetch(`${simulator.url}/sandbox/invoices/${invoice.invoiceId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'fraction=0.5',
      redirect: 'manual',
    });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe(`/invoice/${invoice.invoiceId}`);
    expect(statusesReceived()).toEqual(['waiting', 'confirming', 'partially_paid']);
    const html = await (await fetch(`${simulator.url}/invoice/${invoice.invoiceId}`)).text();
    expect(html).toContain('<strong>partially_paid</strong>');
    expect(html).toContain('partially_paid → 200');
  });

  it('takes JSON payment options from other processes and lists invoices', async () => {
    const invoice = await newInvoice(1999n);
    const response = await fetch(`${simulator.url}/sandbox/invoices/${invoice.invoiceId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fraction: '1', repeatEachIpn: 2 }),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { payment: { status: string; paymentId: string }; ipnDeliveries: unknown[] };
    expect(answer.payment.status).toBe('finished');
    expect(answer.ipnDeliveries).toHaveLength(10);

    const expired = await fetch(`${simulator.url}/sandbox/invoices/${invoice.invoiceId}/expire`, { method: 'POST' });
    expect(expired.status).toBe(200);

    const list = (await (await fetch(`${simulator.url}/sandbox/invoices`)).json()) as {
      invoices: { id: string; payments: { status: string }[] }[];
    };
    const listed = list.invoices.find((item) => item.id === invoice.invoiceId);
    expect(listed?.payments.map((payment) => payment.status)).toEqual(['finished', 'expired']);
  });

  it('refuses unknown JSON options with 400', async () => {
    const invoice = await newInvoice(1999n);
    const response = await fetch(`${simulator.url}/sandbox/invoices/${invoice.invoiceId}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fraction: 1 }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'INVALID_REQUEST_PARAMS' });
  });
});

describe('with a state file', () => {
  let folder = '';
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'pgp-nowpayments-state-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('knows its invoices, payments and IPN history again after a restart, and pays an invoice made before it', async () => {
    const stateFile = path.join(folder, 'nowpayments.json');
    const first = await startNowPaymentsSimulator({ apiKey: API_KEY, ipnSecret: IPN_SECRET, clock, stateFile });
    const firstClient = createNowPaymentsClient({ apiUrl: first.apiUrl, apiKey: API_KEY, sleep: async () => {} });
    const invoiceInput = { orderDescription: 'Subscription - 30 days', ipnCallbackUrl: receiver.url, successUrl: 'https://t.me/paygate_bot', cancelUrl: 'https://t.me/paygate_bot' };
    const paidBefore = await firstClient.createInvoice({ ...invoiceInput, priceCents: 1999n, orderId: 'chk_paid_before' });
    const openBefore = await firstClient.createInvoice({ ...invoiceInput, priceCents: 2499n, orderId: 'chk_open_before' });
    const payment = await first.pay(paidBefore.invoiceId);
    await first.close(); // a kill -9 would lose nothing more: every change was written when it happened

    const second = await startNowPaymentsSimulator({ apiKey: API_KEY, ipnSecret: IPN_SECRET, clock, stateFile });
    const secondClient = createNowPaymentsClient({ apiUrl: second.apiUrl, apiKey: API_KEY, sleep: async () => {} });
    try {
      expect(second.invoices().map((invoice) => invoice.orderId)).toEqual(['chk_paid_before', 'chk_open_before']);
      expect(second.ipnDeliveries.filter((delivery) => delivery.paymentId === payment.paymentId)).toHaveLength(5);
      expect(await secondClient.retrievePayment(payment.paymentId)).toMatchObject({ paymentId: payment.paymentId, status: 'finished', orderId: 'chk_paid_before' });
      expect(second.payments()[0]).toEqual(payment);

      receiver.received.length = 0;
      const later = await second.pay(openBefore.invoiceId);
      expect(receiver.received.at(-1)?.payment).toMatchObject({ paymentId: later.paymentId, status: 'finished', orderId: 'chk_open_before' });
      // Ids keep growing: none handed out before the restart comes back.
      expect(BigInt(later.paymentId)).toBeGreaterThan(BigInt(payment.purchaseId));
    } finally {
      await second.close();
    }
  });

  it('sends an IPN the callback did not answer again after each retry delay, then gives it up and goes on with the next', async () => {
    const retrying = await startNowPaymentsSimulator({ apiKey: API_KEY, ipnSecret: IPN_SECRET, clock, ipnRetryDelaysMs: [10] });
    try {
      const retryingClient = createNowPaymentsClient({ apiUrl: retrying.apiUrl, apiKey: API_KEY, sleep: async () => {} });
      const invoiceInput = { orderDescription: 'Subscription - 30 days', ipnCallbackUrl: receiver.url, successUrl: 'https://t.me/paygate_bot', cancelUrl: 'https://t.me/paygate_bot' };
      const invoice = await retryingClient.createInvoice({ ...invoiceInput, priceCents: 1999n, orderId: 'chk_given_up' });
      receiver.answerWith(503);
      const payment = await retrying.pay(invoice.invoiceId); // returns at the first unanswered IPN; the rest goes on behind it
      const sent = () => retrying.ipnDeliveries.filter((delivery) => delivery.paymentId === payment.paymentId).map((delivery) => `${delivery.status}:${delivery.httpStatus}`);
      await expect.poll(() => sent().length, { timeout: 5_000 }).toBe(10);
      const statuses = ['waiting', 'confirming', 'confirmed', 'sending', 'finished'];
      expect(sent()).toEqual(statuses.flatMap((status) => [`${status}:503`, `${status}:503`]));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(sent()).toHaveLength(10); // given up: no more attempts
    } finally {
      await retrying.close();
    }
  });

  it('keeps the IPNs not yet answered in the state file, and after a restart sends them, in order, from the one it was retrying', async () => {
    const stateFile = path.join(folder, 'retries.json');
    const retrying = { apiKey: API_KEY, ipnSecret: IPN_SECRET, clock, stateFile, ipnRetryDelaysMs: [10, 60_000] };
    const first = await startNowPaymentsSimulator(retrying);
    const firstClient = createNowPaymentsClient({ apiUrl: first.apiUrl, apiKey: API_KEY, sleep: async () => {} });
    const invoiceInput = { orderDescription: 'Subscription - 30 days', ipnCallbackUrl: receiver.url, successUrl: 'https://t.me/paygate_bot', cancelUrl: 'https://t.me/paygate_bot' };
    const invoice = await firstClient.createInvoice({ ...invoiceInput, priceCents: 1999n, orderId: 'chk_retried' });
    receiver.answerWith(503); // the merchant is down
    const payment = await first.pay(invoice.invoiceId);
    await expect.poll(() => first.ipnDeliveries.filter((delivery) => delivery.paymentId === payment.paymentId).length, { timeout: 5_000 }).toBe(2);
    expect(first.unsentIpnCount).toBe(5);
    await first.close(); // dies waiting a minute before the third attempt at `waiting`

    receiver.received.length = 0;
    receiver.answerWith(200);
    const second = await startNowPaymentsSimulator(retrying);
    try {
      expect(second.resumeIpns()).toBe(1);
      await expect.poll(statusesReceived, { timeout: 5_000 }).toEqual(['waiting', 'confirming', 'confirmed', 'sending', 'finished']);
      await expect.poll(() => second.unsentIpnCount, { timeout: 5_000 }).toBe(0); // nothing left to send
      expect(second.resumeIpns()).toBe(0);
    } finally {
      await second.close();
    }
  });

  it('refuses to start from a state file it cannot read, instead of starting empty', async () => {
    const stateFile = path.join(folder, 'broken.json');
    writeFileSync(stateFile, '{"version":1,"lastId":');
    await expect(startNowPaymentsSimulator({ apiKey: API_KEY, ipnSecret: IPN_SECRET, stateFile })).rejects.toThrow(/--reset/);
  });
});
