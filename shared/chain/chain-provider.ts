import { eip55Checksummed } from '../wallets/evm-address.js';
import { describeRpcFailure, toChainError } from './chain-errors.js';
import { chainError } from './errors.js';
import type { JsonRpc } from './json-rpc.js';

/** A transaction as the chain knows it, by hash. */
export type TransactionLookup =
  | { state: 'unknown' }
  | { state: 'pending' }
  | {
      state: 'mined';
      blockNumber: bigint;
      /** Blocks including the transaction's own: 1 right after it is mined. */
      confirmations: bigint;
      gasUsed: bigint;
      /** Wei per gas actually paid (EIP-1559: base fee + effective tip). */
      effectiveGasPrice: bigint;
      isSuccess: boolean;
    };

/**
 * How the node took a raw transaction. `fee_too_low`: its max fee is below the base fee (or the
 * node's minimum); these exact bytes will not be taken until fees fall, a replacement must pay more.
 */
export type SendRawOutcome = 'accepted' | 'already_known' | 'nonce_too_low' | 'replacement_underpriced' | 'fee_too_low';

export interface AccountState {
  /** `eth_getTransactionCount(address, 'pending')`. */
  pendingNonce: bigint;
  /** Wei at the latest block. */
  balanceWei: bigint;
  /** Base units of `token` at the latest block; 0n when no token was asked for. */
  tokenBalanceUnits: bigint;
}

/**
 * The chain port: what payouts need from an EVM node, in our vocabulary. Every failure is an
 * AppError (see `toChainError`). The production adapter is `createChain`; tests run it against anvil.
 */
export interface Chain {
  /** The node's EIP-155 chain id. */
  getChainId(): Promise<bigint>;
  /** Pending nonce and balances of `address` (and of `token`, an ERC-20 contract, when given). */
  readAccount(address: string, token?: string): Promise<AccountState>;
  /** The latest base fee and the node's suggested priority fee, in wei per gas. */
  estimateFees(): Promise<{ baseFeePerGas: bigint; maxPriorityFeePerGas: bigint }>;
  /** `eth_estimateGas`. @throws PermanentError `transfer_would_revert` when the call reverts. */
  estimateGas(request: { from: string; to: string; data: string; value: bigint }): Promise<bigint>;
  /** `eth_sendRawTransaction`, with the "we already sent this" answers classified instead of thrown. */
  sendRawTransaction(signedTx: string): Promise<SendRawOutcome>;
  /** Receipt (with confirmations) or mempool presence of a transaction hash. */
  lookupTransaction(txHash: string): Promise<TransactionLookup>;
}


const ALREADY_KNOWN = /already known|already imported|known transaction|already exists|transaction already in/i;
const NONCE_TOO_LOW = /nonce too low|nonce has already been used|nonce is too low/i;
const REPLACEMENT_UNDERPRICED = /replacement transaction underpriced|replacement fee too low|replacement.*underpriced/i;
const FEE_TOO_LOW = /max fee per gas less than block base fee|fee cap less than block base fee|feecap.*below|transaction underpriced|gas price below minimum|fee too low/i;

async function translated<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toChainError(error, operation);
  }
}

/** `0x`-hex of a non-negative integer, as JSON-RPC quantities are written. */
export function toQuantity(value: bigint | number): string {
  return `0x${BigInt(value).toString(16)}`;
}

/** A JSON-RPC quantity (`0x…`) as a bigint; anything else is the node answering nonsense. */
export function fromQuantity(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]+$/.test(value)) throw chainError('chain_request_failed', `The node answered no number for ${what}.`, { what });
  return BigInt(value);
}

/** `balanceOf(address)` calldata: the selector and the address as one 32-byte word. */
export function balanceOfCall(owner: string): string {
  return `0x70a08231${owner.slice(2).toLowerCase().padStart(64, '0')}`;
}

/** `eth_getTransactionReceipt` as the node answers it (quantities in hex; `status` '0x1' = success). */
export interface RpcReceipt {
  blockNumber: string;
  gasUsed: string;
  effectiveGasPrice: string;
  status: string;
  logs: { address: string; topics: string[]; data: string }[];
}

