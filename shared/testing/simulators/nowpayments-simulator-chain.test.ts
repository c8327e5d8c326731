import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, JsonRpcProvider, Wallet, parseUnits } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNowPaymentsClient } from '../../nowpayments/index.js';
import { type Anvil, startAnvil } from './anvil.js';
import { startNowPaymentsSimulator, type NowPaymentsSimulator } from './nowpayments-simulator.js';
import { deployUsdtLikeToken, topUpUsdtLikeToken, USDT_LIKE_TOKEN_ABI } from './usdt-token.js';

const API_KEY = 'sim-chain-api-key';
const IPN_SECRET = 'sim-chain-ipn-secret';

/**
 * The simulator's on-chain settlement: NowPayments pays each outcome into the merchant's wallet
 * before it reports the payment, exactly once, across a restart too.
 */
describe('NowPayments simulator paying outcomes on chain', () => {
  let anvil: Anvil;
  let provider: JsonRpcProvider;
  let tokenAddress: string;
  const payerKey = () => anvil.accounts[8]!.privateKey;
  // What the merchant's wallet held when each IPN arrived, by status.
  const balancesAtIpn: { status: string; wei: bigint }[] = [];
  let ipnUrl = '';
  let outcomeWallet = '';
  const ipnServer = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const status = (JSON.parse(body) as { payment_status: string }).payment_status;
      void provider.getBalance(outcomeWallet).then((wei) => {
        balancesAtIpn.push({ status, wei });
        response.writeHead(200).end('{}');
      });
    });
  });

  beforeAll(async () => {
    anvil = await startAnvil();
    provider = new JsonRpcProvider(anvil.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 100 });
    ({ address: tokenAddress } = await deployUsdtLikeToken(anvil.rpcUrl, anvil.accounts[9]!.privateKey));
    await topUpUsdtLikeToken(anvil.rpcUrl, tokenAddress, anvil.accounts[9]!.privateKey, anvil.accounts[8]!.address, 10n ** 12n);
    await new Promise<void>((resolve) => ipnServer.listen(0, '127.0.0.1', resolve));
    ipnUrl = `http://127.0.0.1:${(ipnServer.address() as AddressInfo).port}/ipn`;
  }, 60_000);
  afterAll(async () => {
    ipnServer.close();
    provider?.destroy();
    await anvil?.stop();
  });

  async function invoiceOn(simulator: NowPaymentsSimulator): Promise<string> {
    const client = createNowPaymentsClient({ apiUrl: simulator.apiUrl, apiKey: API_KEY, sleep: async () => {} });
    const invoice = await client.createInvoice({
      priceCents: 1999n,
      orderId: `chk_${Math.random().toString(36).slice(2)}`,
      orderDescription: 'Subscription',
      ipnCallbackUrl: ipnUrl,
      successUrl: 'https://t.me/paygate_bot',
      cancelUrl: 'https://t.me/paygate_bot',
    });
    return invoice.invoiceId;
  }

  const start = (extra: { stateFile?: string; outcomeCurrency?: string } = {}) =>
    startNowPaymentsSimulator({
      apiKey: API_KEY,
      ipnSecret: IPN_SECRET,
      outcomeCurrency: extra.outcomeCurrency,
      stateFile: extra.stateFile,
      chain: { rpcUrl: anvil.rpcUrl, payerPrivateKey: payerKey(), outcomeWallet, usdtContract: tokenAddress },
    });

  it('pays exactly the outcome of a finished payment into the outcome wallet, mined before the first IPN', async () => {
    outcomeWallet = Wallet.createRandom().address;
    balancesAtIpn.length = 0;
    const simulator = await start();
    try {
      const payment = await simulator.pay(await invoiceOn(simulator));
      const outcome = parseUnits(payment.outcomeAmount, 18);
      expect(await provider.getBalance(outcomeWallet)).toBe(outcome);
      expect(payment.outcomeTxHash).toMatch(/^0x[0-9a-f]{64}$/);
      const transaction = await provider.getTransaction(payment.outcomeTxHash ?? '');
      expect(transaction?.from).toBe(anvil.accounts[8]!.address);
      expect(balancesAtIpn.map((ipn) => ipn.status)).toEqual(['waiting', 'confirming', 'confirmed', 'sending', 'finished']);
      for (const ipn of balancesAtIpn) expect(ipn.wei).toBe(outcome);

      // A repeated IPN pays nothing again.
      await simulator.resendIpn(payment.paymentId);
      expect(await provider.getBalance(outcomeWallet)).toBe(outcome);
    } finally {
      await simulator.close();
    }
  });

  it('pays the outcome of a partial payment, and nothing for a failed or expired one', async () => {
    outcomeWallet = Wallet.createRandom().address;
    const simulator = await start();
    try {
      const partial = await simulator.pay(await invoiceOn(simulator), { fraction: '0.5' });
      expect(partial.status).toBe('partially_paid');
      await simulator.pay(await invoiceOn(simulator), { finalStatus: 'failed' });
      await simulator.expire(await invoiceOn(simulator));
      expect(await provider.getBalance(outcomeWallet)).toBe(parseUnits(partial.outcomeAmount, 18));
    } finally {
      await simulator.close();
    }
  });

  it('pays a usdterc20 outcome in the token, rounded down to its 6 decimals', async () => {
    outcomeWallet = Wallet.createRandom().address;
    const simulator = await start({ outcomeCurrency: 'usdterc20' });
    try {
      const payment = await simulator.pay(await invoiceOn(simulator));
      const token = new Contract(tokenAddress, USDT_LIKE_TOKEN_ABI, provider);
      const [whole, fraction = ''] = payment.outcomeAmount.split('.');
      expect(await token.getFunction('balanceOf')(outcomeWallet)).toBe(parseUnits(`${whole}.${fraction.slice(0, 6) || '0'}`, 6));
      expect(await provider.getBalance(outcomeWallet)).toBe(0n);
    } finally {
      await simulator.close();
    }
  });

  it('keeps the signed outcome across a restart and sends those same bytes once, even after the node dropped them', async () => {
    outcomeWallet = Wallet.createRandom().address;
    balancesAtIpn.length = 0;
    const folder = await mkdtemp(path.join(tmpdir(), 'pgp-np-chain-'));
    const stateFile = path.join(folder, 'nowpayments.json');
    await provider.send('evm_setAutomine', [false]);
    try {
      const first = await start({ stateFile });
      const invoiceId = await invoiceOn(first);
      const paying = first.pay(invoiceId);
      let signedHash: string | undefined;
      for (let i = 0; i < 100 && !signedHash; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { payments: { outcomeTransfer?: { txHash?: string } }[] };
        signedHash = state.payments[0]?.outcomeTransfer?.txHash;
      }
      expect(signedHash).toBeDefined();
      await first.close(); // "killed" with the transfer in the mempool and no IPN sent
      await paying.catch(() => undefined);
      expect(balancesAtIpn).toEqual([]);
      await provider.send('anvil_dropTransaction', [signedHash]);

      const second = await start({ stateFile });
      try {
        expect(second.resumeIpns()).toBe(1);
        for (let i = 0; i < 100 && (await provider.getTransaction(signedHash ?? '')) === null; i++) await new Promise((resolve) => setTimeout(resolve, 50));
        await provider.send('evm_mine', []);
        for (let i = 0; i < 100 && balancesAtIpn.length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 50));
        const payment = second.payments()[0];
        const outcome = parseUnits(payment?.outcomeAmount ?? '0', 18);
        expect(payment?.outcomeTxHash).toBe(signedHash);
        expect(await provider.getBalance(outcomeWallet)).toBe(outcome);
        expect(balancesAtIpn.map((ipn) => ipn.wei)).toEqual(Array(5).fill(outcome));
      } finally {
        await second.close();
      }
    } finally {
      await provider.send('evm_setAutomine', [true]);
      await rm(folder, { recursive: true, force: true });
    }
  });
});
