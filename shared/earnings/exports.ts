import { recordAuditEvent } from '../audit/index.js';
import type { Clock } from '../clock/index.js';
import type { Queryable } from '../db/index.js';
import type { CursorKey } from './cursor.js';
import { PaymentExportQuerySchema, PayoutExportQuerySchema } from './earnings-schemas.js';
import { toCsv } from './csv.js';
import { parseQuery } from './list-query.js';
import { paymentFilters, paymentResource, selectPayments } from './payments.js';
import { payoutFilters, payoutResource, selectPayouts } from './payouts.js';
import { earningsError } from './errors.js';

/** Most rows one export holds; beyond it the owner narrows the date range. */
export const MAX_EXPORT_ROWS = 50_000;
const BATCH = 500;

/** Who downloads an export: the account, and the request's id and client IP for the audit trail. */
export interface ExportActor {
  accountId: string;
  requestId?: string | undefined;
  ip?: string | undefined;
}

export interface ExportDeps {
  db: Queryable;
  clock: Clock;
}

/**
 * `earnings.payments_exported` / `earnings.payouts_exported`: who took a copy of the records, with
 * the filters (the wire query: ids, dates, statuses) and the row count; never the rows.
 */
async function auditExport(deps: ExportDeps, actor: ExportActor, what: 'payments' | 'payouts', rawQuery: unknown, rows: number): Promise<void> {
  const filters = Object.fromEntries(Object.entries(rawQuery && typeof rawQuery === 'object' ? rawQuery : {}).filter(([, value]) => typeof value === 'string'));
  await recordAuditEvent(deps.db, {
    occurredAt: deps.clock.now(),
    actor: { type: 'account', id: actor.accountId },
    action: `earnings.${what}_exported`,
    subject: { type: 'account', id: actor.accountId },
    details: { filters, rows },
    requestId: actor.requestId,
    ip: actor.ip,
  });
}

/** Reads every row through the same keyset paging as the lists, so an export sees no duplicates. */
async function collect<R extends { cursor_at: string; id: string }>(select: (after: CursorKey | null, limit: number) => Promise<R[]>): Promise<R[]> {
  const all: R[] = [];
  let after: CursorKey | null = null;
  for (;;) {
    const rows = await select(after, BATCH);
    all.push(...rows.slice(0, BATCH));
    if (all.length > MAX_EXPORT_ROWS) {
      throw earningsError('export_too_large', `An export holds at most ${MAX_EXPORT_ROWS} rows. Choose a shorter date range (from, to).`, { maxRows: MAX_EXPORT_ROWS });
    }
    if (rows.length <= BATCH) return all;
    const last = all.at(-1)!;
    after = { at: last.cursor_at, id: last.id };
  }
}

/**
 * The account's payments as CSV (newest first), with the list's filters. Money columns are exact
 * decimal strings in whole units of the column's asset. Audited (`earnings.payments_exported`).
 *
 * @throws PermanentError `validation_failed`, `channel_not_found`, `export_too_large`.
 */
export async function exportPaymentsCsv(deps: ExportDeps, actor: ExportActor, rawQuery: unknown): Promise<string> {
  const query = parseQuery(PaymentExportQuerySchema, rawQuery);
  const filters = await paymentFilters(deps.db, actor.accountId, query);
  const rows = await collect((after, limit) => selectPayments(deps.db, actor.accountId, filters, after, limit));
  await auditExport(deps, actor, 'payments', rawQuery, rows.length);
  return toCsv(
    ['payment_id', 'channel_id', 'created_at', 'settled_at', 'kind', 'status', 'price_usd', 'duration_days', 'subscriber_telegram_id', 'subscriber_username',
      'pay_currency', 'pay_amount', 'actually_paid', 'asset', 'outcome', 'platform_fee', 'owner_net'],
    rows.map(paymentResource).map((payment) => [
      payment.id,
      payment.channelId,
      payment.createdAt,
      payment.settledAt,
      payment.kind,
      payment.status,
      payment.priceUsd,
      payment.durationDays === null ? null : String(payment.durationDays),
      payment.subscriber.telegramUserId,
      payment.subscriber.username,
      payment.paid.currency,
      payment.paid.amount,
      payment.paid.actuallyPaid,
      payment.outcome?.asset ?? null,
      payment.outcome?.amount ?? null,
      payment.platformFee?.amount ?? null,
      payment.ownerNet?.amount ?? null,
    ]),
  );
}

/**
 * The account's payouts with their breakdown as CSV (newest first), with the list's filters.
 * Amount columns are in the payout's `asset`; `platform_paid_network_fee_eth` is in ETH;
 * estimated/received are in the destination currency as the exchange reported them. Audited
 * (`earnings.payouts_exported`).
 *
 * @throws PermanentError `validation_failed`, `channel_not_found`, `export_too_large`.
 */
export async function exportPayoutsCsv(deps: ExportDeps, actor: ExportActor, rawQuery: unknown): Promise<string> {
  const query = parseQuery(PayoutExportQuerySchema, rawQuery);
  const filters = await payoutFilters(deps.db, actor.accountId, query);
  const rows = await collect((after, limit) => selectPayouts(deps.db, actor.accountId, filters, after, limit));
  await auditExport(deps, actor, 'payouts', rawQuery, rows.length);
  return toCsv(
    ['payout_id', 'channel_id', 'requested_at', 'completed_at', 'kind', 'state', 'asset', 'gross', 'processor_fee', 'platform_fee', 'sent', 'swap_spread',
      'network_fee', 'net', 'platform_paid_network_fee_eth', 'destination_currency', 'destination_network', 'destination_wallet', 'destination_extra_id',
      'estimated_amount', 'received_amount', 'transfer_tx_hash', 'payout_tx_hash', 'failure_code'],
    rows.map(payoutResource).map((payout) => [
      payout.id,
      payout.channelId,
      payout.requestedAt,
      payout.completedAt,
      payout.kind,
      payout.state,
      payout.breakdown.asset,
      payout.breakdown.gross,
      payout.breakdown.processorFee,
      payout.breakdown.platformFee,
      payout.breakdown.sent,
      payout.breakdown.swapSpread,
      payout.breakdown.networkFee,
      payout.breakdown.net,
      payout.breakdown.platformPaidNetworkFee?.amount ?? null,
      payout.destination.currency,
      payout.destination.network,
      payout.destination.wallet,
      payout.destination.extraId,
      payout.delivered.estimated,
      payout.delivered.received,
      payout.transactionHashes.transfer,
      payout.transactionHashes.payout,
      payout.failureCode,
    ]),
  );
}
