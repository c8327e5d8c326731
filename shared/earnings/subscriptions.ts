import { resolveOwnedChannelId } from '../channels/index.js';
import type { Queryable } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import { type Page, cursorTimestampSql, decodeCursor, toPage } from './cursor.js';
import { SubscriptionListQuerySchema, type SubscriptionResource } from './earnings-schemas.js';
import { addNewestFirstWindow, conditions, listValues, pageSize, parseQuery } from './list-query.js';

interface SubscriptionRow {
  id: string;
  cursor_at: string;
  channel_id: string;
  telegram_user_id: bigint;
  username: string | null;
  status: SubscriptionResource['status'];
  expires_at: Date;
  period_count: number;
  created_at: Date;
  expired_at: Date | null;
  removed_at: Date | null;
}

const iso = (value: Date | null) => (value === null ? null : new Date(value).toISOString());

/**
 * A page of the subscriptions to the account's channels, newest first by `(created_at, id)`,
 * filtered by channel and status.
 *
 * @throws PermanentError `validation_failed`, `invalid_cursor`, `channel_not_found`.
 */
export async function listSubscriptions(deps: { db: Queryable }, actor: { accountId: string }, rawQuery: unknown): Promise<Page<SubscriptionResource>> {
  const query = parseQuery(SubscriptionListQuerySchema, rawQuery);
  const limit = pageSize(query.limit);
  const where = conditions([actor.accountId]);
  if (query.channelId !== undefined) where.add('s.channel_id = $', await resolveOwnedChannelId(deps.db, actor.accountId, query.channelId));
  const statuses = listValues(query.status);
  if (statuses) where.add('s.status = ANY($::text[])', statuses);
  addNewestFirstWindow(where, 's', { from: null, to: null }, query.cursor === undefined ? null : decodeCursor('subscriptions', query.cursor));
  where.params.push(limit + 1);
  const { rows } = await deps.db.query<SubscriptionRow>(
    `SELECT s.id, ${cursorTimestampSql('s.created_at')} AS cursor_at, s.channel_id, s.telegram_user_id, u.username, s.status,
            s.expires_at, (SELECT count(*)::int FROM subscription_periods sp WHERE sp.subscription_id = s.id) AS period_count,
            s.created_at, s.expired_at, s.removed_at
       FROM subscriptions s
       JOIN channels c ON c.id = s.channel_id
       LEFT JOIN telegram_users u ON u.id = s.telegram_user_id
      WHERE c.owner_account_id = $1${where.where()}
      ORDER BY s.created_at DESC, s.id DESC
      LIMIT $${where.params.length}`,
    where.params,
  );
  return toPage('subscriptions', rows, limit, (row) => ({
    id: formatPublicId('subscription', row.id),
    channelId: formatPublicId('channel', row.channel_id),
    subscriber: { telegramUserId: BigInt(row.telegram_user_id).toString(), username: row.username },
    status: row.status,
    expiresAt: new Date(row.expires_at).toISOString(),
    periodCount: Number(row.period_count),
    createdAt: new Date(row.created_at).toISOString(),
    expiredAt: iso(row.expired_at),
    removedAt: iso(row.removed_at),
  }));
}
