import { loadFieldCipher } from '../field-crypto/index.js';
import { Contract, JsonRpcProvider, Wallet, parseEther } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { type Anvil, fundedHotWallet, startAnvil } from '../testing/simulators/anvil.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { type TestDatabase, createTestDatabase } from '../testing/database.js';
import { countStatements } from '../testing/statement-counter.js';
import { payoutError } from '../payouts/errors.js';
import { type PayoutFixture, insertChannel, insertPayout, randomEvmAddress } from '../testing/fixtures.js';
import { USDT_LIKE_TOKEN_ABI, deployUsdtLikeToken } from '../testing/simulators/usdt-token.js';
import { assertHotWalletAddress, type Chain, type HotWallet, type SignTransferInput, type SigningDeps, type TransferLock, type TransferRequest, broadcastStoredTransfer, confirmTransfer, createChain, createHotWallet, createJsonRpc, openSignedTransaction, openTransferRecipient, retrieveChainTransfer, signAndStoreTransfer } from './index.js';
import { createChainProvider } from '../testing/ethers-provider.js';

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
    chain = createChain(createJsonRpc(anvil.rpcUrl)); // what the functions use; the ethers provider only checks results
    ({ address: tokenAddress } = await deployUsdtLikeToken(anvil.rpcUrl, anvil.accounts[0]!.privateKey));
  });
  afterAll(async () => {
    provider?.destroy();
    await Promise.all([anvil?.stop(), database?.dispose()]);
  });

  /** Each test signs from its own funded wallet (100 ETH), so one test's unsent nonce cannot stall another's. */
  const freshHotWallet = () => fundedHotWallet(provider);

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

  /** A payout to key a transfer by (`chain_transfers` refers to it); chain/ is given only its amount and destination. */
  async function payoutToSend(options: { asset?: 'ETH' | 'USDT_ERC20'; amountUnits?: bigint } = {}): Promise<PayoutFixture> {
    const asset = options.asset ?? 'ETH';
    const channel = await insertChannel(database.db, {
      payoutCurrency: asset === 'ETH' ? 'ETH' : 'USDT',
      payoutNetwork: 'ETH',
      payoutWallet: randomEvmAddress(),
    });
    return insertPayout(database.db, {
      channelId: channel.id,
      asset,
      amountUnits: options.amountUnits ?? (asset === 'ETH' ? parseEther('1.5') : 12_500_000n),
    });
  }

  function requestFor(payout: PayoutFixture): TransferRequest {
    // The payout's destination is sealed at rest: the transfer names it by its blind index too.
    return { asset: payout.asset, amountUnits: payout.amountUnits, to: payout.destinationWallet, toIndex: loadFieldCipher().walletIndex(payout.destinationWallet) };
  }

  /** Signs the payout's amount to its destination, keyed by its id. */
  /** A lock on the payout's row (what payouts/ locks) that says `unsignedWhen` of it. */
  function payoutRowLock(payoutId: string, unsignedWhen: string): Omit<TransferLock, 'check'> {
    return { sql: 'SELECT id, state FROM payouts WHERE id = $1 FOR NO KEY UPDATE', params: [payoutId], unsignedWhen };
  }

  function sign(deps: SigningDeps, payout: PayoutFixture, options: Pick<SignTransferInput, 'lock' | 'storedWith' | 'isKnownUnsigned'> = {}) {
    return signAndStoreTransfer(deps, { key: payout.id, request: requestFor(payout), ...options });
  }

  /** Automine mines a block after answering the broadcast, so on a busy machine the next call can still find the transaction pooled. */
  async function untilMined(txHash: string): Promise<void> {
    await provider.waitForTransaction(txHash, 1, 10_000);
  }

  async function minedNonce(address: string): Promise<number> {
    return provider.getTransactionCount(address, 'latest');
  }

  it('sends ETH: the recipient gets the exact amount and the wallet pays amount + gasUsed × effectiveGasPrice to the wei', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await payoutToSend({ amountUnits: 1_234_567_890_123_456_789n });
    const before = await provider.getBalance(wallet.address);

    const { transfer, isNew } = await sign(deps, payout);
    expect(isNew).toBe(true);
    expect(transfer).toMatchObject({ status: 'signed', tokenContract: null, asset: 'ETH' });
    // The owner's wallet is stored sealed, in the row and in the signed bytes; its index names it.
    expect(transfer.recipient.clear).toBeNull();
    expect(transfer.signedTx.clear).toBeNull();
    expect(openTransferRecipient(payout.id, transfer.recipient)).toBe(payout.destinationWallet);
    expect(transfer.toAddressIndex).toEqual(loadFieldCipher().walletIndex(payout.destinationWallet));
    expect(transfer.fromAddress).toBe(wallet.address.toLowerCase());

    const broadcast = await broadcastStoredTransfer(deps, payout.id);
    expect(broadcast.outcome).toBe('accepted');
    expect(broadcast.transfer.status).toBe('broadcast');
    await untilMined(transfer.txHash);

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
    const payout = await payoutToSend({ asset: 'USDT_ERC20', amountUnits: 12_500_001n });
    const before = await provider.getBalance(wallet.address);

    const { transfer } = await sign(deps, payout);
    expect(transfer.tokenContract).toBe(tokenAddress.toLowerCase());
    expect(openTransferRecipient(payout.id, transfer.recipient)).toBe(payout.destinationWallet);
    await broadcastStoredTransfer(deps, payout.id);
    await untilMined(transfer.txHash);
    const confirmed = await confirmTransfer(deps, payout.id, { confirmations: 1 });

    expect(confirmed.state).toBe('confirmed');
    expect(await token.getFunction('balanceOf')(payout.destinationWallet)).toBe(12_500_001n);
    expect(await token.getFunction('balanceOf')(wallet.address)).toBe(7_499_999n);
    expect(await provider.getBalance(payout.destinationWallet)).toBe(0n);
    expect(before - (await provider.getBalance(wallet.address))).toBe(confirmed.transfer.feeUnits);
    expect(logLines.join('\n')).not.toContain(key.slice(2));
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
    const payout = await payoutToSend({ asset: 'USDT_ERC20', amountUnits: 1_000_000n });
    const before = await provider.getBalance(wallet.address);

    const { transfer } = await sign(deps, payout);
    await broadcastStoredTransfer(deps, payout.id);
    await untilMined(transfer.txHash);
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
    const payout = await payoutToSend();

    const first = await sign(deps, payout);
    // crash: nothing broadcast. The redelivered message runs the whole stage again.
    const retry = await sign(deps, payout);
    expect(retry.isNew).toBe(false);
    expect(retry.transfer.txHash).toBe(first.transfer.txHash);
    expect(retry.transfer.signedTx).toEqual(first.transfer.signedTx);
    expect(signatures()).toBe(1);

    const broadcast = await broadcastStoredTransfer(deps, payout.id);
    expect(broadcast.transfer.txHash).toBe(first.transfer.txHash);
    expect((await provider.getTransaction(first.transfer.txHash))?.nonce).toBe(Number(first.transfer.nonce));
    await untilMined(first.transfer.txHash);
    expect(await minedNonce(wallet.address)).toBe(1);
  });

  it('after a crash between broadcast and recording it, the rebroadcast is recognized (nonce too low) and no second transaction is sent', async () => {
    const { wallet, signatures } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await payoutToSend();
    const { transfer } = await sign(deps, payout);

    // The node accepted our bytes, then we died before the row said 'broadcast'; automine mined it.
    await provider.send('eth_sendRawTransaction', [openSignedTransaction(payout.id, 1, transfer.signedTx)]);
    await untilMined(transfer.txHash);
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

  it('broadcasts a transfer it has just stored without reading it back, and still recognises its own bytes when the node already has them', async () => {
    const { wallet } = await freshHotWallet();
    const counter = countStatements(database.db);
    const deps = depsFor(wallet, { db: counter.db });
    const payout = await payoutToSend();
    const { transfer, isNew } = await sign(deps, payout);
    expect(isNew).toBe(true);

    const reads = () => [...counter.counts().byLabel.entries()].filter(([label]) => label.startsWith('SELECT')).reduce((sum, [, count]) => sum + count, 0);
    const before = reads();
    const sent = await broadcastStoredTransfer(deps, payout.id, { justStored: transfer });
    expect(sent).toMatchObject({ outcome: 'accepted', transfer: { status: 'broadcast', txHash: transfer.txHash } });
    expect(reads()).toBe(before);

    // The same bytes handed over again (a redelivery that raced the first): the node answers
    // "nonce too low" or "already known"; the attempts are read back and the transfer is ours, not a conflict.
    await untilMined(transfer.txHash);
    const again = await broadcastStoredTransfer(deps, payout.id, { justStored: transfer });
    expect(again.outcome).toBe('nonce_too_low');
    expect(again.transfer.status).toBe('broadcast');
    expect(await minedNonce(wallet.address)).toBe(1);
  });

  it('recognizes a rebroadcast of a transaction still in the mempool (already known)', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await payoutToSend();
    const { transfer } = await sign(deps, payout);

    await provider.send('evm_setAutomine', [false]);
    try {
      await provider.send('eth_sendRawTransaction', [openSignedTransaction(payout.id, 1, transfer.signedTx)]);
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
    const payout = await payoutToSend();
    const { transfer } = await sign(depsFor(wallet), payout);

    await expect(broadcastStoredTransfer(depsFor(wallet, { chain: flaky }), payout.id)).rejects.toThrow('socket hang up');
    await untilMined(transfer.txHash);
    const afterFailure = await retrieveChainTransfer(database.db, payout.id);
    expect(afterFailure).toMatchObject({ status: 'signed', broadcastAttempts: 1 });

    const retry = await broadcastStoredTransfer(depsFor(wallet), payout.id);
    expect(retry.outcome).toBe('nonce_too_low');
    expect(await minedNonce(wallet.address)).toBe(1);
  });

  it('confirms a transfer still marked signed once its hash is found mined, recording the broadcast too', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await payoutToSend();
    const { transfer } = await sign(deps, payout);
    await provider.send('eth_sendRawTransaction', [openSignedTransaction(payout.id, 1, transfer.signedTx)]);
    await untilMined(transfer.txHash);

    const confirmed = await confirmTransfer(deps, payout.id, { confirmations: 1 });
    expect(confirmed.state).toBe('confirmed');
    expect(confirmed.transfer.broadcastAt).not.toBeNull();
  });

  it('waits for the configured number of confirmations', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await payoutToSend();
    const { transfer } = await sign(deps, payout);
    await broadcastStoredTransfer(deps, payout.id);
    await untilMined(transfer.txHash); // on a busy machine automine may not have mined it yet

    const early = await confirmTransfer(deps, payout.id, { confirmations: 3 });
    expect(early).toMatchObject({ state: 'pending', confirmations: 1n });
    await provider.send('anvil_mine', ['0x2']);
    expect((await confirmTransfer(deps, payout.id, { confirmations: 3 })).state).toBe('confirmed');
  });

  it('refuses to rebroadcast over a nonce another transaction took, and says so (never re-signs)', async () => {
    const { key, wallet, signatures } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await payoutToSend();
    const { transfer } = await sign(deps, payout);
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
    const payout = await payoutToSend();
    await expect(sign(deps, payout)).rejects.toMatchObject({
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
    const eth = await payoutToSend();
    await expect(sign(depsFor(empty), eth)).rejects.toMatchObject({
      code: 'hot_wallet_insufficient_funds',
      isRetryable: true,
    });
    const { wallet } = await freshHotWallet(); // 10 000 ETH, no USDT
    const usdt = await payoutToSend({ asset: 'USDT_ERC20' });
    await expect(sign(depsFor(wallet), usdt)).rejects.toMatchObject({
      code: 'hot_wallet_insufficient_funds',
    });
    expect(await retrieveChainTransfer(database.db, usdt.id)).toBeUndefined();
  });

  it('maps an unreachable node to chain_unavailable', async () => {
    const payout = await payoutToSend();
    await expect(
      sign(depsFor(createHotWallet(anvil.accounts[0]!.privateKey), { chain: createChain(createJsonRpc('http://127.0.0.1:9', { timeoutMs: 2_000 })) }), payout),
    ).rejects.toMatchObject({ code: 'chain_unavailable', isRetryable: true });
  });

  it('refuses a node that serves another chain id', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet, { settings: { chainId: 1n, maxFeePerGasCapWei: 100n * GWEI, tokenContracts: {} } });
    const payout = await payoutToSend();
    await expect(sign(deps, payout)).rejects.toMatchObject({ code: 'chain_id_mismatch' });
  });

  it('signs nothing when the lock’s check refuses the request, and stores nothing', async () => {
    const { wallet, signatures } = await freshHotWallet();
    const payout = await payoutToSend();
    const refuse: TransferLock = {
      ...payoutRowLock(payout.id, 'false'),
      check: () => {
        throw payoutError('payout_not_ready_for_transfer', 'The payout is not in a state that may be sent.');
      },
    };
    await expect(sign(depsFor(wallet), payout, { lock: refuse })).rejects.toMatchObject({ code: 'payout_not_ready_for_transfer', isRetryable: false });
    expect(await retrieveChainTransfer(database.db, payout.id)).toBeUndefined();
    expect(signatures()).toBe(0);
  });

  it('retries with transfer_inputs_changed when the request changed between the network reads and the lock', async () => {
    const { wallet, signatures } = await freshHotWallet();
    const payout = await payoutToSend({ amountUnits: parseEther('0.5') });
    const changed: TransferLock = { ...payoutRowLock(payout.id, 'true'), check: () => ({ ...requestFor(payout), amountUnits: parseEther('0.4') }) };
    await expect(sign(depsFor(wallet), payout, { lock: changed })).rejects.toMatchObject({ code: 'transfer_inputs_changed', isRetryable: true });
    expect(await retrieveChainTransfer(database.db, payout.id)).toBeUndefined();
    expect(signatures()).toBe(0);
  });

  it('takes the nonce in the statement that locks the row when the row shows nothing is stored, and not otherwise', async () => {
    const { wallet } = await freshHotWallet();
    const counter = countStatements(database.db);
    const deps = depsFor(wallet, { db: counter.db });
    const nonceStatements = () => [...counter.counts().sqlByLabel.values()].filter((sql) => sql.includes('wallet_nonces'));

    const payout = await payoutToSend();
    const signed = await sign(deps, payout, { lock: { ...payoutRowLock(payout.id, 'true'), check: () => requestFor(payout) } });
    expect(signed.transfer.nonce).toBe(0n);
    expect(nonceStatements()).toEqual([expect.stringMatching(/^WITH locked AS \(SELECT id, state FROM payouts .*nonce AS \(INSERT INTO wallet_nonces/s)]);

    counter.reset();
    const other = await payoutToSend();
    const apart = await sign(deps, other, { lock: { ...payoutRowLock(other.id, 'false'), check: () => requestFor(other) } });
    expect(apart.transfer.nonce).toBe(1n);
    // The lock said nothing: the stored transfer was looked for, and the nonce taken by a statement of its own.
    expect(nonceStatements()).toHaveLength(2);
    expect(nonceStatements().some((sql) => sql.startsWith('INSERT INTO wallet_nonces'))).toBe(true);
  });

  it('returns the stored transfer when a lock wrongly says none is stored: its unique key refuses the second, nothing else is stored', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await payoutToSend();
    const first = await sign(deps, payout);
    const mistaken: TransferLock = { ...payoutRowLock(payout.id, 'true'), check: () => requestFor(payout) };
    const again = await sign(deps, payout, { lock: mistaken, isKnownUnsigned: true });
    expect(again).toMatchObject({ isNew: false, transfer: { id: first.transfer.id, txHash: first.transfer.txHash, nonce: first.transfer.nonce } });
    const { rows } = await database.db.query('SELECT 1 FROM chain_transfers WHERE payout_id = $1', [payout.id]);
    expect(rows).toHaveLength(1);
    // The refused row's nonce was rolled back with it: the next transfer takes the one after the first.
    const next = await sign(deps, await payoutToSend());
    expect(next.transfer.nonce).toBe(first.transfer.nonce + 1n);
  });

  it('makes the storedWith write in the statement that stores a new transfer, and only then', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await payoutToSend();
    await database.db.exec('CREATE TABLE IF NOT EXISTS stored_with_test (payout_id text NOT NULL)');
    const storedWith = { sql: 'INSERT INTO stored_with_test (payout_id) VALUES ($1) RETURNING 1', params: [payout.id] };
    const counter = countStatements(database.db);
    const first = await sign({ ...deps, db: counter.db }, payout, { storedWith });
    const again = await sign(deps, payout, { storedWith, isKnownUnsigned: true });
    expect(again).toMatchObject({ isNew: false, transfer: { id: first.transfer.id } });
    const { rows } = await database.db.query('SELECT 1 FROM stored_with_test WHERE payout_id = $1', [payout.id]);
    expect(rows).toHaveLength(1);
    // One statement wrote both: the transfer's insert, with the write as its CTE.
    const writers = [...counter.counts().sqlByLabel.values()].filter((sql) => sql.includes('stored_with_test'));
    expect(writers).toHaveLength(1);
    expect(writers[0]).toMatch(/^WITH alongside AS \(INSERT INTO stored_with_test .*\) INSERT INTO chain_transfers/s);
    await broadcastStoredTransfer(deps, payout.id);
  });

  it('stores nothing when the storedWith write changes no row, and its nonce goes to the next transfer', async () => {
    const { wallet } = await freshHotWallet();
    const deps = depsFor(wallet);
    const payout = await payoutToSend();
    const missed = { sql: "UPDATE chain_transfers SET updated_at = now() WHERE payout_id = $1 AND status = 'never' RETURNING 1", params: [payout.id] };
    await expect(sign(deps, payout, { storedWith: missed })).rejects.toMatchObject({ code: 'transfer_invariant_broken' });
    expect(await retrieveChainTransfer(database.db, payout.id)).toBeUndefined();
    const next = await sign(deps, payout);
    expect(next.transfer.nonce).toBe(0n);
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
    it('signs once when the same key is signed five times at once under the caller’s lock: one row, one signature', async () => {
      const { wallet, signatures } = await freshHotWallet();
      const deps = depsFor(wallet);
      const payout = await payoutToSend();
      // What a caller's lock does (payouts/ locks the payout row): signers of one key queue in their transactions.
      const lock: TransferLock = {
        sql: 'SELECT pg_advisory_xact_lock(hashtext($1))::text AS waited',
        params: [payout.id],
        unsignedWhen: 'false',
        check: () => requestFor(payout),
      };
      const results = await Promise.all(Array.from({ length: 5 }, () => sign(deps, payout, { lock })));
      expect(new Set(results.map((result) => result.transfer.txHash)).size).toBe(1);
      expect(results.filter((result) => result.isNew)).toHaveLength(1);
      expect(signatures()).toBe(1);
      const { rows } = await database.db.query('SELECT 1 FROM chain_transfers WHERE payout_id = $1', [payout.id]);
      expect(rows).toHaveLength(1);
      await broadcastStoredTransfer(deps, payout.id);
      await untilMined(results[0]!.transfer.txHash);
      expect(await minedNonce(wallet.address)).toBe(1);
    });

    it('gives payouts signed at once distinct consecutive nonces, and all of them are mined', async () => {
      const { wallet } = await freshHotWallet();
      const deps = depsFor(wallet);
      const payouts = await Promise.all(Array.from({ length: 4 }, () => payoutToSend({ amountUnits: parseEther('0.01') })));
      const signed = await Promise.all(payouts.map((payout) => sign(deps, payout)));
      expect(signed.map((result) => result.transfer.nonce).sort()).toEqual([0n, 1n, 2n, 3n]);
      // Broadcast out of order: the node queues the gap and mines all once it closes.
      for (const payout of [...payouts].reverse()) await broadcastStoredTransfer(deps, payout.id);
      for (const result of signed) await untilMined(result.transfer.txHash);
      expect(await minedNonce(wallet.address)).toBe(4);
      for (const payout of payouts) {
        expect((await confirmTransfer(deps, payout.id, { confirmations: 1 })).state).toBe('confirmed');
        expect(await provider.getBalance(payout.destinationWallet)).toBe(parseEther('0.01'));
      }
    });
  });
});
