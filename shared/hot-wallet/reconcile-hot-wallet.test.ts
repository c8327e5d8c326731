import { Contract, type JsonRpcProvider, Wallet, parseEther } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChain, createHotWallet, createJsonRpc, type SigningDeps } from '../chain/index.js';
import { createChainProvider } from '../testing/ethers-provider.js';
import type { ChangeNowClient } from '../changenow/index.js';
import { createLogger } from '../logging/index.js';
import { sendTransfer, trackPayout } from '../payouts/index.js';
import { type Anvil, startAnvil } from '../testing/simulators/anvil.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { insertChannel, insertPayment, insertPayout, movePayout } from '../testing/fixtures.js';
import { deployUsdtLikeToken, USDT_LIKE_TOKEN_ABI } from '../testing/simulators/usdt-token.js';
import { bookCapital, createHotWalletChain, describePosition, type HotWalletChain, type HotWalletTarget, reconcileHotWallet, verifyFunding } from './index.js';

const GWEI = 1_000_000_000n;
const MINUTE = 60_000;

/**
 * The hot wallet against the ledger on anvil, as one story on one wallet and database (the ledger's
 * hot_wallet accounts are shared): booked exactly, funds nobody booked, a payout transfer at each
 * step of its flight, a payment received before it is booked, and money leaving behind the
 * gateway's back.
 */
