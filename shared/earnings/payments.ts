import { resolveOwnedChannelId } from '../channels/index.js';
import type { Queryable } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import { formatUnits, formatUsdCents, getAsset, isAssetCode } from '../money/index.js';
import { type CursorKey, type Page, cursorTimestampSql, decodeCursor, toPage } from './cursor.js';
import { type AmountResource, type PaymentListQuery, PaymentListQuerySchema, type PaymentResource } from './earnings-schemas.js';
import { addNewestFirstWindow, conditions, listValues, pageSize, parseQuery, timeRange } from './list-query.js';

interface PaymentRow {
  id: string;
  cursor_at: string;
  channel_id: string;
  kind: 'subscription' | 'donation';
  status: PaymentResource['status'];
  settled_at: Date | null;
  price_amount_cents: bigint;
  duration_days: number | null;
  telegram_user_id: bigint;
  username: string | null;
  pay_currency: string | null;
  pay_amount: string | null;
  actually_paid: string | null;
  outcome_asset: string | null;
  outcome_units: string | null;
  platform_fee_units: string | null;
  owner_net_units: string | null;
  created_at: Date;
}

/** A base-unit amount of a ledger asset for the wire, or null. */
export function amountResource(asset: string | null, units: string | bigint | null): AmountResource | null {
  if (asset === null || units === null || !isAssetCode(asset)) return null;
  return { asset, amount: formatUnits(BigInt(units), getAsset(asset).decimals) };
}

export interface PaymentFilters {
  channelId: string | null;
  statuses: string[] | null;
  /** ISO-8601 text, compared by Postgres with microseconds. */
  from: string | null;
  to: string | null;
}

/** Reads a payments query: the channel must be the account's, the range must not be empty. */
export async function paymentFilters(q: Queryable, accountId: string, query: Omit<PaymentListQuery, 'cursor' | 'limit'>): Promise<PaymentFilters> {
  return {
    channelId: query.channelId === undefined ? null : await resolveOwnedChannelId(q, accountId, query.channelId),
    statuses: listValues(query.status),
    ...timeRange(query.from, query.to),
  };
}

/**
 * The account's payments, newest first by `(created_at, id)`, after `cursor`. Fees come from the
 * payment's settlement in the ledger (none before it settled).
 */
export async function selectPayments(q: Queryable, accountId: string, filters: PaymentFilters, after: CursorKey | null, limit: number): Promise<PaymentRow[]> {
  const where = conditions([accountId]);
  if (filters.channelId) where.add('k.channel_id = $', filters.channelId);
  if (filters.statuses) where.add('p.status = ANY($::text[])', filters.statuses);
  addNewestFirstWindow(where, 'p', filters, after);
  where.params.push(limit + 1);
  const { rows } = await q.query<PaymentRow>(
    `SELECT p.id, ${cursorTimestampSql('p.created_at')} AS cursor_at, k.channel_id, k.kind, p.status, p.settled_at,
            p.price_amount_cents, k.duration_days, k.telegram_user_id, u.username, p.pay_currency,
            p.pay_amount::text AS pay_amount, p.actually_paid::text AS actually_paid, p.outcome_asset,
            p.outcome_units::text AS outcome_units, fees.platform_fee_units, fees.owner_net_units, p.created_at
       FROM payments p
       JOIN checkouts k ON k.id = p.checkout_id
       JOIN channels c ON c.id = k.channel_id
       LEFT JOIN telegram_users u ON u.id = k.telegram_user_id
       LEFT JOIN LATERAL (
         SELECT (-sum(e.amount) FILTER (WHERE a.code LIKE 'platform:fees:%'))::text AS platform_fee_units,
                (-sum(e.amount) FILTER (WHERE a.code LIKE 'owner:%'))::text AS owner_net_units
           FROM ledger_transactions t
           JOIN ledger_entries e ON e.transaction_id = t.id
           JOIN ledger_accounts a ON a.id = e.account_id
          WHERE t.payment_id = p.id AND t.kind = 'payment_settled') fees ON true
      WHERE c.owner_account_id = $1${where.where()}
      ORDER BY p.created_at DESC, p.id DESC
      LIMIT $${where.params.length}`,
    where.params,
  );
  return rows;
}

export function paymentResource(row: PaymentRow): PaymentResource {
  return {
    id: formatPublicId('payment', row.id),
    channelId: formatPublicId('channel', row.channel_id),
    kind: row.kind,
    status: row.status,
    isSettled: row.settled_at !== null,
    priceUsd: formatUsdCents(BigInt(row.price_amount_cents)),
    durationDays: row.duration_days,
    subscriber: { telegramUserId: BigInt(row.telegram_user_id).toString(), username: row.username },
    paid: { currency: row.pay_currency, amount: row.pay_amount, actuallyPaid: row.actually_paid },
    outcome: amountResource(row.outcome_asset, row.outcome_units),
    platformFee: amountResource(row.outcome_asset, row.platform_fee_units),
    ownerNet: amountResource(row.outcome_asset, row.owner_net_units),
    createdAt: new Date(row.created_at).toISOString(),
    settledAt: row.settled_at === null ? null : new Date(row.settled_at).toISOString(),
  };
}

/**
 * A page of the account's payments, newest first, filtered by channel (`ch_…`), statuses and a
 * created-at range (`from` inclusive, `to` exclusive). Pages never repeat or skip a payment, even
 * when new payments arrive between requests (they appear on the first page).
 *
 * @throws PermanentError `validation_failed`, `invalid_cursor`, `channel_not_found`.
 */
export async function listPayments(deps: { db: Queryable }, actor: { accountId: string }, rawQuery: unknown): Promise<Page<PaymentResource>> {
  const query = parseQuery(PaymentListQuerySchema, rawQuery);
  const filters = await paymentFilters(deps.db, actor.accountId, query);
  const limit = pageSize(query.limit);
  const after = query.cursor === undefined ? null : decodeCursor('payments', query.cursor);
  return toPage('payments', await selectPayments(deps.db, actor.accountId, filters, after, limit), limit, paymentResource);
}
