import type { Clock } from '../clock/index.js';
import type { Db, Queryable } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { grantFreePeriod } from '../subscriptions/index.js';
import { type TelegramUserProfile, upsertTelegramUser } from '../telegram-users/index.js';

const DAY_MS = 86_400_000;

export interface TrialDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

/**
 * What a "Try N days free" tap ended in:
 * - `granted`: access until `expiresAt`, the invite is on its way (invite-requested, keyed by the trial);
 * - `already_used`: this user had this channel's trial before (or a concurrent tap got it): never twice;
 * - `has_subscribed`: the user has, or had, access to the channel (paid or gifted): trials are for newcomers;
 * - `account_too_new`: the channel wants bot accounts we have known for `minAccountAgeDays` days;
 * - `unavailable`: the channel does not sell, or the tier is gone or has no trial.
 */
export type TrialOutcome =
  | { outcome: 'granted'; trialId: string; title: string; durationDays: number; expiresAt: Date }
  | { outcome: 'already_used' | 'has_subscribed' | 'unavailable' }
  | { outcome: 'account_too_new'; minAccountAgeDays: number };

interface TrialOffer {
  tier_id: string;
  trial_days: number;
  closed_title: string;
  trial_min_account_age_days: number | null;
  user_since: Date;
  has_subscription: boolean;
  owner_account_id: string;
}

/**
 * Grants a tier's free trial: in one transaction the trial row (UNIQUE per user × channel: of
 * concurrent taps and redelivered updates one inserts, the others find it and grant nothing), the
 * subscription's period for the trial (no payment, no ledger movement) and the invite-requested
 * message keyed by the trial. The checks read the database, never the button: the tier's trial days
 * today, the user's first sighting (telegram_users.created_at) for the channel's minimum account age.
 */
export async function grantTrial(deps: TrialDeps, input: { user: TelegramUserProfile; channelId: string; tierNumber: number }): Promise<TrialOutcome> {
  const result = await deps.db.transaction(async (tx): Promise<TrialOutcome> => {
    const now = deps.clock.now();
    await upsertTelegramUser(tx, input.user);
    const { rows } = await tx.query<TrialOffer>(
      `SELECT t.id AS tier_id, t.trial_days, c.closed_title, c.owner_account_id, c.trial_min_account_age_days, u.created_at AS user_since,
              EXISTS (SELECT 1 FROM subscriptions s WHERE s.telegram_user_id = u.id AND s.channel_id = c.id) AS has_subscription
         FROM channels c
         JOIN channel_tiers t ON t.channel_id = c.id AND t.tier_number = $2 AND t.is_active
         JOIN telegram_users u ON u.id = $3
        WHERE c.id = $1 AND c.status = 'active' AND c.deleted_at IS NULL`,
      [input.channelId, input.tierNumber, input.user.id],
    );
    const offer = rows[0];
    if (!offer || offer.trial_days <= 0) return { outcome: 'unavailable' };
    const { rows: used } = await tx.query('SELECT 1 FROM trials WHERE telegram_user_id = $1 AND channel_id = $2', [input.user.id, input.channelId]);
    if (used.length > 0) return { outcome: 'already_used' };
    if (offer.has_subscription) return { outcome: 'has_subscribed' };
    const minAge = offer.trial_min_account_age_days;
    if (minAge !== null && now.getTime() - offer.user_since.getTime() < minAge * DAY_MS) return { outcome: 'account_too_new', minAccountAgeDays: minAge };

    // The unique key decides between concurrent taps; the loser's statement waits for the winner's commit and inserts nothing.
    const { rows: inserted } = await tx.query<{ id: string }>(
      `INSERT INTO trials (telegram_user_id, channel_id, tier_id, duration_days, granted_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (telegram_user_id, channel_id) DO NOTHING RETURNING id`,
      [input.user.id, input.channelId, offer.tier_id, offer.trial_days, now],
    );
    const trial = inserted[0];
    if (!trial) return { outcome: 'already_used' };
    const extension = await grantFreePeriod(tx, {
      telegramUserId: input.user.id,
      channelId: input.channelId,
      ownerAccountId: offer.owner_account_id,
      grant: { kind: 'trial', id: trial.id },
      durationDays: offer.trial_days,
      now,
    });
    return { outcome: 'granted', trialId: trial.id, title: offer.closed_title, durationDays: offer.trial_days, expiresAt: extension.expiresAt };
  });
  if (result.outcome === 'granted') deps.logger.info('trial.granted', { trialId: result.trialId, channelId: input.channelId, expiresAt: result.expiresAt });
  else deps.logger.info('trial.refused', { channelId: input.channelId, outcome: result.outcome });
  return result;
}

/** Trials granted for a channel, and how many of those users later paid for a period of their own. */
export interface TrialFigures {
  granted: number;
  grantedLast30Days: number;
  convertedToPaid: number;
}

export async function trialFigures(q: Queryable, channelId: string, now: Date): Promise<TrialFigures> {
  const { rows } = await q.query<{ granted: string; recent: string; converted: string }>(
    `SELECT count(*)::text AS granted,
            count(*) FILTER (WHERE tr.granted_at > $2::timestamptz - interval '30 days')::text AS recent,
            count(*) FILTER (WHERE EXISTS (
              SELECT 1 FROM subscriptions s JOIN subscription_periods p ON p.subscription_id = s.id
               WHERE s.telegram_user_id = tr.telegram_user_id AND s.channel_id = tr.channel_id AND p.payment_id IS NOT NULL))::text AS converted
       FROM trials tr WHERE tr.channel_id = $1`,
    [channelId, now],
  );
  const row = rows[0];
  return { granted: Number(row?.granted ?? 0), grantedLast30Days: Number(row?.recent ?? 0), convertedToPaid: Number(row?.converted ?? 0) };
}
