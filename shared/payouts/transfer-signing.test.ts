import { type JsonRpcProvider, parseEther } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, type HotWallet, type SigningDeps, createChain, createJsonRpc, openTransferRecipient, retrieveChainTransfer } from '../chain/index.js';
import { createChainProvider } from '../testing/ethers-provider.js';
import { createLogger } from '../logging/index.js';
import { type Anvil, fundedHotWallet, startAnvil } from '../testing/simulators/anvil.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { type TestDatabase, createTestDatabase } from '../testing/database.js';
import { type PayoutFixture, insertChannel, insertPayout, insertSwap, movePayout, randomEvmAddress } from '../testing/fixtures.js';
import { retrievePayout, sendTransfer } from './index.js';

const GWEI = 1_000_000_000n;

/**
 * send-transfer's payout side on anvil: which payouts are sent, to where (chain/ is handed only an
 * amount, an asset and a recipient), and that the payout row lock keeps one signature per payout.
 */
describe('sendTransfer on anvil', () => {
  let anvil: Anvil;
  let database: TestDatabase;
  let provider: JsonRpcProvider;
  let chain: Chain;
  const clock = createFakeClock();
  const logger = createLogger({ write: () => undefined });

  beforeAll(async () => {
    [anvil, database] = await Promise.all([startAnvil(), createTestDatabase()]);
    provider = createChainProvider(anvil.rpcUrl, { chainId: 31337n });
    chain = createChain(createJsonRpc(anvil.rpcUrl));
  });
  afterAll(async () => {
    provider?.destroy();
    await Promise.all([anvil?.stop(), database?.dispose()]);
  });

  function depsFor(wallet: HotWallet, overrides: Partial<SigningDeps> = {}): SigningDeps {
    return {
      db: database.db,
      chain,
      wallet,
      clock,
      logger,
      settings: { chainId: 31337n, maxFeePerGasCapWei: 100n * GWEI, tokenContracts: {} },
      ...overrides,
    };
  }

  /** An ETH payout in `quoted`: to ETH on Ethereum (direct), or to USDC on Base (through a swap). */
  async function quotedPayout(options: { isDirect: boolean; amountUnits?: bigint }): Promise<PayoutFixture> {
    const channel = await insertChannel(database.db, {
      payoutCurrency: options.isDirect ? 'ETH' : 'USDC',
      payoutNetwork: options.isDirect ? 'ETH' : 'BASE',
      payoutWallet: randomEvmAddress(),
    });
    const payout = await insertPayout(database.db, { channelId: channel.id, asset: 'ETH', amountUnits: options.amountUnits ?? parseEther('0.25') });
    await movePayout(database.db, payout.id, 'quoted', { at: clock.now() });
    return payout;
  }

  it('sends a direct payout to its destination and records the broadcast', async () => {
    const { wallet } = await fundedHotWallet(provider, '10');
    const payout = await quotedPayout({ isDirect: true });

    expect(await sendTransfer(depsFor(wallet), payout.id)).toBe('broadcast');
    expect(await provider.getBalance(payout.destinationWallet)).toBe(parseEther('0.25'));
    expect((await retrievePayout(database.db, payout.id)).state).toBe('transfer_broadcast');
    const transfer = await retrieveChainTransfer(database.db, payout.id);
    expect(transfer).toMatchObject({ recipient: { clear: null }, amountUnits: parseEther('0.25') });
    expect(openTransferRecipient(payout.id, transfer!.recipient)).toBe(payout.destinationWallet);
  });

  it('pays a payout with a swap to the swap’s deposit address, not the owner', async () => {
    const { wallet } = await fundedHotWallet(provider, '10');
    const payout = await quotedPayout({ isDirect: false });
    const swap = await insertSwap(database.db, payout);
    await movePayout(database.db, payout.id, 'swap_created', { from: 'quoted', at: clock.now() });

    expect(await sendTransfer(depsFor(wallet), payout.id)).toBe('broadcast');
    expect(await provider.getBalance(swap.depositAddress)).toBe(parseEther('0.25'));
    expect(await provider.getBalance(payout.destinationWallet)).toBe(0n);
    // ChangeNow's deposit address stays in clear (as in swaps), so the database checks it; the bytes are sealed.
    expect(await retrieveChainTransfer(database.db, payout.id)).toMatchObject({ recipient: { clear: swap.depositAddress.toLowerCase(), ciphertext: null }, signedTx: { clear: null } });
  });

  it('skips a payout that may not be sent (a swap payout without its exchange, a held one): nothing is signed', async () => {
    const { wallet, signatures } = await fundedHotWallet(provider, '10');
    const withoutSwap = await quotedPayout({ isDirect: false });
    const held = await quotedPayout({ isDirect: true });
    await movePayout(database.db, held.id, ['held'], { from: 'quoted', at: clock.now() });

    expect(await sendTransfer(depsFor(wallet), withoutSwap.id)).toBe('skipped');
    expect(await sendTransfer(depsFor(wallet), held.id)).toBe('skipped');
    expect(await retrieveChainTransfer(database.db, withoutSwap.id)).toBeUndefined();
    expect(await retrieveChainTransfer(database.db, held.id)).toBeUndefined();
    expect(signatures()).toBe(0);
  });

  it('never sends a swap payout\'s asset to the owner: one that reached swap_created with no exchange row is refused, nothing signed', async () => {
    const { wallet, signatures } = await fundedHotWallet(provider, '10');
    const payout = await quotedPayout({ isDirect: false });
    await movePayout(database.db, payout.id, 'swap_created', { from: 'quoted', at: clock.now() }); // no swaps row: never made by the code

    await expect(sendTransfer(depsFor(wallet), payout.id)).rejects.toMatchObject({ code: 'payout_not_ready_for_transfer' });
    expect(await retrieveChainTransfer(database.db, payout.id)).toBeUndefined();
    expect(await provider.getBalance(payout.destinationWallet)).toBe(0n);
    expect(signatures()).toBe(0);
  });

  it('refuses a payout held while its transfer was prepared: the check under the row lock, nothing signed or stored', async () => {
    const { wallet, signatures } = await fundedHotWallet(provider, '10');
    const payout = await quotedPayout({ isDirect: true });
    // An operator's hold lands between the network reads and the signing transaction.
    const holding: Chain = {
      ...chain,
      estimateGas: async (call) => {
        await movePayout(database.db, payout.id, ['held'], { from: 'quoted', at: clock.now() });
        return chain.estimateGas(call);
      },
    };

    await expect(sendTransfer(depsFor(wallet, { chain: holding }), payout.id)).rejects.toMatchObject({
      code: 'payout_not_ready_for_transfer',
      isRetryable: false,
    });
    expect(await retrieveChainTransfer(database.db, payout.id)).toBeUndefined();
    expect(signatures()).toBe(0);
  });

  it('signs once when one payout is sent five times at once: the payout row lock queues the signers', async () => {
    const { wallet, signatures } = await fundedHotWallet(provider, '10');
    const payout = await quotedPayout({ isDirect: true, amountUnits: parseEther('0.01') });
    const deps = depsFor(wallet);

    const outcomes = await Promise.all(Array.from({ length: 5 }, () => sendTransfer(deps, payout.id)));
    expect(outcomes.every((outcome) => outcome === 'broadcast' || outcome === 'in_mempool')).toBe(true);
    expect(signatures()).toBe(1);
    const { rows } = await database.db.query('SELECT 1 FROM chain_transfers WHERE payout_id = $1', [payout.id]);
    expect(rows).toHaveLength(1);
    expect((await retrievePayout(database.db, payout.id)).state).toBe('transfer_broadcast');
    expect(await provider.getBalance(payout.destinationWallet)).toBe(parseEther('0.01'));
  });
});
