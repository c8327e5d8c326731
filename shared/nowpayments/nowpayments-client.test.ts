import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../logging/index.js';
import { startNowPaymentsSimulator, type NowPaymentsSimulator } from '../testing/simulators/nowpayments-simulator.js';
import { createNowPaymentsClient, type CreateInvoiceInput, type NowPaymentsClientOptions } from './nowpayments-client.js';

const API_KEY = 'np-client-test-key-0123456789';
const IPN_SECRET = 'np-client-test-ipn-secret';

let simulator: NowPaymentsSimulator;
beforeAll(async () => {
  simulator = await startNowPaymentsSimulator({ apiKey: API_KEY, ipnSecret: IPN_SECRET });
});
afterAll(() => simulator.close());

const invoiceInput = (overrides: Partial<CreateInvoiceInput> = {}): CreateInvoiceInput => ({
  priceCents: 1999n,
  orderId: 'chk_Ehz5dX8hQSeMc0Q8m0Q2Xw',
  orderDescription: 'Subscription - 30 days',
  ipnCallbackUrl: 'https://gateway.example/nowpayments-ipn',
  successUrl: 'https://t.me/paygate_bot',
  cancelUrl: 'https://t.me/paygate_bot',
  ...overrides,
});

/** Wraps the real fetch: records each request, and answers the first `failures` calls with `failure` instead. */
function recordingFetch(options: { failures?: number; failure?: () => Response } = {}) {
  const requests: { url: string; method: string; body: string | undefined; headers: Record<string, string> }[] = [];
  const impl = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({
      url: String(url),
      method: init?.method ?? 'GET',
      body: typeof init?.body === 'string' ? init.body : undefined,
      headers: { ...(init?.headers as Record<string, string>) },
    });
    if (requests.length <= (options.failures ?? 0) && options.failure) return options.failure();
    return fetch(url, init);
  });
  return { fetch: impl as unknown as typeof fetch, requests };
}

const clientWith = (overrides: Partial<NowPaymentsClientOptions> = {}) =>
  createNowPaymentsClient({
    apiUrl: simulator.apiUrl,
    apiKey: API_KEY,
    sleep: async () => {},
    logger: createLogger({ write: () => {} }),
    ...overrides,
  });

