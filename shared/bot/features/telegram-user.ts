import type { User } from 'grammy/types';
import type { TelegramUserProfile } from '../../telegram-users/index.js';
import { withoutRefusedCharacters } from '../../user-text/index.js';

const clean = (text: string | undefined) => (text === undefined ? null : withoutRefusedCharacters(text));

/**
 * The sender as we store Telegram users (`upsertTelegramUser`). Names are Telegram's, not typed to
 * us: characters PostgreSQL or our texts cannot take are dropped rather than the update refused.
 */
export function profileOf(user: User): TelegramUserProfile {
  return {
    id: BigInt(user.id),
    username: clean(user.username),
    firstName: withoutRefusedCharacters(user.first_name),
    lastName: clean(user.last_name),
    languageCode: clean(user.language_code),
  };
}
