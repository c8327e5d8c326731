import type { UserFromGetMe } from 'grammy/types';

// For the bot (bot.ts) and the dashboard, which needs the bot's id without loading the bot (grammY's Bot, auto-retry).
/** getMe's answer built from configuration: the bot id is the token's prefix. */
export function botInfoFromConfig(token: string, username: string): UserFromGetMe {
  const id = Number.parseInt(token.split(':')[0] ?? '', 10);
  return {
    id,
    is_bot: true,
    first_name: username,
    username,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
  } as UserFromGetMe;
}
