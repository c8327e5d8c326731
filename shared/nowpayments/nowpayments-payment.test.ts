import { describe, expect, it } from 'vitest';
import { parseJsonPreservingNumbers } from './json-preserving-numbers.js';
import { NOWPAYMENTS_STATUSES, isNowPaymentsStatus, parseNowPaymentsPayment } from './nowpayments-payment.js';

/** The `GET /v1/payment/{id}` example from the NowPayments API docs, plus the invoice fields an invoice payment has. */
const DOCS_PAYMENT = {
  payment_id: 5524759814,
  invoice_id: 4522625843,
  payment_status: 'finished',
  pay_address: 'TNDFkiSmBQorNFacb3735q8MnT29sn8BLn',
  price_amount: 5,
  price_currency: 'usd',
  pay_amount: 165.652609,
  actually_paid: 180,
  actually_paid_at_fiat: 0,
  pay_currency: 'trx',
  order_id: 'RGDBP-21314',
  order_description: 'Apple Macbook Pro 2019 x 1',
  purchase_id: '4944856743',
  created_at: '2020-12-16T14:30:43.306Z',
  updated_at: '2020-12-16T14:40:46.523Z',
  outcome_amount: 178.9005,
  outcome_currency: 'trx',
};

const invalidPayload = (fields: string[]) =>
  expect.objectContaining({ name: 'PermanentError', code: 'invalid_payment_payload', context: expect.objectContaining({ fields }) });

