import type { OwnerNotificationRequested } from '../messages/index.js';
import { isTelegramUserUnreachable, toTelegramError } from '../telegram/index.js';
import type { NotificationDeps } from './owner-notifications.js';

/**
 * Sends a pending owner notification and records what came of it, one statement either way: `sent`;
 * `failed` for an owner who blocked the bot or any permanent Telegram refusal (answered `skipped`,
 * retrying cannot help); a transient refusal is counted on the row and thrown, so the stage retries.
 */
export async function sendPendingOwnerNotification(
  deps: NotificationDeps,
  request: OwnerNotificationRequested,
  notification: { id: string; chatId: bigint },
  text: string,
  options: { isLinkPreviewShown: boolean },
): Promise<'sent' | 'skipped'> {
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
      `UPDATE owner_notifications SET status = CASE WHEN $4 THEN 'failed' ELSE status END, attempts = attempts + 1, last_error = $2, updated_at = $3
       WHERE id = $1 AND status = 'pending'`,
      [notification.id, failure.code, deps.clock.now(), isFinal],
    );
    if (!isFinal) throw failure;
    deps.logger.warn('owner_notification.undeliverable', { channelId: request.channelId, kind: request.kind, code: failure.code });
    return 'skipped';
  }
}
