import { Contract, getAddress, id as topicOf, type JsonRpcProvider } from 'ethers';
import { toChainError } from '../chain/index.js';

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

const ERC20_BALANCE_ABI = ['function balanceOf(address) view returns (uint256)'];
const TRANSFER_TOPIC = topicOf('Transfer(address,address,uint256)');

async function translated<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toChainError(error, operation);
  }
}

/** The production `HotWalletChain` over an ethers provider (`createChainProvider`). */
export function createHotWalletChain(provider: JsonRpcProvider): HotWalletChain {
  return {
    readHoldings: (address, tokenContracts) =>
      translated('read_holdings', async () => {
        const blockNumber = await provider.getBlockNumber();
        const [weiUnits, nonce, ...tokens] = await Promise.all([
          provider.getBalance(address, blockNumber),
          provider.getTransactionCount(address, blockNumber),
          ...tokenContracts.map(
            (contract) => new Contract(contract, ERC20_BALANCE_ABI, provider).getFunction('balanceOf')(address, { blockTag: blockNumber }) as Promise<bigint>,
          ),
        ]);
        return {
          blockNumber: BigInt(blockNumber),
          weiUnits,
          nonce: BigInt(nonce),
          tokenUnits: new Map(tokenContracts.map((contract, index) => [contract.toLowerCase(), tokens[index] ?? 0n])),
        };
      }),

    receiptAt: (txHash, atBlock) =>
      translated('receipt_at', async () => {
        const receipt = await provider.getTransactionReceipt(txHash);
        if (!receipt || BigInt(receipt.blockNumber) > atBlock) return undefined;
        return { blockNumber: BigInt(receipt.blockNumber), isSuccess: receipt.status === 1, feeWei: receipt.gasUsed * receipt.gasPrice };
      }),

    receivedBy: (txHash, wallet) =>
      translated('received_by', async () => {
        const [receipt, transaction] = await Promise.all([provider.getTransactionReceipt(txHash), provider.getTransaction(txHash)]);
        if (!receipt || !transaction || receipt.status !== 1) return undefined;
        const to = getAddress(wallet);
        const weiUnits = transaction.to !== null && getAddress(transaction.to) === to ? transaction.value : 0n;
        const tokenUnits = new Map<string, bigint>();
        for (const log of receipt.logs) {
          const recipient = log.topics[2];
          if (log.topics[0] !== TRANSFER_TOPIC || recipient === undefined || getAddress(`0x${recipient.slice(26)}`) !== to) continue;
          const contract = log.address.toLowerCase();
          tokenUnits.set(contract, (tokenUnits.get(contract) ?? 0n) + BigInt(log.data));
        }
        return { weiUnits, tokenUnits };
      }),
  };
}
