import { normalizeEvmAddress } from './chain-provider.js';
import { chainError } from './errors.js';

/** Assets the hot wallet can send on Ethereum. */
export type TransferAsset = 'ETH' | 'USDT_ERC20';

export function isTransferAsset(asset: string): asset is TransferAsset {
  return asset === 'ETH' || asset === 'USDT_ERC20';
}

/**
 * What to send from the hot wallet, as a caller knows it: chain/ signs exactly this, whatever it
 * pays for (`signAndStoreTransfer` resolves the token contract and builds the call).
 */
export interface TransferRequest {
  /** ETH or USDT_ERC20; another asset is refused (`unsupported_transfer_asset`). */
  asset: string;
  /** Base units of `asset`: wei for ETH, 10^-6 USDT for USDT_ERC20. */
  amountUnits: bigint;
  /** Who receives the asset (any checksum spelling). */
  to: string;
  /**
   * The blind index of `to` when it is a payout destination sealed at rest: the transfer's recipient
   * is then stored sealed, named by this index, so the database can still check it goes to the
   * payout's wallet (migrations 029, 033).
   */
  toIndex?: Buffer | null;
}

/** A request with its asset checked and its token contract resolved: what `buildTransfer` turns into a call. */
export interface TransferInput {
  asset: TransferAsset;
  /** Who receives the asset (any checksum spelling). */
  to: string;
  /** Base units of `asset`: wei for ETH, 10^-6 USDT for USDT_ERC20. */
  amountUnits: bigint;
  /** The ERC-20 contract; required for USDT_ERC20, refused for ETH. */
  tokenAddress?: string;
}

/** The call that moves the asset, all addresses lower-case. */
export interface TransferCall {
  /** The recipient for ETH; the token contract for an ERC-20. */
  to: string;
  /** Wei sent with the call: the amount for ETH, always 0 for an ERC-20. */
  value: bigint;
  /** '0x' for ETH; `transfer(recipient, amount)` calldata for an ERC-20. */
  data: string;
  /** The asset's recipient (equals `to` for ETH). */
  recipient: string;
  tokenContract: string | null;
}

/** ERC-20 `transfer(address,uint256)` calldata: its selector, then each argument as one 32-byte word. */
function erc20TransferData(recipient: string, amountUnits: bigint): string {
  return `0xa9059cbb${recipient.slice(2).padStart(64, '0')}${amountUnits.toString(16).padStart(64, '0')}`;
}
const UINT256_MAX = (1n << 256n) - 1n;


/**
 * The call for a transfer: a plain value transfer for ETH, or ERC-20 `transfer(to, amount)` calldata
 * to the token contract (value 0) for USDT_ERC20. The legacy system once sent ETH where USDT was due:
 * here the asset alone decides the call's shape, and a token argument that does not fit it is an error.
 *
 * @throws PermanentError `invalid_transfer` for a non-positive amount, a missing token contract for
 *   USDT_ERC20 or a token contract given for ETH; `invalid_evm_address` for a bad address.
 */
export function buildTransfer(input: TransferInput): TransferCall {
  if (input.amountUnits <= 0n || input.amountUnits > UINT256_MAX) {
    throw chainError('invalid_transfer', 'A transfer amount must be positive.', { asset: input.asset });
  }
  const recipient = normalizeEvmAddress(input.to);
  switch (input.asset) {
    case 'ETH':
      if (input.tokenAddress !== undefined) {
        throw chainError('invalid_transfer', 'An ETH transfer takes no token contract.', { asset: input.asset });
      }
      return { to: recipient, value: input.amountUnits, data: '0x', recipient, tokenContract: null };
    case 'USDT_ERC20': {
      if (input.tokenAddress === undefined) {
        throw chainError('invalid_transfer', 'A USDT_ERC20 transfer needs the token contract address.', { asset: input.asset });
      }
      const tokenContract = normalizeEvmAddress(input.tokenAddress);
      const data = erc20TransferData(recipient, input.amountUnits);
      return { to: tokenContract, value: 0n, data, recipient, tokenContract };
    }
    default: {
      const unknown: never = input.asset;
      throw chainError('invalid_transfer', 'Unsupported transfer asset.', { asset: String(unknown) });
    }
  }
}

export interface FeeChoice {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/**
 * EIP-1559 fees: tip as suggested, max fee = 2 × base fee + tip (room for six full blocks of base fee
 * growth), clamped to `maxFeePerGasCapWei`. While base fee + tip fits under the cap, the clamped
 * transaction can still be mined now; above that we defer.
 *
 * @throws TransientError `gas_price_above_cap` when base fee + tip exceeds the cap.
 */
export function chooseFees(
  estimate: { baseFeePerGas: bigint; maxPriorityFeePerGas: bigint },
  maxFeePerGasCapWei: bigint,
): FeeChoice {
  const tip = estimate.maxPriorityFeePerGas;
  const needed = estimate.baseFeePerGas + tip;
  if (needed > maxFeePerGasCapWei) {
    throw chainError('gas_price_above_cap', 'Gas fees are above the configured cap; the payout is deferred.', {
      baseFeePerGas: estimate.baseFeePerGas.toString(),
      maxPriorityFeePerGas: tip.toString(),
      maxFeePerGasCapWei: maxFeePerGasCapWei.toString(),
    });
  }
  const wanted = 2n * estimate.baseFeePerGas + tip;
  const maxFeePerGas = wanted < maxFeePerGasCapWei ? wanted : maxFeePerGasCapWei;
  return { maxFeePerGas, maxPriorityFeePerGas: tip < maxFeePerGas ? tip : maxFeePerGas };
}

/** Gas limit with a safety margin over the estimate, rounded up; unused gas is not charged. */
export function withGasMargin(estimate: bigint, marginBps: number): bigint {
  const factor = 10_000n + BigInt(marginBps);
  return (estimate * factor + 9_999n) / 10_000n;
}

/** Gas a plain ETH transfer uses; an ERC-20 `transfer` to an address that already holds the token uses about 35–55k. */
const TRANSFER_GAS: Record<TransferAsset, bigint> = { ETH: 21_000n, USDT_ERC20: 65_000n };

/**
 * What sending `asset` from the hot wallet would cost now, in wei: the typical gas of the call at
 * the current base fee plus tip. An estimate for deciding whether a payout is worth sending, not
 * the fee cap a transaction is signed with.
 */
export function expectedTransferFeeWei(asset: TransferAsset, fees: { baseFeePerGas: bigint; maxPriorityFeePerGas: bigint }): bigint {
  return TRANSFER_GAS[asset] * (fees.baseFeePerGas + fees.maxPriorityFeePerGas);
}
