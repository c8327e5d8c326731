import { resolveOwnedChannelId } from '../channels/index.js';
import type { Queryable } from '../db/index.js';
import { formatUsdCents } from '../money/index.js';
import { type RevenueInterval, RevenueQuerySchema, type RevenueResource } from './earnings-schemas.js';
import { earningsError } from './errors.js';
import { parseQuery } from './list-query.js';

const DAY_MS = 24 * 3600 * 1000;
/** The default span: the last 30 days, 26 weeks or 12 months up to the end of the current one. The most buckets one answer holds: about two years of days. */
const DEFAULT_SPAN: Record<RevenueInterval, string> = { day: '30 days', week: '26 weeks', month: '12 months' };
export const MAX_REVENUE_POINTS = 732;
const APPROX_BUCKET_MS: Record<RevenueInterval, number> = { day: DAY_MS, week: 7 * DAY_MS, month: 28 * DAY_MS };

/**
 * What subscribers paid an account's channels over time, bucketed by UTC day, ISO week (Monday) or
 * month: the checkout price in USD of every payment settled in the bucket, refunded ones left out,
 * donations included, before fees (fees are taken in crypto, so a USD net would need a rate we do
 * not keep). Every bucket between `from` and `to` is present, empty ones as zero, so a chart needs
 * no gap filling. The buckets cover `from`'s bucket up to the one holding the instant before `to`.
 *
 * @throws PermanentError `validation_failed` (a range over ${MAX_REVENUE_POINTS} buckets, an
 *   inverted range), `channel_not_found`.
 */
export async function revenueOverTime(deps: { db: Queryable; clock: { now(): Date } }, actor: { accountId: string }, rawQuery: unknown): Promise<RevenueResource> {
  const query = parseQuery(RevenueQuerySchema, rawQuery);
  const interval = query.interval ?? 'day';
  // Defaults: up to the end of the bucket holding now, back over the default span.
  const { rows: bounds } = await deps.db.query<{ from: string; to: string }>(
    `WITH bound AS (SELECT coalesce($1::timestamptz, date_trunc($4, $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + ('1 ' || $4)::interval) AS to_at)
     SELECT to_char(coalesce($5::timestamptz, (date_trunc($4, bound.to_at AT TIME ZONE 'UTC') - $3::interval) AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS from,
            to_char(bound.to_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS to
       FROM bound`,
    [query.to ?? null, deps.clock.now(), DEFAULT_SPAN[interval], interval, query.from ?? null],
  );
  const { from, to } = bounds[0]!;
  if (new Date(from) >= new Date(to)) throw invalidRange('to', 'must be later than from');
  if ((new Date(to).getTime() - new Date(from).getTime()) / APPROX_BUCKET_MS[interval] > MAX_REVENUE_POINTS) {
    throw invalidRange('from', `the range holds more than ${MAX_REVENUE_POINTS} ${interval}s; choose a later from or a longer interval`);
  }
  const channelId = query.channelId === undefined ? null : await resolveOwnedChannelId(deps.db, actor.accountId, query.channelId);
  const { rows } = await deps.db.query<{ start: string; cents: string; payments: number }>(
    `WITH settled AS (
       SELECT date_trunc($4, p.settled_at AT TIME ZONE 'UTC') AS bucket, sum(p.price_amount_cents) AS cents, count(*) AS payments
         FROM payments p
         JOIN checkouts k ON k.id = p.checkout_id
         JOIN channels c ON c.id = k.channel_id
        WHERE c.owner_account_id = $1 AND ($5::uuid IS NULL OR k.channel_id = $5)
          AND p.settled_at >= $2::timestamptz AND p.settled_at < $3::timestamptz AND p.status <> 'refunded'
        GROUP BY 1)
     SELECT to_char(b.bucket, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS start, coalesce(s.cents, 0)::text AS cents, coalesce(s.payments, 0)::int AS payments
       FROM generate_series(date_trunc($4, $2::timestamptz AT TIME ZONE 'UTC'),
                            date_trunc($4, ($3::timestamptz - interval '1 microsecond') AT TIME ZONE 'UTC'),
                            ('1 ' || $4)::interval) AS b(bucket)
       LEFT JOIN settled s ON s.bucket = b.bucket
      ORDER BY b.bucket`,
    [actor.accountId, from, to, interval, channelId],
  );
  let total = 0n;
  let payments = 0;
  const points = rows.map((row) => {
    total += BigInt(row.cents);
    payments += Number(row.payments);
    return { start: row.start, revenueUsd: formatUsdCents(BigInt(row.cents)), payments: Number(row.payments) };
  });
  return { interval, from: new Date(from).toISOString(), to: new Date(to).toISOString(), points, totalUsd: formatUsdCents(total), payments };
}

function invalidRange(field: 'from' | 'to', message: string) {
  return earningsError('validation_failed', `Invalid query (query.${field}: ${message}).`, { fields: { [`query.${field}`]: message } });
}
