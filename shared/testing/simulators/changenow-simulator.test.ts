import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JsonRpcProvider, Wallet, parseEther } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil, type Anvil } from './anvil.js';
import { startChangeNowSimulator, type ChangeNowSimulator } from './changenow-simulator.js';
import { randomEvmAddress } from './changenow-simulator-pricing.js';

const API_KEY = 'sim-key-0123456789';
const HEADERS = { 'x-changenow-api-key': API_KEY, 'content-type': 'application/json' };
const OWNER = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';

async function createExchange(sim: ChangeNowSimulator, body: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${sim.apiUrl}/exchange`, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({ fromCurrency: 'eth', fromNetwork: 'eth', toCurrency: 'eth', toNetwork: 'eth', fromAmount: '0.01', address: OWNER, refundAddress: OWNER, flow: 'standard', type: 'direct', ...body }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('changenow simulator without a chain', () => {
  let sim: ChangeNowSimulator;
  beforeAll(async () => {
    sim = await startChangeNowSimulator({ apiKey: API_KEY, pollIntervalMs: 0, minAmounts: { 'eth->eth': '0.005' } });
  });
  afterAll(async () => sim.close());

  it('answers the documented shapes with amounts as JSON numbers', async () => {
    const response = await fetch(`${sim.apiUrl}/exchange/estimated-amount?fromCurrency=eth&toCurrency=usdt&fromNetwork=eth&toNetwork=eth&fromAmount=0.01&flow=standard&type=direct`, { headers: HEADERS });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).toContain('"toAmount":29.85');
    expect(text).toContain('"fromAmount":0.01');
  });

  it('refuses a request without the API key', async () => {
    const response = await fetch(`${sim.apiUrl}/exchange/min-amount?fromCurrency=eth&toCurrency=usdt`);
    expect(response.status).toBe(401);
    await expect(response.json()).resolves.toMatchObject({ error: 'unauthorized' });
  });

  it('stays waiting without a deposit', async () => {
    const { json } = await createExchange(sim, {});
    for (let i = 0; i < 5; i += 1) await sim.advance();
    expect(sim.exchanges().find((e) => e.id === json.id)).toMatchObject({ status: 'waiting', amountFrom: null, amountTo: null });
  });

  it('walks new → waiting → confirming → exchanging → sending → finished after markDeposited', async () => {
    const { json } = await createExchange(sim, {});
    const id = json.id as string;
    const seen = [sim.exchanges().find((e) => e.id === id)?.status];
    await sim.advance();
    sim.markDeposited(id, '0.01');
    for (let i = 0; i < 4; i += 1) {
      seen.push(sim.exchanges().find((e) => e.id === id)?.status);
      await sim.advance();
    }
    const done = sim.exchanges().find((e) => e.id === id);
    seen.push(done?.status);
    expect(seen).toEqual(['new', 'waiting', 'confirming', 'exchanging', 'sending', 'finished']);
    expect(done).toMatchObject({ amountFrom: '0.01', amountTo: '0.00995' });
  });

  it('ends failed when told to, and when the deposit is below the minimum', async () => {
    const told = (await createExchange(sim, {})).json.id as string;
    sim.setOutcome(told, 'failed');
    sim.markDeposited(told, '0.01');
    await expect(sim.advanceUntil(told, ['failed', 'finished'])).resolves.toMatchObject({ status: 'failed', amountTo: null, payoutHash: null });

    const small = (await createExchange(sim, {})).json.id as string;
    sim.markDeposited(small, '0.001');
    await expect(sim.advanceUntil(small, ['failed', 'finished'])).resolves.toMatchObject({ status: 'failed' });
  });

  it('has ChangeNow support refund a failed exchange after a few rounds, unless told to complete it or to wait', async () => {
    const failedRounds = async (id: string) => {
      await sim.advanceUntil(id, ['failed']);
      let rounds = 0;
      while (sim.exchanges().find((e) => e.id === id)?.status === 'failed' && rounds < 20) {
        await sim.advance();
        rounds += 1;
      }
      return rounds;
    };
    const refunded = (await createExchange(sim, {})).json.id as string;
    sim.setOutcome(refunded, 'failed');
    sim.markDeposited(refunded, '0.01');
    expect(await failedRounds(refunded)).toBe(6); // 5 rounds waiting for support, then the refund
    expect(sim.exchanges().find((e) => e.id === refunded)).toMatchObject({ status: 'refunded', refundAmount: '0.01', payoutHash: null });

    const completed = (await createExchange(sim, {})).json.id as string;
    sim.setOutcome(completed, 'failed', { support: 'finished' });
    sim.markDeposited(completed, '0.01');
    await failedRounds(completed);
    await expect(sim.advanceUntil(completed, ['finished'])).resolves.toMatchObject({ status: 'finished', amountTo: '0.00995', refundHash: null });

    const held = (await createExchange(sim, {})).json.id as string;
    sim.setOutcome(held, 'failed', { support: 'held' });
    sim.markDeposited(held, '0.01');
    expect(await failedRounds(held)).toBe(20);
    sim.settleBySupport(held, 'refunded');
    await sim.advance();
    expect(sim.exchanges().find((e) => e.id === held)).toMatchObject({ status: 'refunded', refundAmount: '0.01' });
  });

  it('ends refunded with the deposit as refundAmount', async () => {
    const id = (await createExchange(sim, {})).json.id as string;
    sim.setOutcome(id, 'refunded');
    sim.markDeposited(id, '0.0123');
    await expect(sim.advanceUntil(id, ['refunded', 'finished'])).resolves.toMatchObject({ status: 'refunded', refundAmount: '0.0123', payoutHash: null });
  });

  it('answers the documented error body for a bad address and a small amount', async () => {
    await expect(createExchange(sim, { address: 'nope' })).resolves.toMatchObject({ status: 400, json: { error: 'not_valid_address' } });
    await expect(createExchange(sim, { fromAmount: '0.001' })).resolves.toMatchObject({ status: 400, json: { error: 'out_of_range' } });
  });
});

describe('changenow simulator on anvil', () => {
  let anvil: Anvil;
  let sim: ChangeNowSimulator;
  let provider: JsonRpcProvider;
  beforeAll(async () => {
    anvil = await startAnvil();
    provider = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 100 });
    sim = await startChangeNowSimulator({
      apiKey: API_KEY,
      rpcUrl: anvil.rpcUrl,
      operatorKey: (anvil.accounts[9] as { privateKey: string }).privateKey,
      pollIntervalMs: 0,
      rates: { 'eth->eth': '1' },
      spreadBps: 50,
    });
  });
  afterAll(async () => {
    await sim?.close();
    provider?.destroy();
    await anvil?.stop();
  });

  it('pays the converted ETH to the payout address after a real deposit', async () => {
    const payout = randomEvmAddress();
    const { json } = await createExchange(sim, { address: payout, fromAmount: '0.0123456789' });
    const id = json.id as string;
    await sim.advanceUntil(id, ['waiting']);
    await sim.advance();
    expect(sim.exchanges().find((e) => e.id === id)?.status).toBe('waiting');

    const depositor = new Wallet((anvil.accounts[1] as { privateKey: string }).privateKey, provider);
    const deposit = await depositor.sendTransaction({ to: json.payinAddress as string, value: parseEther('0.0123456789') });
    await deposit.wait();

    const done = await sim.advanceUntil(id, ['finished', 'failed', 'refunded']);
    // 0.0123456789 × 0.995 = 0.0122839505055, exact in wei.
    expect(done).toMatchObject({ status: 'finished', amountFrom: '0.0123456789', amountTo: '0.0122839505055', payinHash: deposit.hash });
    expect(await provider.getBalance(payout)).toBe(parseEther('0.0122839505055'));
    const receipt = await provider.getTransactionReceipt(done.payoutHash as string);
    expect(receipt?.to).toBe(payout);
  });

  it('sends its payout again when the node dropped it, and pays once', async () => {
    const payout = randomEvmAddress();
    const { json } = await createExchange(sim, { address: payout, fromAmount: '0.01' });
    const id = json.id as string;
    await sim.advanceUntil(id, ['waiting']);
    const depositor = new Wallet((anvil.accounts[1] as { privateKey: string }).privateKey, provider);
    await (await depositor.sendTransaction({ to: json.payinAddress as string, value: parseEther('0.01') })).wait();
    await provider.send('evm_setAutomine', [false]);
    try {
      const sending = await sim.advanceUntil(id, ['sending']);
      await provider.send('anvil_dropTransaction', [sending.payoutHash]);
      expect(await provider.send('eth_getTransactionByHash', [sending.payoutHash])).toBeNull();
      await sim.advance(); // the node forgot it: sent again (same nonce and fees: possibly the very same bytes)
      const resent = sim.exchanges().find((e) => e.id === id);
      expect(await provider.send('eth_getTransactionByHash', [resent?.payoutHash])).not.toBeNull();
      await provider.send('evm_mine', []);
      const done = await sim.advanceUntil(id, ['finished', 'failed', 'refunded']);
      expect(done).toMatchObject({ status: 'finished', payoutHash: resent?.payoutHash });
      expect(await provider.getBalance(payout)).toBe(parseEther('0.00995'));
    } finally {
      await provider.send('evm_setAutomine', [true]);
    }
  });

  it('refunds the deposit to refundAddress on the chain', async () => {
    const refund = randomEvmAddress();
    const { json } = await createExchange(sim, { address: randomEvmAddress(), refundAddress: refund });
    const id = json.id as string;
    sim.setOutcome(id, 'refunded');
    const depositor = new Wallet((anvil.accounts[2] as { privateKey: string }).privateKey, provider);
    await (await depositor.sendTransaction({ to: json.payinAddress as string, value: parseEther('0.02') })).wait();
    const done = await sim.advanceUntil(id, ['finished', 'failed', 'refunded']);
    expect(done).toMatchObject({ status: 'refunded', refundAmount: '0.02' });
    expect(await provider.getBalance(refund)).toBe(parseEther('0.02'));
  });
});

describe('changenow simulator on anvil: support settles a failed exchange', () => {
  let anvil: Anvil;
  let sim: ChangeNowSimulator;
  let provider: JsonRpcProvider;
  beforeAll(async () => {
    anvil = await startAnvil();
    provider = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 100 });
    sim = await startChangeNowSimulator({
      apiKey: API_KEY,
      rpcUrl: anvil.rpcUrl,
      operatorKey: (anvil.accounts[9] as { privateKey: string }).privateKey,
      pollIntervalMs: 0,
      rates: { 'eth->eth': '1' },
      supportAfterRounds: 1,
    });
  });
  afterAll(async () => {
    await sim?.close();
    provider?.destroy();
    await anvil?.stop();
  });

  async function failedDeposit(refund: string, payout: string, support?: 'refunded' | 'finished'): Promise<string> {
    const { json } = await createExchange(sim, { address: payout, refundAddress: refund });
    const id = json.id as string;
    sim.setOutcome(id, 'failed', support ? { support } : undefined);
    const depositor = new Wallet((anvil.accounts[4] as { privateKey: string }).privateKey, provider);
    await (await depositor.sendTransaction({ to: json.payinAddress as string, value: parseEther('0.02') })).wait();
    await sim.advanceUntil(id, ['failed']);
    return id;
  }

  it('returns the deposit to refundAddress on the chain, and says refunded once that is mined', async () => {
    const refund = randomEvmAddress();
    const id = await failedDeposit(refund, randomEvmAddress());
    const done = await sim.advanceUntil(id, ['refunded', 'finished']);
    expect(done).toMatchObject({ status: 'refunded', refundAmount: '0.02', payoutHash: null });
    expect(await provider.getBalance(refund)).toBe(parseEther('0.02'));
  });

  it('completes the exchange when support does: pays the owner, nothing refunded', async () => {
    const refund = randomEvmAddress();
    const payout = randomEvmAddress();
    const id = await failedDeposit(refund, payout, 'finished');
    const done = await sim.advanceUntil(id, ['refunded', 'finished']);
    expect(done).toMatchObject({ status: 'finished', amountTo: '0.0199', refundHash: null });
    expect(await provider.getBalance(payout)).toBe(parseEther('0.0199'));
    expect(await provider.getBalance(refund)).toBe(0n);
  });
});

describe('changenow simulator with a state file', () => {
  let anvil: Anvil;
  let provider: JsonRpcProvider;
  let folder = '';
  const operator = () => (anvil.accounts[9] as { address: string; privateKey: string });
  const start = (stateFile: string) =>
    startChangeNowSimulator({ apiKey: API_KEY, rpcUrl: anvil.rpcUrl, operatorKey: operator().privateKey, pollIntervalMs: 0, rates: { 'eth->eth': '1' }, stateFile });
  beforeAll(async () => {
    anvil = await startAnvil();
    provider = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 100 });
    folder = await mkdtemp(path.join(tmpdir(), 'pgp-changenow-state-'));
  });
  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it('after a restart, finds a deposit made while it was down and finishes a payout in flight without sending it twice', async () => {
    const stateFile = path.join(folder, 'changenow.json');
    const first = await start(stateFile);
    const inFlight = (await createExchange(first, { address: randomEvmAddress(), fromAmount: '0.01' })).json;
    const waiting = (await createExchange(first, { address: randomEvmAddress(), fromAmount: '0.01' })).json;
    const depositor = new Wallet((anvil.accounts[3] as { privateKey: string }).privateKey, provider);
    await (await depositor.sendTransaction({ to: inFlight.payinAddress as string, value: parseEther('0.01') })).wait();
    const sending = await first.advanceUntil(inFlight.id as string, ['sending']);
    await first.advanceUntil(waiting.id as string, ['waiting']);
    await first.close();

    await (await depositor.sendTransaction({ to: waiting.payinAddress as string, value: parseEther('0.01') })).wait();

    const second = await start(stateFile);
    try {
      const resumed = await second.advanceUntil(inFlight.id as string, ['finished', 'failed', 'refunded']);
      expect(resumed).toMatchObject({ status: 'finished', payoutHash: sending.payoutHash, amountTo: '0.00995' });
      expect(await provider.getBalance(resumed.payoutAddress)).toBe(parseEther('0.00995')); // paid once, not twice
      const late = await second.advanceUntil(waiting.id as string, ['finished', 'failed', 'refunded']);
      expect(late).toMatchObject({ status: 'finished', amountFrom: '0.01' });
      expect(await provider.getBalance(late.payoutAddress)).toBe(parseEther('0.00995'));
    } finally {
      await second.close();
    }
  });
});
