import { type StoredTransfer, storedTransferColumns, storedTransferOf } from '../chain/index.js';
import type { Queryable, Tx } from '../db/index.js';
import { ledgerAccountCodes, postLedgerTransaction } from '../ledger/index.js';
import { type StoredWallet, openWallet, storedWalletColumns, storedWalletOf } from '../wallets/index.js';
import type { PayoutState } from './payout-state.js';
import { payoutError } from './errors.js';

/**
 * The one read model of a payout: what the stages re-read from `payouts` before acting (never taken
 * from a message), and what the owner's dashboard shows of the row itself.
 */
export interface PayoutRow {
  id: string;
  /** instant (one payment), threshold (a threshold owner's parked USDT), balance (an instant owner's available balance), conversion (owners' ETH parked in USDT, to our own wallet). */
  kind: 'instant' | 'threshold' | 'balance' | 'conversion';
  state: PayoutState;
  channelId: string | null;
  /** The payment an instant payout pays out; null for the other kinds. */
  paymentId: string | null;
  asset: string;
  amountUnits: bigint;
  /** The owner account the destination is sealed for; null for a conversion (the platform's own wallet). */
  ownerAccountId: string | null;
  destinationCurrency: string;
  destinationNetwork: string;
  /** The wallet and extra id as stored (sealed for the owner): `payoutDestinationOf` opens them, `walletHintOf` masks them. */
  destination: StoredWallet;
  /** What the quote said the destination gets, decimal text in the destination currency. */
  quotedToAmount: string | null;
  failureCode: string | null;
  requestedAt: Date;
  completedAt: Date | null;
}

/** The `payouts` columns of a `PayoutRow`, as `payoutColumns` selects them. */
export interface PayoutColumns {
  id: string;
  kind: PayoutRow['kind'];
  state: PayoutState;
  channel_id: string | null;
  payment_id: string | null;
  asset: string;
  amount_units: string;
  owner_account_id: string | null;
  destination_currency: string;
  destination_network: string;
  destination_wallet: string | null;
  destination_extra_id: string | null;
  quoted_to_amount: string | null;
  failure_code: string | null;
  requested_at: Date | string;
  completed_at: Date | string | null;
}

/**
 * The select list of a `PayoutRow`, for `retrievePayout` and for a query that joins more to the
 * payout (the dashboard's pages): `SELECT ${payoutColumns('po')}, … FROM payouts po …`, each row then
 * read with `toPayoutRow`.
 */
export function payoutColumns(alias?: string): string {
  const p = alias ? `${alias}.` : '';
  return `${p}id, ${p}kind, ${p}state, ${p}channel_id, ${p}payment_id, ${p}asset, ${p}amount_units::text AS amount_units, ${p}owner_account_id,
          ${p}destination_currency, ${p}destination_network, ${storedWalletColumns(`${p}destination_wallet`, `${p}destination_extra_id`)},
          ${p}quoted_to_amount::text AS quoted_to_amount, ${p}failure_code, ${p}requested_at, ${p}completed_at`;
}

export function toPayoutRow(row: PayoutColumns): PayoutRow {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    channelId: row.channel_id,
    paymentId: row.payment_id,
    asset: row.asset,
    amountUnits: BigInt(row.amount_units),
    ownerAccountId: row.owner_account_id,
    destinationCurrency: row.destination_currency,
    destinationNetwork: row.destination_network,
    destination: storedWalletOf(row as unknown as Record<string, unknown>, 'destination_wallet', 'destination_extra_id'),
    quotedToAmount: row.quoted_to_amount,
    failureCode: row.failure_code,
    requestedAt: new Date(row.requested_at),
    completedAt: row.completed_at === null ? null : new Date(row.completed_at),
  };
}

/**
 * The payout's wallet and extra id in clear. Needs the field keys: only the stages that hand the
 * address on (quote-payout, create-swap, send-transfer) and the owner's dashboard call it.
 */
export function payoutDestinationOf(payout: Pick<PayoutRow, 'ownerAccountId' | 'destination'>): { wallet: string; extraId: string | null } {
  return openWallet(payout.ownerAccountId, payout.destination);
}

/** The payout by id. @throws PermanentError `payout_not_found`. */
export async function retrievePayout(q: Queryable, payoutId: string, options: { lock?: boolean } = {}): Promise<PayoutRow> {
  const { rows } = await q.query<PayoutColumns>(
    `SELECT ${payoutColumns()} FROM payouts WHERE id = $1${options.lock ? ' FOR NO KEY UPDATE' : ''}`,
    [payoutId],
  );
  const row = rows[0];
  if (!row) throw payoutError('payout_not_found', 'No payout has this id.', { payoutId });
  return toPayoutRow(row);
}

/**
 * The payout and its stored transfer with the transfer's attempts, if any, in one statement: one
 * snapshot, so the two agree (the transfer row and `transfer_signed` commit together; a payout never
 * looks unsigned while its row exists, which would make a concurrent delivery skip it).
 */
