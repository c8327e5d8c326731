import type { OwnerNotificationRequested } from '../messages/index.js';
import { isTelegramUserUnreachable, toTelegramError } from '../telegram/index.js';
import type { NotificationDeps } from './owner-notifications.js';
import { notificationError } from './errors.js';

/**
 * How long a delivery holds an owner notification it is sending: far longer than one sendMessage
 * takes, short enough that a sender that stopped mid-way is taken over by the message's next retry
 * (Pub/Sub backs off from 10 s).
 */
export const OWNER_NOTICE_CLAIM_MS = 60_000;

/** When a claim taken at `now` runs out. */
export function ownerNoticeClaimUntil(now: Date): Date {
  return new Date(now.getTime() + OWNER_NOTICE_CLAIM_MS);
}

/**
 * Sends a pending owner notification and records what came of it, one statement either way: `sent`;
 * `failed` for an owner who blocked the bot or any permanent Telegram refusal (answered `skipped`,
 * retrying cannot help); a transient refusal is counted on the row, its claim released, and thrown,
 * so the stage retries. Only the delivery holding the row's claim sends: `isClaimed` when this
 * delivery created the row (claimed with it); otherwise it takes the claim over if it ran out, or
 * is told to retry (`owner_notification_in_progress`) while another delivery is sending.
 */
export async function sendPendingOwnerNotification(
  deps: NotificationDeps,
  request: OwnerNotificationRequested,
  notification: { id: string; chatId: bigint; isClaimed: boolean },
  text: string,
  options: { isLinkPreviewShown: boolean },
): Promise<'sent' | 'skipped'> {
  if (!notification.isClaimed) {
    const now = deps.clock.now();
    const { rows } = await deps.db.query(
      `UPDATE owner_notifications SET claimed_until = $2, updated_at = $3
        WHERE id = $1 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until <= $3)
        RETURNING id`,
      [notification.id, ownerNoticeClaimUntil(now), now],
    );
    if (!rows[0]) throw notificationError('owner_notification_in_progress', 'Another delivery of this notification is sending it', { notificationId: notification.id });
  }
  try {
    const sent = await deps.telegram.sendMessage(Number(notification.chatId), text, {
      parse_mode: 'HTML',
      ...(options.isLinkPreviewShown ? {} : { link_preview_options: { is_disabled: true } }),
    });
    await deps.db.query(
      `UPDATE owner_notifications SET status = 'sent', sent_at = $2, telegram_message_id = $3, attempts = attempts + 1, updated_at = $2
       WHERE id = $1 AND status = 'pending'`,
      [notification.id, deps.clock.now(), sent.message_id],
    );
    deps.logger.info('owner_notification.sent', { channelId: request.channelId, kind: request.kind, subjectId: request.subjectId });
    return 'sent';
  } catch (error) {
    const failure = toTelegramError(error, { channelId: request.channelId, kind: request.kind });
    const isFinal = isTelegramUserUnreachable(error) || !failure.isRetryable;
    await deps.db.query(
      `UPDATE owner_notifications SET status = CASE WHEN $4 THEN 'failed' ELSE status END, attempts = attempts + 1, last_error = $2, updated_at = $3,
              claimed_until = NULL
       WHERE id = $1 AND status = 'pending'`,
      [notification.id, failure.code, deps.clock.now(), isFinal],
    );
    if (!isFinal) throw failure;
    deps.logger.warn('owner_notification.undeliverable', { channelId: request.channelId, kind: request.kind, code: failure.code });
    return 'skipped';
  }
}
