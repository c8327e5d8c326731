import { Transaction } from 'ethers';
import { type AccountState, type Chain, createHotWallet, type HotWallet, type SendRawOutcome, type TransactionLookup } from '../../chain/index.js';
import { chainError } from '../../chain/errors.js';

/**
 * An EVM node in memory, for payout unit tests: the chain port (`Chain`) over a mempool and a block
 * counter that only move when the test says so. It decodes and keeps every raw transaction it is
 * sent, answers `eth_sendRawTransaction` the way geth and anvil do (already known, nonce too low,
 * replacement underpriced, fee below the base fee, insufficient funds), and leaves each receipt to
 * the test: `mine` (succeeded or reverted), `drop` (evicted from the mempool), or nothing (pending).
 * ETH moves when a transaction is mined; token balances are only what `setTokenBalance` says.
 */
export interface MemoryChain extends Chain {
  /** Every raw transaction sent to the node, accepted or not, in order (lower-case hex). */
  readonly sent: readonly string[];
  /** The distinct transactions the node accepted, in the order it first took them. */
  transactions(): MemoryTransaction[];
  setBalance(address: string, wei: bigint): void;
  setTokenBalance(token: string, address: string, units: bigint): void;
  setFees(fees: { baseFeePerGas?: bigint; maxPriorityFeePerGas?: bigint }): void;
  /** Puts a pending transaction in a new block, succeeded (default) or reverted. */
  mine(txHash: string, options?: { isSuccess?: boolean }): void;
  /** The node forgets a pending transaction, as a mempool evicts one; the same bytes can be sent again. */
  drop(txHash: string): void;
  /** Adds empty blocks (more confirmations). */
  advanceBlocks(count: number): void;
  /**
   * The next `sendRawTransaction` throws `error`: `before` the node saw the bytes (the process died
   * between signing and broadcast), or `after` it took them (the answer was lost). Default before.
   */
  failNextSend(error: Error, when?: 'before' | 'after'): void;
}

export interface MemoryTransaction {
  hash: string;
  raw: string;
  from: string;
  to: string;
  nonce: bigint;
  value: bigint;
  data: string;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** `replaced`: another transaction took its nonce in the mempool. */
  state: 'pending' | 'mined' | 'reverted' | 'dropped' | 'replaced';
  blockNumber?: bigint;
  gasUsed?: bigint;
  effectiveGasPrice?: bigint;
}

export interface MemoryChainOptions {
  chainId?: bigint;
  /** Wei by address at the start. Default: nobody has anything. */
  balances?: Record<string, bigint>;
  /** Default 10 gwei. */
  baseFeePerGas?: bigint;
  /** Default 1 gwei. */
  maxPriorityFeePerGas?: bigint;
}

const GWEI = 1_000_000_000n;
const PLAIN_TRANSFER_GAS = 21_000n;
const CONTRACT_CALL_GAS = 52_000n;

/** A node replaces a pending transaction only for at least 10 % more on both fees. */
const isReplacementPriced = (next: MemoryTransaction, current: MemoryTransaction) =>
  next.maxFeePerGas * 10n >= current.maxFeePerGas * 11n && next.maxPriorityFeePerGas * 10n >= current.maxPriorityFeePerGas * 11n;