describe('createInvoice', () => {
  it('creates an invoice and returns its id and hosted page', async () => {
    const invoice = await clientWith().createInvoice(invoiceInput());
    expect(invoice).toEqual({
      invoiceId: expect.stringMatching(/^\d+$/),
      invoiceUrl: `${simulator.url}/invoice/${invoice.invoiceId}`,
      orderId: 'chk_Ehz5dX8hQSeMc0Q8m0Q2Xw',
      createdAt: expect.any(Date),
    });
    expect(simulator.invoices().find((item) => item.id === invoice.invoiceId)).toMatchObject({
      priceAmount: '19.99',
      priceCurrency: 'usd',
      orderId: 'chk_Ehz5dX8hQSeMc0Q8m0Q2Xw',
      ipnCallbackUrl: 'https://gateway.example/nowpayments-ipn',
      isFixedRate: false,
      isFeePaidByUser: false,
    });
  });

  it.each([
    [1999n, '19.99'],
    [1000n, '10'],
    [1n, '0.01'],
    [10n, '0.1'],
    [123456789n, '1234567.89'],
  ])('writes %s cents as the exact JSON number %s', async (priceCents, text) => {
    const { fetch, requests } = recordingFetch();
    await clientWith({ fetch }).createInvoice(invoiceInput({ priceCents }));
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe(`${simulator.apiUrl}/invoice`);
    expect(request!.headers['x-api-key']).toBe(API_KEY);
    expect(request!.body).toBe(
      `{"price_amount":${text},"price_currency":"usd","order_id":"chk_Ehz5dX8hQSeMc0Q8m0Q2Xw","order_description":"Subscription - 30 days",` +
        '"ipn_callback_url":"https://gateway.example/nowpayments-ipn","success_url":"https://t.me/paygate_bot",' +
        '"cancel_url":"https://t.me/paygate_bot","is_fixed_rate":false,"is_fee_paid_by_user":false}',
    );
  });

  it('escapes text fields as JSON strings', async () => {
    const { fetch, requests } = recordingFetch();
    await clientWith({ fetch }).createInvoice(invoiceInput({ orderDescription: 'Канал "VIP" \\ 30 days' }));
    expect(JSON.parse(requests[0]!.body!)).toMatchObject({ order_description: 'Канал "VIP" \\ 30 days' });
  });

  it('accepts an API base with a trailing slash', async () => {
    const invoice = await clientWith({ apiUrl: `${simulator.apiUrl}/` }).createInvoice(invoiceInput());
    expect(invoice.invoiceId).toMatch(/^\d+$/);
  });

  it('retries after a 503 and returns the invoice of the later attempt', async () => {
    const { fetch, requests } = recordingFetch({ failures: 1, failure: () => new Response('{"message":"Service Unavailable"}', { status: 503 }) });
    const invoice = await clientWith({ fetch }).createInvoice(invoiceInput());
    expect(requests).toHaveLength(2);
    expect(requests[0]!.body).toBe(requests[1]!.body);
    expect(invoice.invoiceId).toMatch(/^\d+$/);
  });

  it('does not retry a 400 and says which field NowPayments refused', async () => {
    const { fetch, requests } = recordingFetch();
    await expect(clientWith({ fetch }).createInvoice(invoiceInput({ ipnCallbackUrl: 'not a uri' }))).rejects.toMatchObject({
      name: 'PermanentError',
      code: 'nowpayments_rejected',
      context: { status: 400, providerCode: 'INVALID_REQUEST_PARAMS', providerMessage: 'ipn_callback_url must be a valid uri' },
    });
    expect(requests).toHaveLength(1);
  });

  it('reports a wrong API key as permanent, without the key in the error', async () => {
    const error = await clientWith({ apiKey: 'wrong-key-value-123456' })
      .createInvoice(invoiceInput())
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'PermanentError', code: 'nowpayments_rejected', context: { status: 403, providerCode: 'INVALID_API_KEY' } });
    expect(JSON.stringify(error)).not.toContain('wrong-key-value-123456');
  });

  it('keeps the API key out of a 401 error even when the provider echoes it', async () => {
    const echo = vi.fn(
      async () => new Response(JSON.stringify({ statusCode: 401, code: 'UNAUTHORIZED', message: `key ${API_KEY} is revoked` }), { status: 401 }),
    );
    const error = (await clientWith({ fetch: echo as unknown as typeof fetch })
      .createInvoice(invoiceInput())
      .catch((caught: unknown) => caught)) as { message: string; context: Record<string, unknown> };
    expect(echo).toHaveBeenCalledTimes(1);
    expect(error).toMatchObject({ name: 'PermanentError', code: 'nowpayments_rejected', context: { status: 401 } });
    expect(error.message).not.toContain(API_KEY);
    expect(JSON.stringify(error.context)).not.toContain(API_KEY);
  });

  it('treats an answer about another order as a bad response', async () => {
    const other = vi.fn(
      async () => new Response(JSON.stringify({ id: '1', invoice_url: 'https://nowpayments.io/payment/?iid=1', order_id: 'chk_other' }), { status: 200 }),
    );
    await expect(clientWith({ fetch: other as unknown as typeof fetch }).createInvoice(invoiceInput())).rejects.toMatchObject({
      name: 'TransientError',
      code: 'nowpayments_bad_response',
    });
  });

  it.each<[string, Partial<CreateInvoiceInput>]>([
    ['a zero price', { priceCents: 0n }],
    ['a negative price', { priceCents: -100n }],
    ['an empty order id', { orderId: '' }],
    ['an empty callback URL', { ipnCallbackUrl: '' }],
  ])('refuses %s without calling NowPayments', async (_name, overrides) => {
    const { fetch, requests } = recordingFetch();
    await expect(clientWith({ fetch }).createInvoice(invoiceInput(overrides))).rejects.toMatchObject({ code: 'invalid_invoice_request' });
    expect(requests).toHaveLength(0);
  });
});

