import type { Queryable } from '../db/index.js';
import type { ChainTransferStatus } from './chain-transfer-status.js';
import type { StoredText } from './sealed-transfer.js';

export type { ChainTransferStatus };

/**
 * The one signed on-chain transfer stored under a key (`chain_transfers`; the key is the payout's id,
 * `payout_id`). Addresses lower-case, amounts in base units.
 */
export interface ChainTransfer {
  id: string;
  payoutId: string;
  chainId: bigint;
  fromAddress: string;
  /**
   * The asset's recipient (the request's `to`): sealed when it is the owner's wallet, then named by
   * `toAddressIndex`; in clear when it is a swap's deposit address. `openTransferRecipient` opens it.
   */
  recipient: StoredText;
  toAddressIndex: Buffer | null;
  /** ERC-20 contract called; null for ETH. */
  tokenContract: string | null;
  asset: string;
  amountUnits: bigint;
  nonce: bigint;
  gasLimit: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** The serialized signed transaction, sealed; every broadcast sends exactly these bytes (`openSignedTransaction`). */
  signedTx: StoredText;
  /** The hash of `signedTx`, attempt 1. A replacement (same nonce, higher fee) has its own: see `TransferAttempt`. */
  txHash: string;
  /** The attempt that was mined, once the receipt is recorded: `txHash` or a replacement's. */
  minedTxHash: string | null;
  status: ChainTransferStatus;
  broadcastAttempts: number;
  lastBroadcastError: string | null;
  blockNumber: bigint | null;
  gasUsed: bigint | null;
  effectiveGasPrice: bigint | null;
  /** Wei paid for gas: gasUsed × effectiveGasPrice, once mined (also for a reverted transfer). */
  feeUnits: bigint | null;
  failureReason: string | null;
  signedAt: Date;
  broadcastAt: Date | null;
  confirmedAt: Date | null;
}

export const CHAIN_TRANSFER_COLUMNS = `id, payout_id, chain_id, from_address, to_address, to_address_ciphertext, to_address_index, token_contract,
  asset, amount_units, nonce, gas_limit, max_fee_per_gas, max_priority_fee_per_gas, signed_tx, signed_tx_ciphertext, tx_hash, mined_tx_hash, status, broadcast_attempts,
  last_broadcast_error, block_number, gas_used, effective_gas_price, fee_units, failure_reason, signed_at,
  broadcast_at, confirmed_at`;

function big(value: unknown): bigint {
  return BigInt(value as bigint | number | string);
}

function bigOrNull(value: unknown): bigint | null {
  return value === null || value === undefined ? null : big(value);
}

function storedText(clear: unknown, ciphertext: unknown): StoredText {
  return { clear: (clear as string | null | undefined) ?? null, ciphertext: (ciphertext as string | null | undefined) ?? null };
}

function dateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : new Date(value as Date | string);
}

export function toChainTransfer(row: Record<string, unknown>): ChainTransfer {
  return {
    id: row.id as string,
    payoutId: row.payout_id as string,
    chainId: big(row.chain_id),
    fromAddress: row.from_address as string,
    recipient: storedText(row.to_address, row.to_address_ciphertext),
    toAddressIndex: row.to_address_index === null || row.to_address_index === undefined ? null : Buffer.from(row.to_address_index as Uint8Array),
    tokenContract: (row.token_contract as string | null) ?? null,
    asset: row.asset as string,
    amountUnits: big(row.amount_units),
    nonce: big(row.nonce),
    gasLimit: big(row.gas_limit),
    maxFeePerGas: big(row.max_fee_per_gas),
    maxPriorityFeePerGas: big(row.max_priority_fee_per_gas),
    signedTx: storedText(row.signed_tx, row.signed_tx_ciphertext),
    txHash: row.tx_hash as string,
    minedTxHash: (row.mined_tx_hash as string | null) ?? null,
    status: row.status as ChainTransferStatus,
    broadcastAttempts: Number(row.broadcast_attempts),
    lastBroadcastError: (row.last_broadcast_error as string | null) ?? null,
    blockNumber: bigOrNull(row.block_number),
    gasUsed: bigOrNull(row.gas_used),
    effectiveGasPrice: bigOrNull(row.effective_gas_price),
    feeUnits: bigOrNull(row.fee_units),
    failureReason: (row.failure_reason as string | null) ?? null,
    signedAt: new Date(row.signed_at as Date | string),
    broadcastAt: dateOrNull(row.broadcast_at),
    confirmedAt: dateOrNull(row.confirmed_at),
  };
}

