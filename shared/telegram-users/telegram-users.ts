import type { Queryable, Tx } from '../db/index.js';

/** A Telegram user as the bot sees them; upserted so payments can name their subscriber. */
export interface TelegramUserProfile {
  id: bigint;
  username?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  languageCode?: string | null;
}

/** Records the user as they are now; a user acting in the bot can be written to again (`dm_blocked_at` cleared). */
export async function upsertTelegramUser(tx: Tx, user: TelegramUserProfile): Promise<void> {
  await tx.query(
    `INSERT INTO telegram_users (id, username, first_name, last_name, language_code)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO UPDATE SET
       username = EXCLUDED.username, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
       language_code = coalesce(EXCLUDED.language_code, telegram_users.language_code), dm_blocked_at = NULL, updated_at = now()`,
    [user.id, user.username ?? null, user.firstName ?? null, user.lastName ?? null, user.languageCode ?? null],
  );
}

/**
 * A user blocked (`kicked`) or unblocked the bot in their private chat (the bot's `my_chat_member`),
 * or Telegram refused a DM because of it (`isBlocked`): DM stages (invites, reminders) skip a blocked
 * user and try again once they are back. A repeat keeps the first moment. A user we never stored is
 * left alone: they are recorded when they first use the bot.
 */
export async function recordDirectMessageReach(q: Queryable, telegramUserId: bigint, isBlocked: boolean, at: Date): Promise<void> {
  await q.query(
    `UPDATE telegram_users SET dm_blocked_at = CASE WHEN $2 THEN coalesce(dm_blocked_at, $3) END, updated_at = $3
      WHERE id = $1 AND (dm_blocked_at IS NULL) = $2`,
    [telegramUserId, isBlocked, at],
  );
}

/**
 * Telegram refused a DM the user was owed (an invite link): they blocked the bot. Unlike
 * `recordDirectMessageReach`, the moment moves to `at` when one was recorded before.
 */
export async function markDirectMessagesBlocked(q: Queryable, telegramUserId: bigint, at: Date): Promise<void> {
  await q.query('UPDATE telegram_users SET dm_blocked_at = $2, updated_at = $2 WHERE id = $1', [telegramUserId, at]);
}
