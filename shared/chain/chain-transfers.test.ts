import { Contract, JsonRpcProvider, Wallet, parseEther } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { type Anvil, startAnvil } from '../testing/simulators/anvil.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { type TestDatabase, createTestDatabase } from '../testing/database.js';
import { type PayoutFixture, insertChannel, insertPayout, insertSwap, randomEvmAddress } from '../testing/fixtures.js';
import { USDT_LIKE_TOKEN_ABI, deployUsdtLikeToken } from '../testing/simulators/usdt-token.js';
import {
  assertHotWalletAddress,
  type Chain,
  type HotWallet,
  type SigningDeps,
  broadcastStoredTransfer,
  confirmTransfer,
  createChain,
  createChainProvider,
  createHotWallet,
  retrieveChainTransfer,
  signAndStoreTransfer,
} from './index.js';

const GWEI = 1_000_000_000n;

describe('chain transfers on anvil', () => {
  let anvil: Anvil;
  let database: TestDatabase;
  let provider: JsonRpcProvider;
  let chain: Chain;
  let tokenAddress: string;
  const clock = createFakeClock();
  const logLines: string[] = [];
  const log = createLogger({ write: (line) => logLines.push(line) });

  beforeAll(async () => {
    [anvil, database] = await Promise.all([startAnvil(), createTestDatabase()]);
    provider = createChainProvider(anvil.rpcUrl, { chainId: 31337n });
    chain = createChain(provider);
    ({ address: tokenAddress } = await deployUsdtLikeToken(anvil.rpcUrl, anvil.accounts[0]!.privateKey));
  });
  afterAll(async () => {
    provider?.destroy();
    await Promise.all([anvil?.stop(), database?.dispose()]);
  });

  /** Each test signs from its own funded wallet (100 ETH), so one test's unsent nonce cannot stall another's. */
  async function freshHotWallet(): Promise<{ key: string; wallet: HotWallet; signatures: () => number }> {
    const account = Wallet.createRandom();
    await provider.send('anvil_setBalance', [account.address, `0x${parseEther('100').toString(16)}`]);
    const wallet = createHotWallet(account.privateKey);
    let count = 0;
    const counting: HotWallet = {
      address: wallet.address,
      signTransaction: (request) => {
        count += 1;
        return wallet.signTransaction(request);
      },
    };
    return { key: account.privateKey, wallet: counting, signatures: () => count };
  }

  function depsFor(wallet: HotWallet, overrides: Partial<SigningDeps> = {}): SigningDeps {
    return {
      db: database.db,
      chain,
      wallet,
      clock,
      logger: log,
      settings: { chainId: 31337n, maxFeePerGasCapWei: 100n * GWEI, tokenContracts: { USDT_ERC20: tokenAddress } },
      ...overrides,
    };
  }

  async function quotedPayout(options: { asset?: 'ETH' | 'USDT_ERC20'; amountUnits?: bigint } = {}): Promise<PayoutFixture> {
    const asset = options.asset ?? 'ETH';
    const channel = await insertChannel(database.db, {
      payoutCurrency: asset === 'ETH' ? 'ETH' : 'USDT',
      payoutNetwork: 'ETH',
      payoutWallet: randomEvmAddress(),
    });
    const payout = await insertPayout(database.db, {
      channelId: channel.id,
      asset,
      amountUnits: options.amountUnits ?? (asset === 'ETH' ? parseEther('1.5') : 12_500_000n),
    });
    await database.db.query(`UPDATE payouts SET state = 'quoted' WHERE id = $1`, [payout.id]);
    return payout;
  }

  async function minedNonce(address: string): Promise<number> {
    return provider.getTransactionCount(address, 'latest');
  }

  it('sends ETH: the recipient gets the exact amount and the wallet pays amount + gasUsed × effectiveGasPrice to the wei', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await quotedPayout({ amountUnits: 1_234_567_890_123_456_789n });
    const before = await provider.getBalance(wallet.address);

    const { transfer, isNew } = await signAndStoreTransfer(deps, { payoutId: payout.id });
    expect(isNew).toBe(true);
    expect(transfer).toMatchObject({ status: 'signed', toAddress: payout.destinationWallet, tokenContract: null, asset: 'ETH' });
    expect(transfer.fromAddress).toBe(wallet.address.toLowerCase());

    const broadcast = await broadcastStoredTransfer(deps, payout.id);
    expect(broadcast.outcome).toBe('accepted');
    expect(broadcast.transfer.status).toBe('broadcast');

    const confirmed = await confirmTransfer(deps, payout.id, { confirmations: 1 });
    expect(confirmed.state).toBe('confirmed');
    const recorded = confirmed.transfer;
    expect(recorded.feeUnits).toBe(recorded.gasUsed! * recorded.effectiveGasPrice!);
    expect(recorded.gasUsed).toBe(21_000n);

    expect(await provider.getBalance(payout.destinationWallet)).toBe(1_234_567_890_123_456_789n);
    const after = await provider.getBalance(wallet.address);
    expect(before - after).toBe(1_234_567_890_123_456_789n + recorded.feeUnits!);

    const receipt = await provider.getTransactionReceipt(transfer.txHash);
    expect(receipt?.blockNumber).toBe(Number(recorded.blockNumber));
  });

  it('sends USDT as an ERC-20 transfer: exact token amount arrives, the wallet spends only gas in ETH', async () => {
    const { key, wallet } = await freshHotWallet();
    const token = new Contract(tokenAddress, USDT_LIKE_TOKEN_ABI, new Wallet(anvil.accounts[0]!.privateKey, provider));
    await (await token.getFunction('mint')(wallet.address, 20_000_000n)).wait();
    const deps = depsFor(wallet);
    const payout = await quotedPayout({ asset: 'USDT_ERC20', amountUnits: 12_500_001n });
    const before = await provider.getBalance(wallet.address);

    const { transfer } = await signAndStoreTransfer(deps, { payoutId: payout.id });
    expect(transfer.tokenContract).toBe(tokenAddress.toLowerCase());
    expect(transfer.toAddress).toBe(payout.destinationWallet);
    await broadcastStoredTransfer(deps, payout.id);
    const confirmed = await confirmTransfer(deps, payout.id, { confirmations: 1 });

    expect(confirmed.state).toBe('confirmed');
    expect(await token.getFunction('balanceOf')(payout.destinationWallet)).toBe(12_500_001n);
    expect(await token.getFunction('balanceOf')(wallet.address)).toBe(7_499_999n);
    expect(await provider.getBalance(payout.destinationWallet)).toBe(0n);
    expect(before - (await provider.getBalance(wallet.address))).toBe(confirmed.transfer.feeUnits);
    expect(logLines.join('\n')).not.toContain(key.slice(2));
  });

  it('pays a payout with a swap to the swap’s deposit address, not the owner', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await quotedPayout({ amountUnits: parseEther('0.25') });
    const swap = await insertSwap(database.db, payout);

    await signAndStoreTransfer(deps, { payoutId: payout.id });
    await broadcastStoredTransfer(deps, payout.id);
    await confirmTransfer(deps, payout.id, { confirmations: 1 });

    expect(await provider.getBalance(swap.depositAddress)).toBe(parseEther('0.25'));
    expect(await provider.getBalance(payout.destinationWallet)).toBe(0n);
  });

  it('records a reverted transfer as failed with the gas it still cost', async () => {
    const { wallet } = await freshHotWallet(); // holds no USDT
    // A node that misreports the token balance and gas: the signed transfer reverts on chain.
    const misinformed: Chain = {
      ...chain,
      readAccount: async (address, token) => ({ ...(await chain.readAccount(address, token)), tokenBalanceUnits: 10n ** 12n }),
      estimateGas: async () => 60_000n,
    };
    const deps = depsFor(wallet, { chain: misinformed });
    const payout = await quotedPayout({ asset: 'USDT_ERC20', amountUnits: 1_000_000n });
    const before = await provider.getBalance(wallet.address);

    await signAndStoreTransfer(deps, { payoutId: payout.id });
    await broadcastStoredTransfer(deps, payout.id);
    const result = await confirmTransfer(deps, payout.id, { confirmations: 1 });

    expect(result.state).toBe('reverted');
    expect(result.transfer).toMatchObject({ status: 'failed', failureReason: 'reverted' });
    expect(result.transfer.feeUnits).toBe(result.transfer.gasUsed! * result.transfer.effectiveGasPrice!);
    expect(before - (await provider.getBalance(wallet.address))).toBe(result.transfer.feeUnits);
    expect((await confirmTransfer(deps, payout.id, { confirmations: 1 })).state).toBe('reverted');
    expect((await broadcastStoredTransfer(deps, payout.id)).outcome).toBe('settled');
  });

  it('after a crash between signing and broadcast, the retry returns the stored transfer and broadcasts the same hash once', async () => {
    const { wallet, signatures } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await quotedPayout();

    const first = await signAndStoreTransfer(deps, { payoutId: payout.id });
    // crash: nothing broadcast. The redelivered message runs the whole stage again.
    const retry = await signAndStoreTransfer(deps, { payoutId: payout.id });
    expect(retry.isNew).toBe(false);
    expect(retry.transfer.txHash).toBe(first.transfer.txHash);
    expect(retry.transfer.signedTx).toBe(first.transfer.signedTx);
    expect(signatures()).toBe(1);

    const broadcast = await broadcastStoredTransfer(deps, payout.id);
    expect(broadcast.transfer.txHash).toBe(first.transfer.txHash);
    expect((await provider.getTransaction(first.transfer.txHash))?.nonce).toBe(Number(first.transfer.nonce));
    expect(await minedNonce(wallet.address)).toBe(1);
  });

  it('after a crash between broadcast and recording it, the rebroadcast is recognized (nonce too low) and no second transaction is sent', async () => {
    const { wallet, signatures } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await quotedPayout();
    const { transfer } = await signAndStoreTransfer(deps, { payoutId: payout.id });

    // The node accepted our bytes, then we died before the row said 'broadcast'; automine mined it.
    await provider.send('eth_sendRawTransaction', [transfer.signedTx]);
    expect((await retrieveChainTransfer(database.db, payout.id))?.status).toBe('signed');

    const retry = await broadcastStoredTransfer(deps, payout.id);
    expect(retry.outcome).toBe('nonce_too_low');
    expect(retry.transfer.status).toBe('broadcast');
    expect(retry.transfer.txHash).toBe(transfer.txHash);
    expect(await minedNonce(wallet.address)).toBe(1);
    expect(await provider.getBalance(payout.destinationWallet)).toBe(payout.amountUnits);
    expect(signatures()).toBe(1);

    expect((await confirmTransfer(deps, payout.id, { confirmations: 1 })).state).toBe('confirmed');
    expect((await broadcastStoredTransfer(deps, payout.id)).outcome).toBe('settled');
  });

  it('recognizes a rebroadcast of a transaction still in the mempool (already known)', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await quotedPayout();
    const { transfer } = await signAndStoreTransfer(deps, { payoutId: payout.id });

    await provider.send('evm_setAutomine', [false]);
    try {
      await provider.send('eth_sendRawTransaction', [transfer.signedTx]);
      const retry = await broadcastStoredTransfer(deps, payout.id);
      expect(retry.outcome).toBe('already_known');
      expect(retry.transfer.status).toBe('broadcast');
      expect((await confirmTransfer(deps, payout.id, { confirmations: 1 })).state).toBe('pending');
      await provider.send('evm_mine', []);
    } finally {
      await provider.send('evm_setAutomine', [true]);
    }
    expect(await minedNonce(wallet.address)).toBe(1);
    const confirmed = await confirmTransfer(deps, payout.id, { confirmations: 1 });
    expect(confirmed.state).toBe('confirmed');
  });

  it('recognizes a broadcast whose answer was lost (the RPC call failed after the node took it)', async () => {
    const { wallet } = await freshHotWallet();
    const flaky: Chain = {
      ...chain,
      sendRawTransaction: async (signedTx) => {
        await chain.sendRawTransaction(signedTx);
        throw Object.assign(new Error('socket hang up'), { code: 'NETWORK_ERROR' });
      },
    };
    const payout = await quotedPayout();
    await signAndStoreTransfer(depsFor(wallet), { payoutId: payout.id });

    await expect(broadcastStoredTransfer(depsFor(wallet, { chain: flaky }), payout.id)).rejects.toThrow('socket hang up');
    const afterFailure = await retrieveChainTransfer(database.db, payout.id);
    expect(afterFailure).toMatchObject({ status: 'signed', broadcastAttempts: 1 });

    const retry = await broadcastStoredTransfer(depsFor(wallet), payout.id);
    expect(retry.outcome).toBe('nonce_too_low');
    expect(await minedNonce(wallet.address)).toBe(1);
  });

  it('confirms a transfer still marked signed once its hash is found mined, recording the broadcast too', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await quotedPayout();
    const { transfer } = await signAndStoreTransfer(deps, { payoutId: payout.id });
    await provider.send('eth_sendRawTransaction', [transfer.signedTx]);

    const confirmed = await confirmTransfer(deps, payout.id, { confirmations: 1 });
    expect(confirmed.state).toBe('confirmed');
    expect(confirmed.transfer.broadcastAt).not.toBeNull();
  });

  it('waits for the configured number of confirmations', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await quotedPayout();
    await signAndStoreTransfer(deps, { payoutId: payout.id });
    await broadcastStoredTransfer(deps, payout.id);

    const early = await confirmTransfer(deps, payout.id, { confirmations: 3 });
    expect(early).toMatchObject({ state: 'pending', confirmations: 1n });
    await provider.send('anvil_mine', ['0x2']);
    expect((await confirmTransfer(deps, payout.id, { confirmations: 3 })).state).toBe('confirmed');
  });

  it('refuses to rebroadcast over a nonce another transaction took, and says so (never re-signs)', async () => {
    const { key, wallet, signatures } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await quotedPayout();
    const { transfer } = await signAndStoreTransfer(deps, { payoutId: payout.id });
    // Someone spends from the hot wallet outside the gateway, at our stored nonce.
    const outside = new Wallet(key, provider);
    await (await outside.sendTransaction({ to: randomEvmAddress(), value: 1n, nonce: Number(transfer.nonce) })).wait();

    await expect(broadcastStoredTransfer(deps, payout.id)).rejects.toMatchObject({ code: 'transfer_nonce_conflict', isRetryable: true });
    expect(await retrieveChainTransfer(database.db, payout.id)).toMatchObject({
      status: 'signed',
      lastBroadcastError: expect.stringContaining('transfer_nonce_conflict'),
    });
    expect(signatures()).toBe(1);
    expect(logLines.some((line) => line.includes('"CRITICAL"') && line.includes('payout.transfer_broadcast_blocked'))).toBe(true);
  });

  it('defers with gas_price_above_cap and stores nothing when fees exceed the cap', async () => {
    const { wallet, signatures } = await freshHotWallet();
    const deps = depsFor(wallet, {
      settings: { chainId: 31337n, maxFeePerGasCapWei: 1n, tokenContracts: { USDT_ERC20: tokenAddress } },
    });
    const payout = await quotedPayout();
    await expect(signAndStoreTransfer(deps, { payoutId: payout.id })).rejects.toMatchObject({
      code: 'gas_price_above_cap',
      isRetryable: true,
    });
    expect(await retrieveChainTransfer(database.db, payout.id)).toBeUndefined();
    const nonces = await database.db.query('SELECT 1 FROM wallet_nonces WHERE address = $1', [wallet.address.toLowerCase()]);
    expect(nonces.rows).toHaveLength(0);
    expect(signatures()).toBe(0);
  });

  it('waits with hot_wallet_insufficient_funds when the wallet cannot cover amount + gas, or lacks the token', async () => {
    const empty = createHotWallet(Wallet.createRandom().privateKey);
    const eth = await quotedPayout();
    await expect(signAndStoreTransfer(depsFor(empty), { payoutId: eth.id })).rejects.toMatchObject({
      code: 'hot_wallet_insufficient_funds',
      isRetryable: true,
    });
    const { wallet } = await freshHotWallet(); // 10 000 ETH, no USDT
    const usdt = await quotedPayout({ asset: 'USDT_ERC20' });
    await expect(signAndStoreTransfer(depsFor(wallet), { payoutId: usdt.id })).rejects.toMatchObject({
      code: 'hot_wallet_insufficient_funds',
    });
    expect(await retrieveChainTransfer(database.db, usdt.id)).toBeUndefined();
  });

  it('maps an unreachable node to chain_unavailable', async () => {
    const deadProvider = createChainProvider('http://127.0.0.1:9', { chainId: 31337n, timeoutMs: 2_000 });
    try {
      const payout = await quotedPayout();
      await expect(
        signAndStoreTransfer(depsFor(createHotWallet(anvil.accounts[0]!.privateKey), { chain: createChain(deadProvider) }), {
          payoutId: payout.id,
        }),
      ).rejects.toMatchObject({ code: 'chain_unavailable', isRetryable: true });
    } finally {
      deadProvider.destroy();
    }
  });

  it('refuses a node that serves another chain id', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet, { settings: { chainId: 1n, maxFeePerGasCapWei: 100n * GWEI, tokenContracts: {} } });
    const payout = await quotedPayout();
    await expect(signAndStoreTransfer(deps, { payoutId: payout.id })).rejects.toMatchObject({ code: 'chain_id_mismatch' });
  });

  it('refuses to sign for a payout that is not quoted', async () => {
    const { wallet } = await freshHotWallet();
    const payout = await quotedPayout();
    await database.db.query(`UPDATE payouts SET state = 'held', held_reason = 'over_daily_cap' WHERE id = $1`, [payout.id]);
    await expect(signAndStoreTransfer(depsFor(wallet), { payoutId: payout.id })).rejects.toMatchObject({
      code: 'payout_not_ready_for_transfer',
      isRetryable: false,
    });
  });

  it('runs onSigned in the signing transaction only for a new transfer', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await quotedPayout();
    const moveToSigned = async (tx: Parameters<NonNullable<Parameters<typeof signAndStoreTransfer>[1]['onSigned']>>[0]) => {
      await tx.query(`UPDATE payouts SET state = 'transfer_signed' WHERE id = $1 AND state = 'quoted'`, [payout.id]);
    };
    const first = await signAndStoreTransfer(deps, { payoutId: payout.id, onSigned: moveToSigned });
    const again = await signAndStoreTransfer(deps, { payoutId: payout.id, onSigned: moveToSigned });
    expect(again.transfer.id).toBe(first.transfer.id);
    const { rows } = await database.db.query<{ state: string }>('SELECT state FROM payouts WHERE id = $1', [payout.id]);
    expect(rows[0]?.state).toBe('transfer_signed');
    await broadcastStoredTransfer(deps, payout.id);
  });

  it('never puts the hot wallet key in logs or in the serialized wallet', async () => {
    const { key } = await freshHotWallet();
    const wallet = createHotWallet(key);
    expect(JSON.stringify(wallet)).not.toContain(key.slice(2));
    expect(Object.values(wallet).map(String).join(' ')).not.toContain(key.slice(2));
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(key.slice(2));
  });

  it('refuses a HOT_WALLET_ADDRESS that is not the key’s address (swap refunds would go astray), in any letter case', async () => {
    const { key } = await freshHotWallet();
    const wallet = createHotWallet(key);
    expect(() => assertHotWalletAddress(wallet, wallet.address.toLowerCase())).not.toThrow();
    expect(() => assertHotWalletAddress(wallet, randomEvmAddress())).toThrow(expect.objectContaining({ code: 'hot_wallet_mismatch' }));
  });

  // On PGlite transactions are serialized; with DATABASE_URL these signers overlap for real.
  describe('concurrency', () => {
    it('signs once when the same payout is signed five times at once: one row, one signature', async () => {
      const { wallet, signatures } = await freshHotWallet();
      const deps = depsFor(wallet);
      const payout = await quotedPayout();
      const results = await Promise.all(Array.from({ length: 5 }, () => signAndStoreTransfer(deps, { payoutId: payout.id })));
      expect(new Set(results.map((result) => result.transfer.txHash)).size).toBe(1);
      expect(results.filter((result) => result.isNew)).toHaveLength(1);
      expect(signatures()).toBe(1);
      const { rows } = await database.db.query('SELECT 1 FROM chain_transfers WHERE payout_id = $1', [payout.id]);
      expect(rows).toHaveLength(1);
      await broadcastStoredTransfer(deps, payout.id);
      expect(await minedNonce(wallet.address)).toBe(1);
    });

    it('gives payouts signed at once distinct consecutive nonces, and all of them are mined', async () => {
      const { wallet } = await freshHotWallet();
      const deps = depsFor(wallet);
      const payouts = await Promise.all(Array.from({ length: 4 }, () => quotedPayout({ amountUnits: parseEther('0.01') })));
      const signed = await Promise.all(payouts.map((payout) => signAndStoreTransfer(deps, { payoutId: payout.id })));
      expect(signed.map((result) => result.transfer.nonce).sort()).toEqual([0n, 1n, 2n, 3n]);
      // Broadcast out of order: the node queues the gap and mines all once it closes.
      for (const payout of [...payouts].reverse()) await broadcastStoredTransfer(deps, payout.id);
      expect(await minedNonce(wallet.address)).toBe(4);
      for (const payout of payouts) {
        expect((await confirmTransfer(deps, payout.id, { confirmations: 1 })).state).toBe('confirmed');
        expect(await provider.getBalance(payout.destinationWallet)).toBe(parseEther('0.01'));
      }
    });
  });
});