/** The production `Chain` over a JSON-RPC transport (`createJsonRpc`; an ethers provider works too). */
export function createChain(rpc: JsonRpc): Chain {
  return {
    getChainId: () => translated('get_chain_id', async () => fromQuantity(await rpc.send('eth_chainId', []), 'eth_chainId')),

    readAccount: (address, token) =>
      translated('read_account', async () => {
        const [pendingNonce, balanceWei, tokenBalanceUnits] = await Promise.all([
          rpc.send('eth_getTransactionCount', [address, 'pending']).then((value) => fromQuantity(value, 'eth_getTransactionCount')),
          rpc.send('eth_getBalance', [address, 'latest']).then((value) => fromQuantity(value, 'eth_getBalance')),
          token === undefined
            ? Promise.resolve(0n)
            : rpc.send('eth_call', [{ to: token, data: balanceOfCall(address) }, 'latest']).then((value) => fromQuantity(value, 'balanceOf')),
        ]);
        return { pendingNonce, balanceWei, tokenBalanceUnits };
      }),

    estimateFees: () =>
      translated('estimate_fees', async () => {
        const [block, tip] = await Promise.all([
          rpc.send('eth_getBlockByNumber', ['latest', false]) as Promise<{ baseFeePerGas?: string } | null>,
          rpc.send('eth_maxPriorityFeePerGas', []).then(
            (value) => fromQuantity(value, 'eth_maxPriorityFeePerGas'),
            () => 1_000_000_000n, // nodes without the method: ethers' own default tip, 1 gwei
          ),
        ]);
        if (!block || block.baseFeePerGas === undefined || block.baseFeePerGas === null) {
          throw chainError('chain_without_eip1559', 'The node reports no base fee; EIP-1559 fees are required.');
        }
        return { baseFeePerGas: fromQuantity(block.baseFeePerGas, 'baseFeePerGas'), maxPriorityFeePerGas: tip };
      }),

    estimateGas: (request) =>
      translated('estimate_gas', async () =>
        fromQuantity(
          await rpc.send('eth_estimateGas', [{ from: request.from, to: request.to, data: request.data, value: toQuantity(request.value) }]),
          'eth_estimateGas',
        ),
      ),

    sendRawTransaction: async (signedTx) => {
      try {
        await rpc.send('eth_sendRawTransaction', [signedTx]);
        return 'accepted';
      } catch (error) {
        const { ethersCode, text } = describeRpcFailure(error);
        if (ALREADY_KNOWN.test(text)) return 'already_known';
        if (ethersCode === 'NONCE_EXPIRED' || NONCE_TOO_LOW.test(text)) return 'nonce_too_low';
        if (ethersCode === 'REPLACEMENT_UNDERPRICED' || REPLACEMENT_UNDERPRICED.test(text)) return 'replacement_underpriced';
        if (FEE_TOO_LOW.test(text)) return 'fee_too_low';
        throw toChainError(error, 'send_raw_transaction');
      }
    },

    lookupTransaction: (txHash) =>
      translated('lookup_transaction', async (): Promise<TransactionLookup> => {
        const receipt = (await rpc.send('eth_getTransactionReceipt', [txHash])) as RpcReceipt | null;
        if (receipt) {
          const blockNumber = fromQuantity(receipt.blockNumber, 'blockNumber');
          const latest = fromQuantity(await rpc.send('eth_blockNumber', []), 'eth_blockNumber');
          const confirmations = latest - blockNumber + 1n;
          return {
            state: 'mined',
            blockNumber,
            confirmations: confirmations > 0n ? confirmations : 0n,
            gasUsed: fromQuantity(receipt.gasUsed, 'gasUsed'),
            effectiveGasPrice: fromQuantity(receipt.effectiveGasPrice, 'effectiveGasPrice'),
            isSuccess: receipt.status === '0x1',
          };
        }
        const pending = await rpc.send('eth_getTransactionByHash', [txHash]);
        return pending ? { state: 'pending' } : { state: 'unknown' };
      }),
  };
}

/** Lower-case 0x address, after checking it is a valid EVM address (any checksum spelling). */
export function normalizeEvmAddress(address: string): string {
  const body = /^0x([0-9a-fA-F]{40})$/.exec(address)?.[1];
  const isMixedCase = body !== undefined && body !== body.toLowerCase() && body !== body.toUpperCase();
  // A mixed-case address carries an EIP-55 checksum: one wrong character fails it.
  if (body === undefined || (isMixedCase && eip55Checksummed(body) !== address)) {
    throw chainError('invalid_evm_address', 'Not a valid EVM address.', { address: address.slice(0, 64) });
  }
  return `0x${body.toLowerCase()}`;
}
