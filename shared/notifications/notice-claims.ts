import type { Db } from '../db/index.js';
import { AppError } from '../errors/index.js';
import {
  type ClaimedNotification,
  deliverSubscriberNotification,
  type SubscriberMessage,
} from './subscriber-notifications.js';
import type { NotificationDeps } from './owner-notifications.js';

/**
 * A claimed notice not recorded as sent or failed after this long was left by a run that crashed or
 * met a Telegram outage: the next run may take it over. Shorter than the 5-minute tick, so that tick
 * retries it; far longer than one sendMessage takes.
 */
export const NOTICE_LEASE_MS = 4 * 60_000;

export type ReminderOffset = '3d' | '1d' | '1h';

export interface NoticeClaim {
  kind: 'renewal_reminder' | 'subscription_grace_started';
  dedupeKey: string;
  subscriptionId: string;
  telegramUserId: bigint;
  /** The end of the period the notice is about: the claim holds only while the subscription still ends then. */
  expiresAt: Date;
  /** Renewal reminders only: which one. */
  reminderOffset?: ReminderOffset;
}

// The notice still makes sense: the subscription is active and still ends when it did (a renewal
// moved expires_at), and for reminders the subscriber has not turned them off.
const STILL_MEANT = `s.status = 'active' AND s.expires_at = $3 AND (s.renewal_reminders_enabled OR $4::text <> 'renewal_reminder')`;

/**
 * Claims the right to send one notice, before sending it: inserts its subscriber_notifications row
 * (unique dedupe key, and for reminders the unique (subscription, expires_at, offset)), or takes over
 * a row left pending longer than the lease. Exactly one of any number of concurrent callers gets
 * the notice; the others get `undefined`, as does everyone once it was sent or failed for good.
 */
export async function claimNotice(db: Db, claim: NoticeClaim, now: Date): Promise<ClaimedNotification | undefined> {
  const claimed = (id: string): ClaimedNotification => ({ id, kind: claim.kind, telegramUserId: claim.telegramUserId, subjectId: claim.subscriptionId });
  const reminderFor = claim.kind === 'renewal_reminder' ? claim.expiresAt : null;
  const inserted = await db.query<{ id: string }>(
    `INSERT INTO subscriber_notifications (telegram_user_id, kind, dedupe_key, subscription_id, reminder_for_expires_at, reminder_offset, created_at, updated_at)
     SELECT s.telegram_user_id, $4::text, $2::text, s.id, $5::timestamptz, $6::text, $7::timestamptz, $7::timestamptz FROM subscriptions s WHERE s.id = $1 AND ${STILL_MEANT}
     ON CONFLICT DO NOTHING
     RETURNING id`,
    [claim.subscriptionId, claim.dedupeKey, claim.expiresAt, claim.kind, reminderFor, claim.reminderOffset ?? null, now],
  );
  if (inserted.rows[0]) return claimed(inserted.rows[0].id);
  // Row-locked: of two runs taking over the same row, the second sees the first's updated_at.
  const takenOver = await db.query<{ id: string }>(
    `UPDATE subscriber_notifications n SET updated_at = $5
      WHERE n.dedupe_key = $2 AND n.status = 'pending' AND n.updated_at < $6
        AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = $1 AND s.id = n.subscription_id AND ${STILL_MEANT})
     RETURNING n.id`,
    [claim.subscriptionId, claim.dedupeKey, claim.expiresAt, claim.kind, now, new Date(now.getTime() - NOTICE_LEASE_MS)],
  );
  return takenOver.rows[0] ? claimed(takenOver.rows[0].id) : undefined;
}

export type NoticeOutcome = { outcome: 'sent' | 'unreachable' } | { outcome: 'retry'; code: string };

/**
 * Sends a claimed notice and records it (deliverSubscriberNotification). A retryable failure
 * (Telegram down, rate limited) is not thrown: the row stays pending and the next run after the
 * lease sends it, if it still makes sense then.
 */
export async function sendNotice(deps: NotificationDeps, notice: ClaimedNotification, message: SubscriberMessage): Promise<NoticeOutcome> {
  try {
    return { outcome: await deliverSubscriberNotification(deps, notice, message) };
  } catch (error) {
    if (!(error instanceof AppError) || !error.isRetryable) throw error;
    deps.logger.warn('subscriber_notification.retry_later', { kind: notice.kind, subjectId: notice.subjectId, code: error.code });
    return { outcome: 'retry', code: error.code };
  }
}
