import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../errors/index.js';
import { createLogger } from '../logging/index.js';
import { startChangeNowSimulator, type ChangeNowSimulator } from '../testing/simulators/changenow-simulator.js';
import { createChangeNowClient, type ChangeNowClient, type SwapPair } from './index.js';

const API_KEY = 'cn-test-key-3f9a1c7e5b2d';
const ETH_TO_USDT: SwapPair = { fromCurrency: 'eth', fromNetwork: 'eth', toCurrency: 'usdt', toNetwork: 'eth' };
const ETH_TO_ETH: SwapPair = { fromCurrency: 'eth', fromNetwork: 'eth', toCurrency: 'eth', toNetwork: 'eth' };
const OWNER = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';
const HOST = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

let sim: ChangeNowSimulator;
let client: ChangeNowClient;
const silent = createLogger({ write: () => undefined });
const instant = async () => undefined;

function makeClient(apiKey = API_KEY): ChangeNowClient {
  return createChangeNowClient({ apiUrl: sim.apiUrl, apiKey, sleep: instant, logger: silent });
}

/** A body as ChangeNow writes it: `fromAmount`/`toAmount` as JSON numbers, in exactly the form given. */
function rawAmounts(body: Record<string, unknown>): string {
  const field = ([key, value]: [string, unknown]) =>
    `${JSON.stringify(key)}:${(key === 'fromAmount' || key === 'toAmount') && typeof value === 'string' ? value : JSON.stringify(value)}`;
  return `{${Object.entries(body).map(field).join(',')}}`;
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  sim = await startChangeNowSimulator({
    apiKey: API_KEY,
    pollIntervalMs: 0,
    rates: { 'eth->usdt': '3000', 'eth->eth': '1' },
    spreadBps: 50,
    minAmounts: { 'eth->usdt': '0.0025' },
  });
  client = makeClient();
});
afterAll(async () => {
  await sim.close();
});

describe('minAmount', () => {
  it('returns the minimum as exact decimal text', async () => {
    await expect(client.minAmount(ETH_TO_USDT)).resolves.toEqual({ pair: ETH_TO_USDT, flow: 'standard', minAmount: '0.0025' });
  });

  it('refuses a pair ChangeNow does not trade with changenow_pair_inactive', async () => {
    const error = await caught(client.minAmount({ ...ETH_TO_USDT, toCurrency: 'xmr', toNetwork: 'xmr' }));
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).code).toBe('changenow_pair_inactive');
  });
});

describe('estimate', () => {
  it('keeps all 18 decimals of an ETH amount exactly', async () => {
    // 0.012345678901234567 × 1 × 0.995 = 0.012283950506728394165, floored at 18 decimals.
    const estimate = await client.estimate(ETH_TO_ETH, '0.012345678901234567');
    expect(estimate.fromAmount).toBe('0.012345678901234567');
    expect(estimate.toAmount).toBe('0.012283950506728394');
  });

  it('converts at the rate less the spread', async () => {
    // 0.0097 × 3000 × 0.995 = 28.9545
    await expect(client.estimate(ETH_TO_USDT, '0.0097')).resolves.toMatchObject({ toAmount: '28.9545', rateId: null });
  });

  it('classifies an amount below the minimum as changenow_amount_out_of_range', async () => {
    const error = await caught(client.estimate(ETH_TO_USDT, '0.001'));
    expect((error as PermanentError).code).toBe('changenow_amount_out_of_range');
    expect((error as PermanentError).context.providerCode).toBe('deposit_too_small');
  });

  it('refuses a malformed amount before sending anything', async () => {
    const error = await caught(client.estimate(ETH_TO_USDT, '1,5'));
    expect((error as PermanentError).code).toBe('invalid_exchange_request');
  });
});

