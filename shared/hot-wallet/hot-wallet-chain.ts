import { balanceOfCall, fromQuantity, type JsonRpc, type RpcReceipt, toChainError, toQuantity } from '../chain/index.js';

/** What the wallet holds at one block: every read of a comparison is pinned to the same block. */
export interface WalletHoldings {
  blockNumber: bigint;
  /** Wei. */
  weiUnits: bigint;
  /** Base units per token contract (lower-case address). */
  tokenUnits: Map<string, bigint>;
  /** Transactions the wallet had sent by this block (`eth_getTransactionCount` at the block). */
  nonce: bigint;
}

/** A transaction's receipt as far as the wallet's balance cares. */
export interface SettledTransaction {
  blockNumber: bigint;
  isSuccess: boolean;
  /** gasUsed × effectiveGasPrice, wei: paid by the sender whether or not the call succeeded. */
  feeWei: bigint;
}

/**
 * The chain as the hot-wallet reconciliation reads it (read-only; no key). Every failure is an
 * AppError from `toChainError` (`chain_unavailable` when the node cannot be reached).
 */
export interface HotWalletChain {
  /** Balances and nonce of `address` at the latest block (the block is part of the answer). */
  readHoldings(address: string, tokenContracts: readonly string[]): Promise<WalletHoldings>;
  /** The receipt of `txHash` when it was mined at or before `atBlock`; undefined otherwise. */
  receiptAt(txHash: string, atBlock: bigint): Promise<SettledTransaction | undefined>;
  /**
   * What a mined, successful transaction moved into `wallet`: its ETH value when sent to it, and each
   * token's `Transfer` logs to it. Undefined when the transaction is not mined or reverted.
   */
  receivedBy(txHash: string, wallet: string): Promise<{ weiUnits: bigint; tokenUnits: Map<string, bigint> } | undefined>;
}

/** keccak256('Transfer(address,address,uint256)'): the topic of every ERC-20 transfer log. */
const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';


async function translated<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toChainError(error, operation);
  }
}

/** The production `HotWalletChain` over a JSON-RPC transport (`createJsonRpc`; an ethers provider works too). */
export function createHotWalletChain(rpc: JsonRpc): HotWalletChain {
  const receiptOf = (txHash: string) => rpc.send('eth_getTransactionReceipt', [txHash]) as Promise<RpcReceipt | null>;
  return {
    readHoldings: (address, tokenContracts) =>
      translated('read_holdings', async () => {
        const blockNumber = fromQuantity(await rpc.send('eth_blockNumber', []), 'eth_blockNumber');
        const atBlock = toQuantity(blockNumber);
        const [weiUnits, nonce, ...tokens] = await Promise.all([
          rpc.send('eth_getBalance', [address, atBlock]).then((value) => fromQuantity(value, 'eth_getBalance')),
          rpc.send('eth_getTransactionCount', [address, atBlock]).then((value) => fromQuantity(value, 'eth_getTransactionCount')),
          ...tokenContracts.map((contract) => rpc.send('eth_call', [{ to: contract, data: balanceOfCall(address) }, atBlock]).then((value) => fromQuantity(value, 'balanceOf'))),
        ]);
        return {
          blockNumber,
          weiUnits,
          nonce,
          tokenUnits: new Map(tokenContracts.map((contract, index) => [contract.toLowerCase(), tokens[index] ?? 0n])),
        };
      }),

    receiptAt: (txHash, atBlock) =>
      translated('receipt_at', async () => {
        const receipt = await receiptOf(txHash);
        if (!receipt || fromQuantity(receipt.blockNumber, 'blockNumber') > atBlock) return undefined;
        return {
          blockNumber: fromQuantity(receipt.blockNumber, 'blockNumber'),
          isSuccess: receipt.status === '0x1',
          feeWei: fromQuantity(receipt.gasUsed, 'gasUsed') * fromQuantity(receipt.effectiveGasPrice, 'effectiveGasPrice'),
        };
      }),

    receivedBy: (txHash, wallet) =>
      translated('received_by', async () => {
        const [receipt, transaction] = await Promise.all([
          receiptOf(txHash),
          rpc.send('eth_getTransactionByHash', [txHash]) as Promise<{ to: string | null; value: string } | null>,
        ]);
        if (!receipt || !transaction || receipt.status !== '0x1') return undefined;
        const to = wallet.toLowerCase();
        const weiUnits = transaction.to !== null && transaction.to.toLowerCase() === to ? fromQuantity(transaction.value, 'value') : 0n;
        const tokenUnits = new Map<string, bigint>();
        for (const log of receipt.logs) {
          const recipient = log.topics[2];
          if (log.topics[0]?.toLowerCase() !== TRANSFER_TOPIC || recipient === undefined || `0x${recipient.slice(26)}`.toLowerCase() !== to) continue;
          const contract = log.address.toLowerCase();
          tokenUnits.set(contract, (tokenUnits.get(contract) ?? 0n) + (log.data === '0x' ? 0n : BigInt(log.data)));
        }
        return { weiUnits, tokenUnits };
      }),
  };
}
