import { recordAuditEvent } from '../audit/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';

/**
 * Turns payment notifications on or off for every live channel of the account. Turning on sends
 * them to `chatId` (the owner's own chat with the bot). Returns how many channels changed. The bot's
 * `/notifications on|off`; the dashboard sets one channel's with `updateChannel`. Audited as
 * `channel.notifications_switched` (actor: the Telegram user who sent the command).
 */
export async function setOwnerNotifications(
  deps: { db: Db; clock: Clock },
  input: { accountId: string; isOn: boolean; chatId: number },
): Promise<number> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const { rowCount } = input.isOn
      ? await tx.query(
          `UPDATE channels SET notifications_enabled = true, notification_chat_id = $2, updated_at = $3
           WHERE owner_account_id = $1 AND deleted_at IS NULL`,
          [input.accountId, input.chatId, now],
        )
      : await tx.query(`UPDATE channels SET notifications_enabled = false, updated_at = $2 WHERE owner_account_id = $1 AND deleted_at IS NULL`, [input.accountId, now]);
    await recordAuditEvent(tx, {
      occurredAt: now,
      actor: { type: 'telegram_user', id: String(input.chatId) },
      action: 'channel.notifications_switched',
      subject: { type: 'account', id: input.accountId },
      details: { isOn: input.isOn, channels: rowCount },
    });
    return rowCount;
  });
}
