import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';

/**
 * Turns payment notifications on or off for every live channel of the account. Turning on sends
 * them to `chatId` (the owner's own chat with the bot). Returns how many channels changed. The bot's
 * `/notifications on|off`; the dashboard sets one channel's with `updateChannel`.
 */
export async function setOwnerNotifications(
  deps: { db: Db; clock: Clock },
  input: { accountId: string; isOn: boolean; chatId: number },
): Promise<number> {
  const now = deps.clock.now();
  const { rowCount } = input.isOn
    ? await deps.db.query(
        `UPDATE channels SET notifications_enabled = true, notification_chat_id = $2, updated_at = $3
         WHERE owner_account_id = $1 AND deleted_at IS NULL`,
        [input.accountId, input.chatId, now],
      )
    : await deps.db.query(
        `UPDATE channels SET notifications_enabled = false, updated_at = $2 WHERE owner_account_id = $1 AND deleted_at IS NULL`,
        [input.accountId, now],
      );
  return rowCount;
}
