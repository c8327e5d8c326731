import type { Api } from 'grammy';
import { enqueueMessage } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { errorCode } from '../errors/index.js';
import { formatPublicId } from '../ids/index.js';
import type { Logger } from '../logging/index.js';
import { hasLiveWebhookEndpointSql, recordOwnerWebhookEvents } from '../owner-webhooks/webhook-events.js';
import { toTelegramError } from '../telegram/index.js';

export interface ExpiryDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  telegram: Api;
  /** Most subscriptions handled per run. Default 100. */
  batchSize?: number;
}

export interface ExpiryReport {
  removed: number;
  failed: number;
}

interface DueSubscription {
  id: string;
  telegram_user_id: bigint;
  expires_at: Date;
  removal_attempts: number;
  closed_chat_id: bigint;
  channel_id: string;
  owner_account_id: string;
  /** Read with the claim: the owner has an enabled webhook endpoint (then subscription.ended is recorded). */
  has_webhooks: boolean;
}

// Telegram treats a ban shorter than 30 s as permanent; the unban follows at once anyway.
const BAN_SECONDS = 60;
// While one run removes a member, overlapping runs skip the row for this long.
const CLAIM_SECONDS = 120;
const MAX_RETRY_DELAY_MS = 3_600_000;

/** "Already gone" answers count as removed: the member is not in the chat, which is the goal. */
function isAlreadyGone(description: string): boolean {
  return /user not found|PARTICIPANT_ID_INVALID|USER_NOT_PARTICIPANT|member not found|user is not a member/i.test(description);
}

/** Minutes 1, 2, 4, … capped at an hour between attempts to remove one member. */
export function removalRetryDelayMs(attempts: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_MS);
}

/**
 * The expire-subscriptions stage (scheduled every minute): claims due subscriptions with an indexed
 * query (overlapping runs skip each other's rows) — due once expires_at plus the channel's grace
 * period (`channels.grace_period_hours`, 0 by default) has passed; members in their grace period are
 * told by remind-subscribers until when they stay — removes each member from the closed channel
 * (ban with a short until_date, then unban so they can come back after paying again), and only when
 * Telegram confirmed marks the subscription expired and asks for the subscriber's DM. A failure
 * leaves the row active and schedules a retry with a growing delay and a counter.
 */
export async function expireDueSubscriptions(deps: ExpiryDeps): Promise<ExpiryReport> {
  const now = deps.clock.now();
  const due = await deps.db.transaction(async (tx) => {
    // `expires_at <= now` keeps the scan on subscriptions_active_expiry_idx; the only rows it reads
    // and skips are members in their grace period (at most 72 hours of expiries).
    const { rows } = await tx.query<DueSubscription>(
      `WITH claimed AS (
         UPDATE subscriptions SET next_removal_attempt_at = $2
         WHERE id IN (
           SELECT s.id FROM subscriptions s JOIN channels gc ON gc.id = s.channel_id
           WHERE s.status = 'active' AND s.expires_at <= $1
             AND s.expires_at + make_interval(hours => gc.grace_period_hours) <= $1
             AND (s.next_removal_attempt_at IS NULL OR s.next_removal_attempt_at <= $1)
           ORDER BY s.expires_at
           LIMIT $3
           FOR UPDATE OF s SKIP LOCKED)
         RETURNING id, telegram_user_id, channel_id, expires_at, removal_attempts)
       SELECT claimed.id, claimed.telegram_user_id, claimed.expires_at, claimed.removal_attempts, c.closed_chat_id,
              claimed.channel_id, c.owner_account_id, ${hasLiveWebhookEndpointSql('c.owner_account_id')} AS has_webhooks
       FROM claimed JOIN channels c ON c.id = claimed.channel_id`,
      [now, new Date(now.getTime() + CLAIM_SECONDS * 1000), deps.batchSize ?? 100],
    );
    return rows;
  });

  const report: ExpiryReport = { removed: 0, failed: 0 };
  for (const subscription of due) {
    const failure = await removeMember(deps, subscription);
    if (failure) {
      report.failed++;
      const attempts = subscription.removal_attempts + 1;
      // Only the period we tried to end: a renewal since the claim reset the removal state, keep it so.
      await deps.db.query(
        `UPDATE subscriptions SET removal_attempts = $2, last_removal_error = $3, next_removal_attempt_at = $4, updated_at = $5
         WHERE id = $1 AND status = 'active' AND expires_at = $6`,
        [
          subscription.id,
          attempts,
          failure.slice(0, 1000),
          new Date(deps.clock.now().getTime() + removalRetryDelayMs(attempts)),
          deps.clock.now(),
          subscription.expires_at,
        ],
      );
      deps.logger.warn('subscription.removal_failed', { subscriptionId: subscription.id, attempts, error: failure });
      continue;
    }
    const marked = await deps.db.transaction(async (tx) => {
      const at = deps.clock.now();
      const { rowCount } = await tx.query(
        `UPDATE subscriptions SET status = 'expired', expired_at = $3, removed_at = $3, next_removal_attempt_at = NULL,
           last_removal_error = NULL, updated_at = $3
         WHERE id = $1 AND status = 'active' AND expires_at = $2`,
        [subscription.id, subscription.expires_at, at],
      );
      if (rowCount !== 1) return false;
      await enqueueMessage(
        tx,
        'subscriber-notification-requested',
        { kind: 'subscription_expired', subjectId: subscription.id },
        { at, dedupeKey: `subscription_expired:${subscription.id}:${subscription.expires_at.toISOString()}` },
      );
      if (subscription.has_webhooks) {
        await recordOwnerWebhookEvents(tx, [
          {
            accountId: subscription.owner_account_id,
            type: 'subscription.ended',
            sourceKey: `subscription:${subscription.id}:${subscription.expires_at.toISOString()}`,
            at,
            data: {
              subscriptionId: formatPublicId('subscription', subscription.id),
              channelId: formatPublicId('channel', subscription.channel_id),
              telegramUserId: subscription.telegram_user_id.toString(),
              expiredAt: subscription.expires_at.toISOString(),
              removedAt: at.toISOString(),
            },
          },
        ]);
      }
      return true;
    });
    if (marked) {
      report.removed++;
      deps.logger.info('subscription.expired', { subscriptionId: subscription.id });
    } else {
      // Renewed between the claim and the removal: the subscriber paid but was just removed.
      deps.logger.critical('subscription.renewed_during_removal', { subscriptionId: subscription.id });
    }
  }
  return report;
}

/** Returns undefined when the member is out of the chat, or the reason it could not be done. */
async function removeMember(deps: ExpiryDeps, subscription: DueSubscription): Promise<string | undefined> {
  const chatId = Number(subscription.closed_chat_id);
  const userId = Number(subscription.telegram_user_id);
  try {
    const untilDate = Math.floor(deps.clock.now().getTime() / 1000) + BAN_SECONDS;
    await deps.telegram.banChatMember(chatId, userId, { until_date: untilDate });
  } catch (error) {
    const description = String((error as { description?: unknown }).description ?? '');
    if (!isAlreadyGone(description)) return `${errorCode(toTelegramError(error))}: ${description || 'ban failed'}`;
  }
  try {
    await deps.telegram.unbanChatMember(chatId, userId, { only_if_banned: true });
  } catch (error) {
    const description = String((error as { description?: unknown }).description ?? '');
    if (!isAlreadyGone(description)) return `${errorCode(toTelegramError(error))}: unban failed: ${description}`;
  }
  return undefined;
}
