import type { User } from 'grammy/types';
import type { TelegramUserProfile } from '../../telegram-users/index.js';

/** The sender as we store Telegram users (`upsertTelegramUser`). */
export function profileOf(user: User): TelegramUserProfile {
  return {
    id: BigInt(user.id),
    username: user.username ?? null,
    firstName: user.first_name,
    lastName: user.last_name ?? null,
    languageCode: user.language_code ?? null,
  };
}
