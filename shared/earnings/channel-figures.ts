import { listOwnerChannelFigures } from '../channels/index.js';
import type { Queryable } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import { formatUsdCents } from '../money/index.js';
import { FINISHED_PAYOUT_STATES, percentOfThreshold, readThresholdProgress } from '../payouts/index.js';
import type { ChannelFiguresResource } from './earnings-schemas.js';

const REVENUE_WINDOW_MS = 30 * 24 * 3600 * 1000;

/**
 * The figures the channels list shows beside each live channel: subscribers now, what subscribers
 * paid in the last 30 days (the same count the bot's /channels gives), and where the next payout
 * stands — for a threshold channel how far its balance is towards the threshold (the measure the
 * 50 % / 100 % notices use), and for both strategies how many payouts are on their way.
 */
export async function listChannelFigures(deps: { db: Queryable; clock: { now(): Date } }, actor: { accountId: string }): Promise<ChannelFiguresResource> {
  const now = deps.clock.now();
  const figures = await listOwnerChannelFigures(deps.db, actor.accountId, { now, since: new Date(now.getTime() - REVENUE_WINDOW_MS) });
  if (figures.length === 0) return { channels: [] };
  const channelIds = figures.map((figure) => figure.channelId);
  const { rows } = await deps.db.query<{ channel_id: string; in_flight: number }>(
    `SELECT channel_id, count(*)::int AS in_flight FROM payouts
      WHERE channel_id = ANY($1::uuid[]) AND kind IN ('instant', 'threshold', 'balance') AND state <> ALL($2::text[])
      GROUP BY channel_id`,
    [channelIds, FINISHED_PAYOUT_STATES],
  );
  const inFlight = new Map(rows.map((row) => [row.channel_id, Number(row.in_flight)]));
  const channels = await Promise.all(
    figures.map(async (figure) => {
      const progress = await readThresholdProgress(deps.db, figure.channelId);
      const flying = inFlight.get(figure.channelId) ?? 0;
      return {
        channelId: formatPublicId('channel', figure.channelId),
        activeSubscribers: figure.activeSubscribers,
        revenue30DaysUsd: formatUsdCents(figure.revenueCents),
        nextPayout:
          progress?.isThreshold === true
            ? {
                strategy: 'threshold' as const,
                thresholdUsd: formatUsdCents(progress.thresholdCents),
                balanceUsd: formatUsdCents(progress.balanceCents),
                percent: Number(percentOfThreshold(progress)),
                inFlight: flying,
              }
            : { strategy: 'instant' as const, inFlight: flying },
      };
    }),
  );
  return { channels };
}
