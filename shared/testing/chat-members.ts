import type { ChatMember, ChatMemberAdministrator, User } from 'grammy/types';
import { FULL_RIGHTS } from './simulators/telegram-simulator-world.js';

/**
 * A user's states in a chat as Telegram reports them (`getChatMember`, `my_chat_member`,
 * `chat_member`), for tests of the bot's rights and of the leak guard. `admin()` holds every right a
 * bot can get (the simulator's list), minus `rights` set to false.
 */
export function chatMemberStates(user: User) {
  return {
    admin: (rights: Partial<ChatMemberAdministrator> = {}): ChatMember =>
      ({ status: 'administrator', user, can_be_edited: false, ...FULL_RIGHTS, ...rights }) as ChatMember,
    left: { status: 'left', user } as ChatMember,
    kicked: { status: 'kicked', user, until_date: 0 } as ChatMember,
    member: { status: 'member', user } as ChatMember,
  };
}
