import { Contract, FetchRequest, JsonRpcProvider, Network, Wallet, getAddress, type TransactionRequest } from 'ethers';
import { describeRpcFailure, toChainError } from './chain-errors.js';
import { chainError } from './errors.js';

/**
 * The ethers provider for an EVM JSON-RPC URL.
 *
 * `cacheTimeout: -1` turns off ethers' short request cache: with it, a second `eth_getTransactionCount`
 * within 250 ms returns the stale answer, which is how the wrong nonce gets used (H-tech-notes §5,
 * ethers-io/ethers.js#4549). With `chainId` the network is static: no detection loop that retries
 * forever against a dead URL, and a failing node fails the request instead.
 */
export function createChainProvider(rpcUrl: string, options: { chainId?: bigint | number; timeoutMs?: number } = {}): JsonRpcProvider {
  const request = new FetchRequest(rpcUrl);
  request.timeout = options.timeoutMs ?? 15_000;
  const network = options.chainId === undefined ? undefined : Network.from(BigInt(options.chainId));
  return new JsonRpcProvider(request, network, {
    cacheTimeout: -1,
    pollingInterval: 100,
    staticNetwork: network ?? false,
  });
}

/** What a hot wallet can do: say its address and sign a fully populated transaction offline. */
export interface HotWallet {
  /** Checksummed address. */
  readonly address: string;
  /** Serialized signed transaction (0x…). Makes no network call: every field must be given. */
  signTransaction(request: TransactionRequest): Promise<string>;
}

/**
 * The hot wallet from its private key (`0x` + 64 hex). The key stays in a closure: the returned object
 * has no property holding it, so logging or serializing the wallet cannot leak it. The wallet is not
 * connected to a provider on purpose: a connected ethers wallet fills in the nonce from the network
 * when asked to send, which is exactly the double-pay path we avoid; we only ever sign.
 */
export function createHotWallet(privateKeyHex: string): HotWallet {
  let signer: Wallet;
  try {
    signer = new Wallet(privateKeyHex);
  } catch {
    throw chainError('invalid_hot_wallet_key', 'HOST_WALLET_PRIVATE_KEY is not a valid secp256k1 private key.');
  }
  const address = signer.address;
  return Object.freeze({
    address,
    signTransaction: (request: TransactionRequest) => signer.signTransaction(request),
    toJSON: () => ({ address }),
  });
}

/**
 * Refuses a hot wallet whose key is not the configured `HOT_WALLET_ADDRESS`: that address is where
 * ChangeNow refunds failed swaps, so a mismatch would send refunds to a wallet we may not control.
 * @throws PermanentError `hot_wallet_mismatch`.
 */
export function assertHotWalletAddress(wallet: HotWallet, configuredAddress: string): void {
  if (wallet.address.toLowerCase() !== configuredAddress.toLowerCase()) {
    throw chainError(
      'hot_wallet_mismatch',
      `HOT_WALLET_ADDRESS ${configuredAddress} is not the address of HOST_WALLET_PRIVATE_KEY (${wallet.address}); swap refunds would go to the wrong wallet.`,
    );
  }
}

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

/** How the node answered `eth_sendRawTransaction`. */
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

const ERC20_BALANCE_ABI = ['function balanceOf(address) view returns (uint256)'];

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

/** The production `Chain` over an ethers provider (build it with `createChainProvider`). */
export function createChain(provider: JsonRpcProvider): Chain {
  return {
    getChainId: () => translated('get_chain_id', async () => BigInt((await provider.send('eth_chainId', [])) as string)),

    readAccount: (address, token) =>
      translated('read_account', async () => {
        const [pendingNonce, balanceWei, tokenBalanceUnits] = await Promise.all([
          provider.getTransactionCount(address, 'pending'),
          provider.getBalance(address, 'latest'),
          token === undefined
            ? Promise.resolve(0n)
            : (new Contract(token, ERC20_BALANCE_ABI, provider).getFunction('balanceOf')(address) as Promise<bigint>),
        ]);
        return { pendingNonce: BigInt(pendingNonce), balanceWei, tokenBalanceUnits };
      }),

    estimateFees: () =>
      translated('estimate_fees', async () => {
        const [block, tip] = await Promise.all([
          provider.getBlock('latest'),
          provider.send('eth_maxPriorityFeePerGas', []).then(
            (value: string) => BigInt(value),
            () => 1_000_000_000n, // nodes without the method: ethers' own default tip, 1 gwei
          ),
        ]);
        if (!block || block.baseFeePerGas === null) {
          throw chainError('chain_without_eip1559', 'The node reports no base fee; EIP-1559 fees are required.');
        }
        return { baseFeePerGas: block.baseFeePerGas, maxPriorityFeePerGas: tip };
      }),

    estimateGas: (request) =>
      translated('estimate_gas', () =>
        provider.estimateGas({ from: request.from, to: request.to, data: request.data, value: request.value }),
      ),

    sendRawTransaction: async (signedTx) => {
      try {
        await provider.send('eth_sendRawTransaction', [signedTx]);
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
        const receipt = await provider.getTransactionReceipt(txHash);
        if (receipt) {
          const latest = await provider.getBlockNumber();
          return {
            state: 'mined',
            blockNumber: BigInt(receipt.blockNumber),
            confirmations: BigInt(Math.max(0, latest - receipt.blockNumber + 1)),
            gasUsed: receipt.gasUsed,
            effectiveGasPrice: receipt.gasPrice,
            isSuccess: receipt.status === 1,
          };
        }
        const pending = await provider.getTransaction(txHash);
        return pending ? { state: 'pending' } : { state: 'unknown' };
      }),
  };
}

/** Lower-case 0x address, after checking it is a valid EVM address (any checksum spelling). */
export function normalizeEvmAddress(address: string): string {
  try {
    return getAddress(address).toLowerCase();
  } catch {
    throw chainError('invalid_evm_address', 'Not a valid EVM address.', { address: address.slice(0, 64) });
  }
}