export async function retrievePayoutAndTransfer(q: Queryable, payoutId: string): Promise<PayoutAndTransfer> {
  const { rows } = await q.query<PayoutColumns & Record<string, unknown>>(
    `SELECT ${PAYOUT_AND_TRANSFER_COLUMNS} FROM payouts p LEFT JOIN chain_transfers t ON t.payout_id = p.id WHERE p.id = $1`,
    [payoutId],
  );
  const row = rows[0];
  if (!row) throw payoutError('payout_not_found', 'No payout has this id.', { payoutId });
  return payoutAndTransferOf(row);
}

/** A payout with its stored transfer and that transfer's attempts, as one statement reads them. */
export interface PayoutAndTransfer {
  payout: PayoutRow;
  stored: StoredTransfer | undefined;
}

/** The columns of `PayoutAndTransfer` for a statement over `payouts p` LEFT JOINed with `chain_transfers t`. */
export const PAYOUT_AND_TRANSFER_COLUMNS = `${payoutColumns('p')}, ${storedTransferColumns('t', 'transfer_')}`;

/** A row of `PAYOUT_AND_TRANSFER_COLUMNS`. */
export function payoutAndTransferOf(row: PayoutColumns & Record<string, unknown>): PayoutAndTransfer {
  return { payout: toPayoutRow(row), stored: storedTransferOf(row, 'transfer_') };
}

/**
 * Whether the owner is paid in the asset the hot wallet holds, on Ethereum: then there is no swap and
 * the transfer goes straight to the destination (ETH → ETH/ETH, USDT_ERC20 → USDT/ETH).
 */
export function isDirectPayout(payout: Pick<PayoutRow, 'asset' | 'destinationCurrency' | 'destinationNetwork'>): boolean {
  if (payout.destinationNetwork !== 'ETH') return false;
  return (payout.asset === 'ETH' && payout.destinationCurrency === 'ETH') || (payout.asset === 'USDT_ERC20' && payout.destinationCurrency === 'USDT');
}

/**
 * Owes a payout's amount to its owner(s) again, once per payout (`return:<payout id>`).
 *
 * `backInHotWallet` null: nothing was sent, the claim is undone (`payouts:in_flight` → owners).
 * Otherwise the transfer went out: `backInHotWallet` of it came back (a refund), the rest is a swap
 * loss the platform carries; the owners are owed the whole amount either way.
 *
 * A conversion payout has no owner of its own: each owner in its batch gets back exactly the share
 * they put in, and the batch is marked failed.
 */
export async function returnToOwners(
  tx: Tx,
  payout: PayoutRow,
  options: { at: Date; kind: 'payout_returned' | 'swap_refunded'; description: string; backInHotWallet: bigint | null },
): Promise<void> {
  const owners: { channelId: string; units: bigint }[] = payout.channelId
    ? [{ channelId: payout.channelId, units: payout.amountUnits }]
    : await conversionShares(tx, payout.id);
  if (owners.length === 0) return;
  const entries = owners.map((owner) => ({ account: ledgerAccountCodes.owner(owner.channelId, payout.asset), asset: payout.asset, amount: -owner.units }));
  if (options.backInHotWallet === null) {
    entries.push({ account: ledgerAccountCodes.payoutsInFlight(payout.asset), asset: payout.asset, amount: payout.amountUnits });
  } else {
    const back = options.backInHotWallet > payout.amountUnits ? payout.amountUnits : options.backInHotWallet;
    if (back > 0n) entries.push({ account: ledgerAccountCodes.hotWallet(payout.asset), asset: payout.asset, amount: back });
    if (payout.amountUnits - back > 0n) entries.push({ account: ledgerAccountCodes.swapLosses(payout.asset), asset: payout.asset, amount: payout.amountUnits - back });
  }
  const batchId = payout.kind === 'conversion' ? await failConversionBatch(tx, payout.id, options.description, options.at) : undefined;
  await postLedgerTransaction(tx, {
    kind: options.kind,
    idempotencyKey: `return:${payout.id}`,
    occurredAt: options.at,
    payoutId: payout.id,
    ...(batchId ? { conversionBatchId: batchId } : {}),
    description: options.description.slice(0, 500),
    entries,
  });
}

/** The owners' shares of the conversion batch a conversion payout sends. */
export async function conversionShares(q: Queryable, payoutId: string): Promise<{ channelId: string; units: bigint }[]> {
  const { rows } = await q.query<{ channel_id: string; from_units: string }>(
    `SELECT s.channel_id, s.from_units::text FROM conversion_batch_shares s JOIN conversion_batches b ON b.id = s.batch_id
      WHERE b.payout_id = $1 ORDER BY s.channel_id`,
    [payoutId],
  );
  return rows.map((row) => ({ channelId: row.channel_id, units: BigInt(row.from_units) }));
}

async function failConversionBatch(tx: Tx, payoutId: string, reason: string, at: Date): Promise<string | undefined> {
  const { rows } = await tx.query<{ id: string }>(
    `UPDATE conversion_batches SET state = 'failed', failure_reason = $2, updated_at = $3
      WHERE payout_id = $1 AND state = 'converting' RETURNING id`,
    [payoutId, reason.slice(0, 1000), at],
  );
  return rows[0]?.id;
}