describe('reconcileHotWallet on anvil', () => {
  let anvil: Anvil;
  let database: TestDatabase;
  let provider: JsonRpcProvider;
  let chain: HotWalletChain;
  let target: HotWalletTarget;
  let hotWallet: Wallet;
  let payer: Wallet;
  let token: Contract;
  const clock = createFakeClock('2026-06-01T00:00:00Z');
  const logLines: string[] = [];
  const logger = createLogger({ write: (line) => logLines.push(line) });

  beforeAll(async () => {
    [anvil, database] = await Promise.all([startAnvil(), createTestDatabase()]);
    provider = createChainProvider(anvil.rpcUrl, { chainId: 31337n });
    chain = createHotWalletChain(createJsonRpc(anvil.rpcUrl));
    // A wallet of its own with a known float; the token deployed by another account, so the wallet's nonce is the gateway's.
    hotWallet = new Wallet(Wallet.createRandom().privateKey, provider);
    await provider.send('anvil_setBalance', [hotWallet.address, `0x${parseEther('100').toString(16)}`]);
    payer = new Wallet(anvil.accounts[5]!.privateKey, provider);
    const { address: tokenAddress } = await deployUsdtLikeToken(anvil.rpcUrl, anvil.accounts[9]!.privateKey);
    token = new Contract(tokenAddress, USDT_LIKE_TOKEN_ABI, new Wallet(anvil.accounts[9]!.privateKey, provider));
    target = { chainId: 31337n, address: hotWallet.address, tokenContracts: { USDT_ERC20: tokenAddress } };
  }, 60_000);
  afterAll(async () => {
    provider?.destroy();
    await Promise.all([anvil?.stop(), database?.dispose()]);
  });

  const reconcile = () => reconcileHotWallet({ db: database.db, clock, logger, chain, target });
  const asset = (result: Awaited<ReturnType<typeof reconcile>>, code: string) => result.position.assets.find((comparison) => comparison.asset === code);
  const alerts = async () =>
    (await database.db.query<{ alert: string; episode: string; message: string }>('SELECT alert, episode, message FROM operator_alerts ORDER BY id')).rows;

  async function send(from: Wallet, to: string, value: bigint): Promise<string> {
    const sent = await from.sendTransaction({ to, value });
    await sent.wait();
    return sent.hash;
  }

  it('matches to the wei once the float is booked as capital, and fails to before', async () => {
    const unbooked = await reconcile();
    expect(asset(unbooked, 'ETH')).toMatchObject({ verdict: 'surplus', unexplainedUnits: parseEther('100') });

    await bookCapital(database.db, { asset: 'ETH', units: parseEther('100'), direction: 'in', operator: 'ops', note: 'gas float', key: 'test-float', at: clock.now() });
    const booked = await reconcile();
    expect(asset(booked, 'ETH')).toMatchObject({ chainUnits: parseEther('100'), ledgerUnits: parseEther('100'), inFlightUnits: 0n, unexplainedUnits: 0n, verdict: 'matched' });
    expect(asset(booked, 'USDT_ERC20')).toMatchObject({ chainUnits: 0n, ledgerUnits: 0n, verdict: 'matched' });
    expect(booked.alerts).toEqual([]);
    expect(describePosition(booked.position).join('\n')).toContain('matched: every unit booked');
  });

  it('finds funds nobody booked, alerts once after an hour with how to book them, and matches once they are booked', async () => {
    const topUp = await send(payer, hotWallet.address, parseEther('0.5'));
    await (await token.getFunction('mint')(hotWallet.address, 12_500_000n)).wait();

    const young = await reconcile();
    expect(asset(young, 'ETH')).toMatchObject({ verdict: 'surplus', unexplainedUnits: parseEther('0.5') });
    expect(asset(young, 'USDT_ERC20')).toMatchObject({ verdict: 'surplus', unexplainedUnits: 12_500_000n });
    expect(young.alerts).toEqual([]);

    clock.advance(61 * MINUTE);
    const old = await reconcile();
    expect(old.alerts).toEqual(['hot_wallet.unbooked_funds', 'hot_wallet.unbooked_funds']);
    expect((await alerts())[0]?.message).toContain('npm run hot-wallet -- book-capital --asset ETH --amount 0.5');
    clock.advance(15 * MINUTE);
    expect((await reconcile()).alerts).toEqual([]); // the same episode: alerted once

    await expect(verifyFunding(chain, { txHash: topUp, asset: 'ETH', units: parseEther('0.4'), wallet: hotWallet.address })).rejects.toMatchObject({ code: 'funding_mismatch' });
    await verifyFunding(chain, { txHash: topUp, asset: 'ETH', units: parseEther('0.5'), wallet: hotWallet.address });
    await bookCapital(database.db, { asset: 'ETH', units: parseEther('0.5'), direction: 'in', operator: 'ops', note: 'top-up', txHash: topUp, at: clock.now() });
    const again = await bookCapital(database.db, { asset: 'ETH', units: parseEther('0.5'), direction: 'in', operator: 'ops', note: 'top-up', txHash: topUp, at: clock.now() });
    expect(again.isNew).toBe(false);
    await bookCapital(database.db, { asset: 'USDT_ERC20', units: 12_500_000n, direction: 'in', operator: 'ops', note: 'usdt float', key: 'test-usdt-float', at: clock.now() });

    const matched = await reconcile();
    expect(matched.position.assets.map((comparison) => comparison.verdict)).toEqual(['matched', 'matched']);
    const { rows: audit } = await database.db.query<{ subject_id: string; verdict: string }>(
      `SELECT subject_id, details->>'verdict' AS verdict FROM audit_log WHERE action = 'hot_wallet.verdict_changed' AND subject_id LIKE '%:ETH' ORDER BY id`,
    );
    expect(audit.map((row) => row.verdict)).toEqual(['surplus', 'matched', 'surplus', 'matched']);
  });

  it('explains a payout transfer at every step: broadcast and not mined, mined with its gas not booked, then booked', async () => {
    const deps: SigningDeps = {
      db: database.db,
      chain: createChain(createJsonRpc(anvil.rpcUrl)),
      wallet: createHotWallet(hotWallet.privateKey),
      clock,
      logger,
      settings: { chainId: 31337n, maxFeePerGasCapWei: 100n * GWEI, tokenContracts: { USDT_ERC20: String(token.target) } },
    };
    // An owner's balance in the ledger (an adjustment into the hot wallet), and the same funds on chain.
    const amount = parseEther('1.25');
    await send(payer, hotWallet.address, amount);
    const channel = await insertChannel(database.db, { payoutCurrency: 'ETH', payoutNetwork: 'ETH' });
    const payout = await insertPayout(database.db, { channelId: channel.id, asset: 'ETH', amountUnits: amount });
    await movePayout(database.db, payout.id, 'quoted', { at: clock.now() });
    expect(asset(await reconcile(), 'ETH')?.verdict).toBe('matched');

    await provider.send('evm_setAutomine', [false]);
    try {
      expect(await sendTransfer(deps, payout.id)).toBe('broadcast');
      const broadcast = await reconcile();
      expect(asset(broadcast, 'ETH')).toMatchObject({ transfersInFlightUnits: amount, gasNotBookedUnits: 0n, unexplainedUnits: 0n, verdict: 'matched' });
      expect(broadcast.position.transfers).toMatchObject([{ payoutId: payout.id, onChain: 'not_mined', valueUnits: amount }]);

      await provider.send('evm_mine', []);
      const mined = await reconcile();
      const gas = mined.position.transfers[0]?.gasNotBookedWei ?? 0n;
      expect(gas).toBeGreaterThan(0n);
      expect(asset(mined, 'ETH')).toMatchObject({ transfersInFlightUnits: 0n, gasNotBookedUnits: gas, unexplainedUnits: 0n, verdict: 'matched' });
    } finally {
      await provider.send('evm_setAutomine', [true]);
    }

    const changenow = {} as ChangeNowClient; // a direct payout never asks the exchange
    expect(await trackPayout({ ...deps, changenow, confirmations: 1 }, payout.id)).toBe('completed');
    const booked = await reconcile();
    expect(asset(booked, 'ETH')).toMatchObject({ inFlightUnits: 0n, unexplainedUnits: 0n, verdict: 'matched' });
    expect(booked.position.transfers).toEqual([]);
    expect(booked.position.isEveryTransactionKnown).toBe(true);
  });

  it('counts a payment outcome that reached the wallet and is not booked (an underpayment below tolerance)', async () => {
    const outcome = 2_345_678_900_000_000n;
    const payment = await insertPayment(database.db, { status: 'partially_paid', outcomeUnits: outcome });
    await send(payer, hotWallet.address, outcome);
    const result = await reconcile();
    expect(asset(result, 'ETH')).toMatchObject({ receivedNotBookedUnits: outcome, unexplainedUnits: 0n, verdict: 'matched' });
    expect(result.position.payments).toEqual([{ paymentId: payment.id, status: 'partially_paid', asset: 'ETH', arrivedUnits: outcome, bookedUnits: 0n }]);
  });

  it('alerts a deficit at once, once per episode, when money leaves behind the gateway’s back', async () => {
    const before = await alerts();
    const leaked = await hotWallet.sendTransaction({ to: Wallet.createRandom().address, value: parseEther('0.1') });
    const receipt = await leaked.wait();
    const gas = (receipt?.gasUsed ?? 0n) * (receipt?.gasPrice ?? 0n);

    const first = await reconcile();
    expect(asset(first, 'ETH')).toMatchObject({ verdict: 'deficit', unexplainedUnits: -(parseEther('0.1') + gas) });
    expect(first.position.isEveryTransactionKnown).toBe(false);
    expect(first.alerts).toEqual(['hot_wallet.deficit']);
    const raised = (await alerts()).slice(before.length);
    expect(raised).toHaveLength(1);
    expect(raised[0]?.message).toContain('less on chain than the ledger says');
    expect(logLines.some((line) => line.includes('"severity":"CRITICAL"') && line.includes('hot_wallet.deficit'))).toBe(true);

    clock.advance(15 * MINUTE);
    expect((await reconcile()).alerts).toEqual([]);
    expect(await alerts()).toHaveLength(before.length + 1);
  });

  it('alerts once a day when the payouts not signed yet need more than the wallet can spend, before a transfer fails', async () => {
    // The deficit left by the story above keeps its own episodes; this test reads only its own kind.
    const shortAlerts = async () => (await reconcile()).alerts.filter((kind) => kind === 'hot_wallet.short_of_queued_payouts');
    const before = (await alerts()).filter((alert) => alert.alert === 'hot_wallet.short_of_queued_payouts');
    const channel = await insertChannel(database.db);
    const usdtHeld = asset(await reconcile(), 'USDT_ERC20')!.chainUnits;
    // Queued, not signed: within what the wallet holds, nothing to say.
    await insertPayout(database.db, { channelId: channel.id, asset: 'USDT_ERC20', amountUnits: usdtHeld });
    expect(await shortAlerts()).toEqual([]);
    // One more than the wallet can spend.
    await insertPayout(database.db, { channelId: channel.id, asset: 'USDT_ERC20', amountUnits: 1n });
    expect(await shortAlerts()).toEqual(['hot_wallet.short_of_queued_payouts']);
    const raised = (await alerts()).filter((alert) => alert.alert === 'hot_wallet.short_of_queued_payouts').slice(before.length);
    expect(raised).toHaveLength(1);
    expect(raised[0]?.message).toContain('2 payout(s) not signed yet need');
    // The same shortfall later that day: no second alert; the next day, one again.
    clock.advance(15 * MINUTE);
    expect(await shortAlerts()).toEqual([]);
    clock.advance(24 * 60 * MINUTE);
    expect(await shortAlerts()).toEqual(['hot_wallet.short_of_queued_payouts']);
  });
});