const CHAIN_TRANSFER_COLUMN_NAMES = CHAIN_TRANSFER_COLUMNS.split(',').map((column) => column.trim());

/** The transfer stored under `payoutId` (the key), or undefined when none was signed yet. */
export async function retrieveChainTransfer(q: Queryable, payoutId: string): Promise<ChainTransfer | undefined> {
  const { rows } = await q.query(`SELECT ${CHAIN_TRANSFER_COLUMNS} FROM chain_transfers WHERE payout_id = $1`, [payoutId]);
  return rows[0] ? toChainTransfer(rows[0]) : undefined;
}

/** One signing of a transfer: attempt 1 is the row's own bytes, later ones replace it at the same nonce. */
export interface TransferAttempt {
  attempt: number;
  /** Sealed for `signed-tx:<payout>:<attempt>`: `openSignedTransaction(payoutId, attempt, signedTx)`. */
  signedTx: StoredText;
  txHash: string;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  signedAt: Date;
}

/** Attempt 1: the transfer row's own bytes. */
export function firstAttemptOf(transfer: ChainTransfer): TransferAttempt {
  return {
    attempt: 1,
    signedTx: transfer.signedTx,
    txHash: transfer.txHash,
    maxFeePerGas: transfer.maxFeePerGas,
    maxPriorityFeePerGas: transfer.maxPriorityFeePerGas,
    signedAt: transfer.signedAt,
  };
}

interface ReplacementRow {
  attempt: number;
  signed_tx: string | null;
  signed_tx_ciphertext: string | null;
  tx_hash: string;
  max_fee_per_gas: string;
  max_priority_fee_per_gas: string;
  signed_at: Date | string;
}

/** A stored transfer with every attempt of it, oldest first (the last one is what the node should have). */
export interface StoredTransfer {
  transfer: ChainTransfer;
  attempts: TransferAttempt[];
}

/**
 * The columns of the transfer aliased `alias` and of its replacement attempts, each named
 * `<prefix><column>`, for a statement that reads a transfer (possibly joined to its owner's row, so
 * the two come from one snapshot); `storedTransferOf` reads them back.
 */
export function storedTransferColumns(alias: string, prefix: string): string {
  const columns = CHAIN_TRANSFER_COLUMN_NAMES.map((column) => `${alias}.${column} AS "${prefix}${column}"`).join(', ');
  return `${columns},
          (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'attempt', r.attempt, 'signed_tx', r.signed_tx, 'signed_tx_ciphertext', r.signed_tx_ciphertext, 'tx_hash', r.tx_hash,
                    'max_fee_per_gas', r.max_fee_per_gas::text, 'max_priority_fee_per_gas', r.max_priority_fee_per_gas::text, 'signed_at', r.signed_at)
                  ORDER BY r.attempt), '[]'::jsonb)
             FROM chain_transfer_replacements r WHERE r.payout_id = ${alias}.payout_id) AS "${prefix}replacements"`;
}

/** The transfer and attempts in `row`'s `<prefix>` columns (`storedTransferColumns`); undefined when there is none (a join found none). */
export function storedTransferOf(row: Record<string, unknown>, prefix: string): StoredTransfer | undefined {
  if (row[`${prefix}id`] === null || row[`${prefix}id`] === undefined) return undefined;
  const transfer = toChainTransfer(Object.fromEntries(CHAIN_TRANSFER_COLUMN_NAMES.map((column) => [column, row[`${prefix}${column}`]])));
  const replacements = (row[`${prefix}replacements`] ?? []) as ReplacementRow[];
  return { transfer, attempts: [firstAttemptOf(transfer), ...replacements.map(toAttempt)] };
}

/** The transfer stored under `payoutId` with every attempt of it, in one statement; undefined when none was signed yet. */
export async function retrieveChainTransferAndAttempts(q: Queryable, payoutId: string): Promise<StoredTransfer | undefined> {
  const { rows } = await q.query(`SELECT ${storedTransferColumns('t', '')} FROM chain_transfers t WHERE t.payout_id = $1`, [payoutId]);
  return rows[0] ? storedTransferOf(rows[0], '') : undefined;
}

function toAttempt(row: ReplacementRow): TransferAttempt {
  return {
    attempt: Number(row.attempt),
    signedTx: storedText(row.signed_tx, row.signed_tx_ciphertext),
    txHash: row.tx_hash,
    maxFeePerGas: BigInt(row.max_fee_per_gas),
    maxPriorityFeePerGas: BigInt(row.max_priority_fee_per_gas),
    signedAt: new Date(row.signed_at),
  };
}
