import { resolveOwnedChannelId } from '../channels/index.js';
import type { Queryable } from '../db/index.js';
import { formatPublicId, parsePublicId } from '../ids/index.js';
import { formatUnits, getAsset } from '../money/index.js';
import { isDirectPayout, type PayoutColumns, payoutColumns, payoutDestinationOf, toPayoutRow } from '../payouts/index.js';
import { type CursorKey, type Page, cursorTimestampSql, decodeCursor, toPage } from './cursor.js';
import { type PayoutListQuery, PayoutListQuerySchema, type PayoutResource } from './earnings-schemas.js';
import { addNewestFirstWindow, conditions, listValues, pageSize, parseQuery, timeRange } from './list-query.js';
import { payoutBreakdown } from './payout-breakdown.js';
import { earningsError } from './errors.js';

/** A page row: the payout's read model, its cursor and what the dashboard joins to it. */
type PayoutPageRow = PayoutColumns & {
  cursor_at: string;
  processor_fee_units: string | null;
  platform_fee_units: string | null;
  has_swap: boolean;
  expected_to_amount: string | null;
  received_to_amount: string | null;
  swap_payout_hash: string | null;
  transfer_hash: string | null;
  transfer_fee_units: string | null;
};

export interface PayoutFilters {
  channelId: string | null;
  states: string[] | null;
  /** ISO-8601 text, compared by Postgres with microseconds. */
  from: string | null;
  to: string | null;
  payoutId?: string;
}

export async function payoutFilters(q: Queryable, accountId: string, query: Omit<PayoutListQuery, 'cursor' | 'limit'>): Promise<PayoutFilters> {
  return {
    channelId: query.channelId === undefined ? null : await resolveOwnedChannelId(q, accountId, query.channelId),
    states: listValues(query.state),
    ...timeRange(query.from, query.to),
  };
}

const optional = (text: string | null) => (text === null ? null : BigInt(text));

/** The account's payouts (never the platform's conversions), newest first by `(created_at, id)`. */
export async function selectPayouts(q: Queryable, accountId: string, filters: PayoutFilters, after: CursorKey | null, limit: number): Promise<PayoutPageRow[]> {
  const where = conditions([accountId]);
  if (filters.payoutId) where.add('po.id = $', filters.payoutId);
  if (filters.channelId) where.add('po.channel_id = $', filters.channelId);
  if (filters.states) where.add('po.state = ANY($::text[])', filters.states);
  addNewestFirstWindow(where, 'po', filters, after);
  where.params.push(limit + 1);
  const { rows } = await q.query<PayoutPageRow>(
    `SELECT ${payoutColumns('po')}, ${cursorTimestampSql('po.created_at')} AS cursor_at,
            pm.processor_fee_units::text AS processor_fee_units, fees.platform_fee_units,
            (s.id IS NOT NULL) AS has_swap, s.expected_to_amount::text AS expected_to_amount,
            s.received_to_amount::text AS received_to_amount, s.payout_hash AS swap_payout_hash,
            coalesce(ct.mined_tx_hash, ct.tx_hash) AS transfer_hash, ct.fee_units::text AS transfer_fee_units
       FROM payouts po
       LEFT JOIN payments pm ON pm.id = po.payment_id
       LEFT JOIN LATERAL (
         SELECT (-sum(e.amount))::text AS platform_fee_units
           FROM ledger_transactions t
           JOIN ledger_entries e ON e.transaction_id = t.id
           JOIN ledger_accounts a ON a.id = e.account_id
          WHERE t.payment_id = po.payment_id AND t.kind = 'payment_settled' AND a.code LIKE 'platform:fees:%') fees ON true
       LEFT JOIN swaps s ON s.payout_id = po.id
       LEFT JOIN chain_transfers ct ON ct.payout_id = po.id
      WHERE po.owner_account_id = $1 AND po.kind IN ('instant', 'threshold', 'balance')${where.where()}
      ORDER BY po.created_at DESC, po.id DESC
      LIMIT $${where.params.length}`,
    where.params,
  );
  return rows;
}

export function payoutResource(row: PayoutPageRow): PayoutResource {
  const payout = toPayoutRow(row);
  // The page query selects no conversions: those are the platform's, not an owner's.
  const kind = payout.kind as PayoutResource['kind'];
  // A direct payout delivers exactly what we sent, in the asset we hold.
  const isDirect = isDirectPayout(payout);
  const breakdown = payoutBreakdown({
    kind,
    state: payout.state,
    asset: payout.asset,
    amountUnits: payout.amountUnits,
    processorFeeUnits: optional(row.processor_fee_units),
    platformFeeUnits: optional(row.platform_fee_units),
    hasSwap: row.has_swap,
    isDirect,
    estimatedToAmount: row.expected_to_amount ?? payout.quotedToAmount,
    receivedToAmount: row.received_to_amount,
    transferFeeUnits: optional(row.transfer_fee_units),
  });
  const direct = formatUnits(payout.amountUnits, getAsset(payout.asset).decimals);
  return {
    id: formatPublicId('payout', payout.id),
    channelId: formatPublicId('channel', payout.channelId as string),
    kind,
    state: payout.state,
    paymentId: payout.paymentId === null ? null : formatPublicId('payment', payout.paymentId),
    destination: { currency: payout.destinationCurrency, network: payout.destinationNetwork, ...payoutDestinationOf(payout) },
    breakdown,
    delivered: isDirect
      ? { estimated: direct, received: payout.state === 'completed' ? direct : null }
      : { estimated: row.expected_to_amount ?? payout.quotedToAmount, received: row.received_to_amount },
    transactionHashes: { transfer: row.transfer_hash, payout: isDirect ? (payout.state === 'completed' ? row.transfer_hash : null) : row.swap_payout_hash },
    failureCode: payout.failureCode,
    requestedAt: payout.requestedAt.toISOString(),
    completedAt: payout.completedAt === null ? null : payout.completedAt.toISOString(),
  };
}

/**
 * A page of the account's payouts with their breakdown, newest first, filtered by channel, states
 * and a created-at range.
 *
 * @throws PermanentError `validation_failed`, `invalid_cursor`, `channel_not_found`.
 */
export async function listPayouts(deps: { db: Queryable }, actor: { accountId: string }, rawQuery: unknown): Promise<Page<PayoutResource>> {
  const query = parseQuery(PayoutListQuerySchema, rawQuery);
  const filters = await payoutFilters(deps.db, actor.accountId, query);
  const limit = pageSize(query.limit);
  const after = query.cursor === undefined ? null : decodeCursor('payouts', query.cursor);
  return toPage('payouts', await selectPayouts(deps.db, actor.accountId, filters, after, limit), limit, payoutResource);
}

/** One of the account's payouts. @throws PermanentError `payout_not_found` (also for another account's payout). */
export async function retrievePayout(deps: { db: Queryable }, actor: { accountId: string }, payoutPublicId: string): Promise<PayoutResource> {
  const notFound = () => earningsError('payout_not_found', 'No payout with this id exists in your account.');
  let payoutId: string;
  try {
    payoutId = parsePublicId('payout', payoutPublicId);
  } catch {
    throw notFound();
  }
  const rows = await selectPayouts(deps.db, actor.accountId, { channelId: null, states: null, from: null, to: null, payoutId }, null, 1);
  const row = rows[0];
  if (!row) throw notFound();
  return payoutResource(row);
}
