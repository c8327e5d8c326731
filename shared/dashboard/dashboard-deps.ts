import type { AccountDeps } from '../accounts/index.js';
import type { ChannelServices } from '../channels/index.js';
import type { OwnerWebhookSettings } from '../owner-webhooks/index.js';
import type { BotUsernameSource } from '../telegram/index.js';
import type { Services } from '../runtime/index.js';

/**
 * What route handlers get: the instance's services plus the dashboard's settings. A route module
 * that needs more (a Bot API client, limits from configuration) adds a field here and sets it in
 * `functions/dashboard-api/index.ts`; tests build it with `shared/testing/dashboard-api.ts`.
 */
export interface DashboardDeps extends Services, AccountDeps {
  /** TELEGRAM_BOT_USERNAME, for `https://t.me/<bot>?start=link_<code>`; without it only the code is returned. */
  telegramBotUsername?: string;
  /** Channel registration (Bot API client, bot identity, configured minimums). Unset: creating or editing a channel answers 503. */
  channels?: ChannelServices;
  /**
   * The bot's username for the channels' subscribe links and QR codes (`loadSubscribeBot`: configured,
   * else getMe once per process). Unset: `telegramBotUsername`, else `channels.bot.username`, else no links.
   */
  subscribeBot?: BotUsernameSource;
  /** Owner webhooks (OWNER_WEBHOOK_SIGNING_KEY, to show secrets). Unset: creating, editing and rotating answer 503. */
  ownerWebhooks?: OwnerWebhookSettings;
}