describe('createExchange', () => {
  it('creates an exchange with a deposit address and the amounts asked for', async () => {
    const exchange = await client.createExchange({ pair: ETH_TO_USDT, fromAmount: '0.0097', address: OWNER, refundAddress: HOST });
    expect(exchange).toMatchObject({ pair: ETH_TO_USDT, fromAmount: '0.0097', toAmount: '28.9545', payoutAddress: OWNER, refundAddress: HOST });
    expect(exchange.payinAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
    const stored = sim.exchanges().find((e) => e.id === exchange.id);
    expect(stored?.expectedAmountFrom).toBe('0.0097');
  });

  it('turns a 400 not_valid_address into a permanent changenow_invalid_address', async () => {
    const error = await caught(client.createExchange({ pair: ETH_TO_USDT, fromAmount: '0.01', address: '0x1234', refundAddress: HOST }));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'changenow_invalid_address', context: { status: 400, providerCode: 'not_valid_address' } });
  });

  it('does not repeat the POST after a 500 that came after the exchange was created', async () => {
    const before = sim.exchanges().length;
    sim.failNext('POST /v2/exchange', 500, undefined, { afterHandling: true });
    const error = await caught(client.createExchange({ pair: ETH_TO_USDT, fromAmount: '0.01', address: OWNER, refundAddress: HOST }));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'changenow_unavailable', context: { mayHaveCreated: true, attempts: 1 } });
    expect(sim.exchanges().length).toBe(before + 1);
  });

  it('does not repeat the POST when the connection drops without an answer', async () => {
    const before = sim.exchanges().length;
    sim.failNext('POST /v2/exchange', 0, undefined, { afterHandling: true });
    const error = await caught(client.createExchange({ pair: ETH_TO_USDT, fromAmount: '0.01', address: OWNER, refundAddress: HOST }));
    expect(error).toMatchObject({ code: 'changenow_unavailable', context: { mayHaveCreated: true, attempts: 1 } });
    expect(sim.exchanges().length).toBe(before + 1);
  });

  it('repeats the POST after a 5xx when the caller opts in with isRetrySafe', async () => {
    const before = sim.exchanges().length;
    sim.failNext('POST /v2/exchange', 502, undefined, { afterHandling: true });
    const exchange = await client.createExchange({ pair: ETH_TO_USDT, fromAmount: '0.01', address: OWNER, refundAddress: HOST, isRetrySafe: true });
    // The first exchange exists too, unfunded: harmless as long as only the returned one is ever funded.
    expect(sim.exchanges().length).toBe(before + 2);
    expect(sim.exchanges().at(-1)?.id).toBe(exchange.id);
  });

  it('repeats the POST after a 429, which ChangeNow refuses before doing any work', async () => {
    const before = sim.exchanges().length;
    sim.failNext('POST /v2/exchange', 429, { error: 'too_many_requests', message: 'Too many requests' });
    await client.createExchange({ pair: ETH_TO_USDT, fromAmount: '0.01', address: OWNER, refundAddress: HOST });
    expect(sim.exchanges().length).toBe(before + 1);
  });

  it('refuses to trust an answer that names another payout address', async () => {
    sim.failNext('POST /v2/exchange', 200, {
      id: 'abcdef12345678', payinAddress: '0x1111111111111111111111111111111111111111', payoutAddress: HOST,
      fromAmount: 0.01, toAmount: 29.85, fromCurrency: 'eth', toCurrency: 'usdt',
    });
    const error = await caught(client.createExchange({ pair: ETH_TO_USDT, fromAmount: '0.01', address: OWNER, refundAddress: HOST }));
    expect(error).toMatchObject({ code: 'changenow_exchange_mismatch', context: { exchangeId: 'abcdef12345678', fields: ['payoutAddress'] } });
  });

  /** ChangeNow's answer to POST /exchange as the API v2 writes it: amounts as JSON numbers, `payoutExtraId` the memo. */
  const answerWith = (fields: Record<string, unknown>) => ({
    id: 'abcdef12345679', payinAddress: '0x1111111111111111111111111111111111111111', payoutAddress: OWNER,
    fromCurrency: 'eth', toCurrency: 'eth', fromNetwork: 'eth', toNetwork: 'eth', toAmount: 0.0122, payinExtraId: '', payoutExtraId: '', ...fields,
  });

  // 0.123456789012345678 read as a double prints 0.12345678901234568.
  it.each([
    ['fewer decimals: the JSON number read as a double', '0.12345678901234568'],
    ['cut to 8 decimals', '0.12345678'],
    ['rounded to 8 decimals', '0.12345679'],
    ['trailing zeros', '0.1234567890123456780'],
    ['exponent form', '1.23456789012345678e-1'],
  ])('accepts an 18-decimal ETH fromAmount ChangeNow wrote with %s', async (_how, written) => {
    sim.failNext('POST /v2/exchange', 200, rawAmounts(answerWith({ fromAmount: written })));
    const exchange = await client.createExchange({ pair: ETH_TO_ETH, fromAmount: '0.123456789012345678', address: OWNER, refundAddress: HOST });
    expect(exchange.id).toBe('abcdef12345679');
  });

  it.each([
    ['another amount', '0.1234'],
    ['8 decimals that are not ours cut or rounded', '0.12345677'],
    ['the amount misread as base units', '123456789012345678'],
  ])('refuses a fromAmount that is %s', async (_how, written) => {
    sim.failNext('POST /v2/exchange', 200, rawAmounts(answerWith({ fromAmount: written })));
    const error = await caught(client.createExchange({ pair: ETH_TO_ETH, fromAmount: '0.123456789012345678', address: OWNER, refundAddress: HOST }));
    expect(error).toMatchObject({ code: 'changenow_exchange_mismatch', context: { exchangeId: 'abcdef12345679', fields: ['fromAmount'] } });
  });

  it.each([
    ['another memo than the one sent', '123456', '654321'],
    ['no memo although one was sent', '123456', ''],
    ['a memo although none was sent', undefined, '123456'],
  ])('refuses an answer with %s (funds without the right memo are lost)', async (_how, sent, answered) => {
    sim.failNext('POST /v2/exchange', 200, rawAmounts(answerWith({ fromAmount: '0.01', payoutExtraId: answered })));
    const error = await caught(
      client.createExchange({ pair: ETH_TO_ETH, fromAmount: '0.01', address: OWNER, refundAddress: HOST, ...(sent === undefined ? {} : { extraId: sent }) }),
    );
    expect(error).toMatchObject({ code: 'changenow_exchange_mismatch', context: { fields: ['payoutExtraId'] } });
  });

  it('accepts the memo sent, and an empty or missing one when none was sent', async () => {
    sim.failNext('POST /v2/exchange', 200, rawAmounts(answerWith({ fromAmount: '0.01', payoutExtraId: '123456' })));
    await expect(client.createExchange({ pair: ETH_TO_ETH, fromAmount: '0.01', address: OWNER, refundAddress: HOST, extraId: '123456' })).resolves.toBeDefined();
    sim.failNext('POST /v2/exchange', 200, rawAmounts(answerWith({ fromAmount: '0.01', payoutExtraId: null })));
    await expect(client.createExchange({ pair: ETH_TO_ETH, fromAmount: '0.01', address: OWNER, refundAddress: HOST })).resolves.toBeDefined();
    const { payoutExtraId: _dropped, ...withoutMemo } = answerWith({ fromAmount: '0.01' });
    sim.failNext('POST /v2/exchange', 200, rawAmounts(withoutMemo));
    await expect(client.createExchange({ pair: ETH_TO_ETH, fromAmount: '0.01', address: OWNER, refundAddress: HOST })).resolves.toBeDefined();
    // The simulator echoes the memo of a real create.
    const created = await client.createExchange({ pair: ETH_TO_ETH, fromAmount: '0.01', address: OWNER, refundAddress: HOST, extraId: '987' });
    expect(sim.exchanges().find((e) => e.id === created.id)?.payoutExtraId).toBe('987');
  });
});

