import type { Api } from 'grammy';
import { type BotApiOptions, configuredApi } from './bot-api-settings.js';

/** The Bot API calls the dashboard makes: chat ownership checks and the bot's own username. */
export type OnDemandBotApi = Pick<Api, 'getChat' | 'getChatMember' | 'getMe'>;

/**
 * `createBotApi`, with grammY imported on the first call instead of at cold start. For the dashboard:
 * only channel registration and edits (and getMe when no username is configured) reach Telegram,
 * so its other requests, and its cold start, skip grammY's 50–120 ms import. The pipeline stages call
 * Telegram on every delivery and keep `createBotApi`.
 */
export function createOnDemandBotApi(options: BotApiOptions): OnDemandBotApi {
  let api: Promise<Api> | undefined;
  const loaded = () => (api ??= import('grammy').then((grammy) => configuredApi(grammy.Api, options)));
  return {
    getChat: async (...args) => (await loaded()).getChat(...args),
    getChatMember: async (...args) => (await loaded()).getChatMember(...args),
    getMe: async (...args) => (await loaded()).getMe(...args),
  };
}