describe('parseNowPaymentsPayment', () => {
  it('reads the documented payment status answer', () => {
    expect(parseNowPaymentsPayment(DOCS_PAYMENT)).toEqual({
      paymentId: '5524759814',
      invoiceId: '4522625843',
      status: 'finished',
      rawStatus: 'finished',
      orderId: 'RGDBP-21314',
      orderDescription: 'Apple Macbook Pro 2019 x 1',
      priceAmount: '5',
      priceCurrency: 'usd',
      payAmount: '165.652609',
      actuallyPaid: '180',
      actuallyPaidAtFiat: '0',
      payCurrency: 'trx',
      payAddress: 'TNDFkiSmBQorNFacb3735q8MnT29sn8BLn',
      outcomeAmount: '178.9005',
      outcomeCurrency: 'trx',
      createdAt: new Date('2020-12-16T14:30:43.306Z'),
      updatedAt: new Date('2020-12-16T14:40:46.523Z'),
    });
  });

  it('reads a real-shaped IPN: epoch-millisecond updated_at, no created_at, null order description', () => {
    const ipn = parseJsonPreservingNumbers(
      '{"actually_paid":0,"actually_paid_at_fiat":0,"fee":{"currency":"btc","depositFee":0,"serviceFee":0,"withdrawalFee":0},"invoice_id":5781891653,"order_description":null,"order_id":"12355","outcome_amount":0.0001279,"outcome_currency":"btc","parent_payment_id":null,"pay_address":"TAE7Qgda22uudMCA85E3iuq94QUPGsJC2a","pay_amount":9.957785,"pay_currency":"usdttrc20","payin_extra_id":null,"payment_extra_ids":null,"payment_id":5629793529,"payment_status":"waiting","price_amount":10,"price_currency":"usd","purchase_id":"5395052836","updated_at":1719211088600}',
    );
    expect(parseNowPaymentsPayment(ipn)).toMatchObject({
      paymentId: '5629793529',
      invoiceId: '5781891653',
      status: 'waiting',
      orderId: '12355',
      orderDescription: null,
      priceAmount: '10',
      payAmount: '9.957785',
      payCurrency: 'usdttrc20',
      outcomeAmount: '0.0001279',
      createdAt: null,
      updatedAt: new Date(1719211088600),
    });
  });

  describe('amounts', () => {
    it.each<[string, unknown, string]>([
      ['an exponent string', '1e-7', '0.0000001'],
      ['an upper-case exponent string', '2.5E-8', '0.000000025'],
      ['a JSON number in exponent range', 1e-7, '0.0000001'],
      ['a tiny JSON number', 2.5e-8, '0.000000025'],
      ['trailing zeros', '2.50', '2.5'],
      ['a preserved long decimal', '0.123456789012345678', '0.123456789012345678'],
      ['36 decimals', `0.${'0'.repeat(35)}1`, `0.${'0'.repeat(35)}1`],
      ['a large exponent', '1.5e3', '1500'],
      ['an integer JSON number', 180, '180'],
      ['zero', 0, '0'],
      ['negative zero', '-0', '0'],
      ['a leading point', '.5', '0.5'],
    ])('canonicalises %s exactly', (_name, value, expected) => {
      expect(parseNowPaymentsPayment({ ...DOCS_PAYMENT, actually_paid: value }).actuallyPaid).toBe(expected);
    });

    it('keeps a long JSON decimal exact when the body is read with parseJsonPreservingNumbers', () => {
      const payload = parseJsonPreservingNumbers('{"payment_id":1,"payment_status":"finished","price_amount":0.123456789012345678,"price_currency":"USD"}');
      expect(parseNowPaymentsPayment(payload).priceAmount).toBe('0.123456789012345678');
    });

    it.each<[string, unknown]>([
      ['a negative number', -1],
      ['a negative string', '-0.5'],
      ['NaN text', 'NaN'],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['NaN', Number.NaN],
      ['an empty string', ''],
      ['a padded string', ' 1.5'],
      ['a grouped string', '1,5'],
      ['a hex string', '0x10'],
      ['37 decimals', `0.${'0'.repeat(36)}1`],
      ['a boolean', true],
      ['an object', { value: 1 }],
      ['an unsafe integer', 2 ** 60],
    ])('refuses %s, naming the field', (_name, value) => {
      expect(() => parseNowPaymentsPayment({ ...DOCS_PAYMENT, pay_amount: value })).toThrow(invalidPayload(['pay_amount']));
    });

    it('reads a missing or null optional amount as null', () => {
      const { pay_amount: _payAmount, ...withoutPayAmount } = DOCS_PAYMENT;
      expect(parseNowPaymentsPayment(withoutPayAmount).payAmount).toBeNull();
      expect(parseNowPaymentsPayment({ ...DOCS_PAYMENT, outcome_amount: null }).outcomeAmount).toBeNull();
    });
  });

  describe('statuses', () => {
    it.each(NOWPAYMENTS_STATUSES.map((status) => [status]))('maps %s to itself', (status) => {
      expect(parseNowPaymentsPayment({ ...DOCS_PAYMENT, payment_status: status })).toMatchObject({ status, rawStatus: status });
    });

    it.each([
      ['FINISHED', 'finished'],
      ['Partially_Paid', 'partially_paid'],
      ['wrong_asset_confirmed', 'unknown'],
      ['something_new', 'unknown'],
    ])('maps %s to %s, keeping the raw text', (raw, status) => {
      expect(parseNowPaymentsPayment({ ...DOCS_PAYMENT, payment_status: raw })).toMatchObject({ status, rawStatus: raw });
    });

    it('knows exactly the nine documented statuses', () => {
      expect(NOWPAYMENTS_STATUSES).toHaveLength(9);
      expect(isNowPaymentsStatus('finished')).toBe(true);
      expect(isNowPaymentsStatus('unknown')).toBe(false);
      expect(isNowPaymentsStatus(1)).toBe(false);
    });
  });

  it('lower-cases currencies', () => {
    expect(parseNowPaymentsPayment({ ...DOCS_PAYMENT, price_currency: 'USD', pay_currency: 'USDTTRC20', outcome_currency: 'ETH' })).toMatchObject({
      priceCurrency: 'usd',
      payCurrency: 'usdttrc20',
      outcomeCurrency: 'eth',
    });
  });

  it('keeps ids sent as digit strings and refuses other ids', () => {
    expect(parseNowPaymentsPayment({ ...DOCS_PAYMENT, payment_id: '5524759814' }).paymentId).toBe('5524759814');
    expect(() => parseNowPaymentsPayment({ ...DOCS_PAYMENT, payment_id: 'abc' })).toThrow(invalidPayload(['payment_id']));
    expect(() => parseNowPaymentsPayment({ ...DOCS_PAYMENT, payment_id: 1.5 })).toThrow(invalidPayload(['payment_id']));
    expect(() => parseNowPaymentsPayment({ ...DOCS_PAYMENT, invoice_id: -3 })).toThrow(invalidPayload(['invoice_id']));
  });

  it('refuses an unreadable timestamp', () => {
    expect(() => parseNowPaymentsPayment({ ...DOCS_PAYMENT, updated_at: 'yesterday' })).toThrow(invalidPayload(['updated_at']));
  });

  it('names every missing or bad field at once, without copying values', () => {
    let thrown: unknown;
    try {
      parseNowPaymentsPayment({ payment_status: 'finished', price_amount: 'secret-looking-value', price_currency: 7 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toEqual(invalidPayload(['payment_id', 'price_amount', 'price_currency']));
    expect(JSON.stringify(thrown)).not.toContain('secret-looking-value');
    expect((thrown as Error).message).toContain('payment_id, price_amount, price_currency');
  });

  it.each([[null], [[]], ['text'], [42]])('refuses %j as a payload', (payload) => {
    expect(() => parseNowPaymentsPayment(payload)).toThrow(expect.objectContaining({ code: 'invalid_payment_payload' }));
  });
});