describe('retrieveExchange', () => {
  it('reports each status as ChangeNow wrote it and keeps amountTo null until ChangeNow knows it', async () => {
    const created = await client.createExchange({ pair: ETH_TO_USDT, fromAmount: '0.0097', address: OWNER, refundAddress: HOST });
    const fresh = await client.retrieveExchange(created.id);
    expect(fresh).toMatchObject({ id: created.id, status: 'new', providerStatus: 'new', amountFrom: null, amountTo: null, expectedAmountTo: '28.9545' });

    sim.markDeposited(created.id, '0.012345678901234567');
    const seen: string[] = [];
    for (let round = 0; round < 6; round += 1) {
      await sim.advance();
      const status = await client.retrieveExchange(created.id);
      expect(status.status).toBe(status.providerStatus);
      seen.push(status.providerStatus);
      if (status.status !== 'finished') expect(status.amountTo).toBeNull();
    }
    expect(seen).toEqual(['waiting', 'confirming', 'exchanging', 'sending', 'finished', 'finished']);
    const done = await client.retrieveExchange(created.id);
    // 0.012345678901234567 × 3000 × 0.995 = 36.85185152018518249…, floored at USDT's 6 decimals.
    expect(done).toMatchObject({ status: 'finished', amountFrom: '0.012345678901234567', amountTo: '36.851851' });
    expect(done.payoutHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(done.payinHash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('retries a GET after a 500 and returns the answer', async () => {
    const created = await client.createExchange({ pair: ETH_TO_USDT, fromAmount: '0.01', address: OWNER, refundAddress: HOST });
    sim.failNext('GET /v2/exchange/by-id', 500);
    sim.failNext('GET /v2/exchange/by-id', 503);
    await expect(client.retrieveExchange(created.id)).resolves.toMatchObject({ id: created.id, status: 'new' });
  });

  it('gives up after the attempts run out with a transient changenow_unavailable', async () => {
    for (let i = 0; i < 3; i += 1) sim.failNext('GET /v2/exchange/by-id', 500);
    const error = await caught(client.retrieveExchange('abcdef12345678'));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'changenow_unavailable', context: { attempts: 3, status: 500 } });
  });

  it('classifies an unknown id as changenow_exchange_not_found', async () => {
    const error = await caught(client.retrieveExchange('00000000000000'));
    expect(error).toMatchObject({ code: 'changenow_exchange_not_found' });
  });

  it('reports an unknown ChangeNow status as unknown, keeping the raw value', async () => {
    const created = await client.createExchange({ pair: ETH_TO_USDT, fromAmount: '0.01', address: OWNER, refundAddress: HOST });
    const body = { id: created.id, status: 'overdue', fromCurrency: 'eth', fromNetwork: 'eth', toCurrency: 'usdt', toNetwork: 'eth', payinAddress: created.payinAddress, payoutAddress: OWNER, amountFrom: null, amountTo: null };
    sim.failNext('GET /v2/exchange/by-id', 200, body);
    await expect(client.retrieveExchange(created.id)).resolves.toMatchObject({ status: 'unknown', providerStatus: 'overdue' });
  });

  it('treats an answer about another exchange as a bad response', async () => {
    const body = { id: 'ffffffffffffff', status: 'finished', fromCurrency: 'eth', fromNetwork: 'eth', toCurrency: 'usdt', toNetwork: 'eth', payinAddress: 'x', payoutAddress: OWNER };
    sim.failNext('GET /v2/exchange/by-id', 200, body);
    const error = await caught(client.retrieveExchange('abcdef12345678'));
    expect(error).toMatchObject({ code: 'changenow_bad_response' });
  });

  it('never puts the API key into an error', async () => {
    const wrongKey = 'cn-wrong-key-9b8c7d6e5f4a';
    const unauthorized = await caught(makeClient(wrongKey).retrieveExchange('abcdef12345678'));
    expect(unauthorized).toMatchObject({ code: 'changenow_unauthorized', context: { status: 401 } });

    sim.failNext('GET /v2/exchange/by-id', 400, { error: 'not_valid_params', message: `bad request with key ${API_KEY}` });
    const echoed = await caught(client.retrieveExchange('abcdef12345678'));
    expect(echoed).toMatchObject({ code: 'changenow_invalid_request' });

    for (const error of [unauthorized, echoed]) {
      const text = JSON.stringify({ message: error.message, context: (error as PermanentError).context, stack: error.stack });
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(wrongKey);
    }
  });
});