describe('retrievePayment', () => {
  it('reads a payment the simulator settled without an IPN', async () => {
    const invoice = await clientWith().createInvoice(invoiceInput({ ipnCallbackUrl: 'http://127.0.0.1:1/ipn' }));
    const paid = await simulator.pay(invoice.invoiceId, { deliverIpn: false, payCurrency: 'btc' });
    const payment = await clientWith().retrievePayment(paid.paymentId);
    expect(payment).toMatchObject({
      paymentId: paid.paymentId,
      invoiceId: invoice.invoiceId,
      status: 'finished',
      orderId: 'chk_Ehz5dX8hQSeMc0Q8m0Q2Xw',
      priceAmount: '19.99',
      payCurrency: 'btc',
      payAmount: paid.payAmount,
      actuallyPaid: paid.actuallyPaid,
      outcomeAmount: paid.outcomeAmount,
      outcomeCurrency: 'eth',
    });
  });

  it('retries a GET after a 503', async () => {
    const invoice = await clientWith().createInvoice(invoiceInput());
    const paid = await simulator.pay(invoice.invoiceId, { deliverIpn: false });
    const { fetch, requests } = recordingFetch({ failures: 2, failure: () => new Response('', { status: 503 }) });
    await expect(clientWith({ fetch }).retrievePayment(paid.paymentId)).resolves.toMatchObject({ status: 'finished' });
    expect(requests).toHaveLength(3);
    expect(requests[2]!.url).toBe(`${simulator.apiUrl}/payment/${paid.paymentId}`);
  });

  it('reports an unknown payment as permanent', async () => {
    await expect(clientWith().retrievePayment('1')).rejects.toMatchObject({
      name: 'PermanentError',
      code: 'nowpayments_rejected',
      context: { status: 404 },
    });
  });

  it.each(['', 'abc', '12/../invoice', '1.5', ' 12'])('refuses the payment id %j without calling NowPayments', async (paymentId) => {
    const { fetch, requests } = recordingFetch();
    await expect(clientWith({ fetch }).retrievePayment(paymentId)).rejects.toMatchObject({ code: 'invalid_payment_id' });
    expect(requests).toHaveLength(0);
  });

  it('keeps long decimals from the answer exact', async () => {
    const answer = vi.fn(
      async () =>
        new Response(
          '{"payment_id":77,"payment_status":"finished","price_amount":19.99,"price_currency":"usd","pay_amount":0.123456789012345678,"actually_paid":1e-7,"pay_currency":"eth"}',
          { status: 200 },
        ),
    );
    await expect(clientWith({ fetch: answer as unknown as typeof fetch }).retrievePayment('77')).resolves.toMatchObject({
      payAmount: '0.123456789012345678',
      actuallyPaid: '0.0000001',
    });
  });

  it('treats an answer about another payment, or no payment, as a bad response', async () => {
    const other = vi.fn(async () => new Response('{"payment_id":78,"payment_status":"finished","price_amount":1,"price_currency":"usd"}'));
    await expect(clientWith({ fetch: other as unknown as typeof fetch }).retrievePayment('77')).rejects.toMatchObject({
      name: 'TransientError',
      code: 'nowpayments_bad_response',
    });
    const broken = vi.fn(async () => new Response('{"payment_id":77}'));
    await expect(clientWith({ fetch: broken as unknown as typeof fetch }).retrievePayment('77')).rejects.toMatchObject({
      code: 'nowpayments_bad_response',
      context: { issues: expect.arrayContaining([{ path: 'payment_status', code: 'custom' }]) },
    });
  });
});

describe('createNowPaymentsClient', () => {
  it('refuses an API base that is not a URL and an empty key', () => {
    expect(() => createNowPaymentsClient({ apiUrl: 'api.nowpayments.io', apiKey: API_KEY })).toThrow(/apiUrl/);
    expect(() => createNowPaymentsClient({ apiUrl: 'https://api.nowpayments.io/v1', apiKey: '' })).toThrow(/apiKey/);
  });
});