export function createMemoryChain(options: MemoryChainOptions = {}): MemoryChain {
  const chainId = options.chainId ?? 31_337n;
  const fees = { baseFeePerGas: options.baseFeePerGas ?? 10n * GWEI, maxPriorityFeePerGas: options.maxPriorityFeePerGas ?? GWEI };
  const balances = new Map(Object.entries(options.balances ?? {}).map(([address, wei]) => [address.toLowerCase(), wei]));
  const tokenBalances = new Map<string, bigint>();
  const byHash = new Map<string, MemoryTransaction>();
  const sent: string[] = [];
  const failures: { error: Error; when: 'before' | 'after' }[] = [];
  let head = 1n;

  const balanceOf = (address: string) => balances.get(address.toLowerCase()) ?? 0n;
  const live = (from: string) => [...byHash.values()].filter((tx) => tx.from === from && tx.state !== 'dropped' && tx.state !== 'replaced');
  const minedNonce = (from: string) => live(from).reduce((next, tx) => (tx.state === 'pending' || tx.nonce < next ? next : tx.nonce + 1n), 0n);
  const pendingNonce = (from: string) => live(from).reduce((next, tx) => (tx.nonce < next ? next : tx.nonce + 1n), 0n);
  const gasOf = (data: string) => (data === '0x' ? PLAIN_TRANSFER_GAS : CONTRACT_CALL_GAS);
  const lookup = (txHash: string) => {
    const tx = byHash.get(txHash.toLowerCase());
    if (!tx) throw new Error(`memory chain: no transaction ${txHash}`);
    return tx;
  };

  const accept = (raw: string): SendRawOutcome => {
    const parsed = Transaction.from(raw);
    if (parsed.chainId !== chainId) throw chainError('chain_id_mismatch', `invalid chain id ${parsed.chainId}`);
    const tx: MemoryTransaction = {
      hash: (parsed.hash ?? '').toLowerCase(),
      raw,
      from: (parsed.from ?? '').toLowerCase(),
      to: (parsed.to ?? '').toLowerCase(),
      nonce: BigInt(parsed.nonce),
      value: parsed.value,
      data: parsed.data,
      gasLimit: parsed.gasLimit,
      maxFeePerGas: parsed.maxFeePerGas ?? 0n,
      maxPriorityFeePerGas: parsed.maxPriorityFeePerGas ?? 0n,
      state: 'pending',
    };
    const known = byHash.get(tx.hash);
    if (known?.state === 'pending') return 'already_known';
    if (tx.nonce < minedNonce(tx.from)) return 'nonce_too_low';
    if (tx.maxFeePerGas < fees.baseFeePerGas) return 'fee_too_low';
    if (balanceOf(tx.from) < tx.value + tx.gasLimit * tx.maxFeePerGas) {
      throw chainError('hot_wallet_insufficient_funds', 'insufficient funds for gas * price + value');
    }
    const rival = live(tx.from).find((other) => other.state === 'pending' && other.nonce === tx.nonce);
    if (rival) {
      if (!isReplacementPriced(tx, rival)) return 'replacement_underpriced';
      rival.state = 'replaced';
    }
    if (known) byHash.delete(tx.hash); // a dropped transaction sent again goes to the back
    byHash.set(tx.hash, tx);
    return 'accepted';
  };

  return {
    sent,
    transactions: () => [...byHash.values()].map((tx) => ({ ...tx })),
    setBalance: (address, wei) => void balances.set(address.toLowerCase(), wei),
    setTokenBalance: (token, address, units) => void tokenBalances.set(`${token.toLowerCase()}/${address.toLowerCase()}`, units),
    setFees(next) {
      fees.baseFeePerGas = next.baseFeePerGas ?? fees.baseFeePerGas;
      fees.maxPriorityFeePerGas = next.maxPriorityFeePerGas ?? fees.maxPriorityFeePerGas;
    },
    mine(txHash, mineOptions = {}) {
      const tx = lookup(txHash);
      if (tx.state !== 'pending') throw new Error(`memory chain: ${txHash} is ${tx.state}, not pending`);
      const isSuccess = mineOptions.isSuccess ?? true;
      head += 1n;
      const tip = tx.maxPriorityFeePerGas < tx.maxFeePerGas - fees.baseFeePerGas ? tx.maxPriorityFeePerGas : tx.maxFeePerGas - fees.baseFeePerGas;
      Object.assign(tx, { state: isSuccess ? 'mined' : 'reverted', blockNumber: head, gasUsed: gasOf(tx.data), effectiveGasPrice: fees.baseFeePerGas + tip });
      const moved = isSuccess ? tx.value : 0n;
      balances.set(tx.from, balanceOf(tx.from) - moved - (tx.gasUsed ?? 0n) * (tx.effectiveGasPrice ?? 0n));
      balances.set(tx.to, balanceOf(tx.to) + moved);
    },
    drop(txHash) {
      const tx = lookup(txHash);
      if (tx.state !== 'pending') throw new Error(`memory chain: ${txHash} is ${tx.state}, not pending`);
      tx.state = 'dropped';
    },
    advanceBlocks(count) {
      head += BigInt(count);
    },
    failNextSend(error, when = 'before') {
      failures.push({ error, when });
    },

    getChainId: async () => chainId,
    readAccount: async (address, token): Promise<AccountState> => ({
      pendingNonce: pendingNonce(address.toLowerCase()),
      balanceWei: balanceOf(address),
      tokenBalanceUnits: token === undefined ? 0n : (tokenBalances.get(`${token.toLowerCase()}/${address.toLowerCase()}`) ?? 0n),
    }),
    estimateFees: async () => ({ ...fees }),
    estimateGas: async (request) => gasOf(request.data),
    async sendRawTransaction(signedTx) {
      const raw = signedTx.toLowerCase();
      sent.push(raw);
      const failure = failures.shift();
      if (failure?.when === 'before') throw failure.error;
      const outcome = accept(raw);
      if (failure) throw failure.error;
      return outcome;
    },
    lookupTransaction: async (txHash): Promise<TransactionLookup> => {
      const tx = byHash.get(txHash.toLowerCase());
      if (!tx || tx.state === 'dropped' || tx.state === 'replaced') return { state: 'unknown' };
      if (tx.state === 'pending') return { state: 'pending' };
      return {
        state: 'mined',
        blockNumber: tx.blockNumber ?? 0n,
        confirmations: head - (tx.blockNumber ?? head) + 1n,
        gasUsed: tx.gasUsed ?? 0n,
        effectiveGasPrice: tx.effectiveGasPrice ?? 0n,
        isSuccess: tx.state === 'mined',
      };
    },
  };
}

/** The production hot wallet on a fixed test key, counting what it signs. */
export function createCountingWallet(privateKey = `0x${'42'.repeat(32)}`): HotWallet & { signatures(): number } {
  const wallet = createHotWallet(privateKey);
  let signatures = 0;
  return {
    address: wallet.address,
    signTransaction: (request) => {
      signatures += 1;
      return wallet.signTransaction(request);
    },
    signatures: () => signatures,
  };
}
