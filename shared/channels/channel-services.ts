import { configVars, loadConfig } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import { botInfoFromConfig, createOnDemandBotApi } from '../telegram/index.js';
import { type BotUsernameSource, createBotUsernameSource } from '../telegram/bot-username.js';
import type { ChannelServices } from './channels.js';

/**
 * Channel registration's services from the environment, once per cold start: the Bot API client
 * (TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT), the bot's identity (TELEGRAM_BOT_USERNAME; no getMe) and
 * the minimums (MIN_TIER_PRICE_CENTS, MIN_PAYOUT_THRESHOLD_CENTS). Undefined when the token or the
 * username is unset: the dashboard then answers 503 to channel registration and edits. Invalid
 * values stop the cold start with the variable's name.
 */
export function loadChannelServices(env: NodeJS.ProcessEnv = process.env): ChannelServices | undefined {
  const config = loadConfig(
    {
      TELEGRAM_BOT_TOKEN: configVars.TELEGRAM_BOT_TOKEN.optional(),
      TELEGRAM_API_ROOT: configVars.TELEGRAM_API_ROOT,
      TELEGRAM_BOT_USERNAME: configVars.TELEGRAM_BOT_USERNAME.optional(),
      MIN_TIER_PRICE_CENTS: configVars.MIN_TIER_PRICE_CENTS,
      MIN_PAYOUT_THRESHOLD_CENTS: configVars.MIN_PAYOUT_THRESHOLD_CENTS,
    },
    env,
  );
  if (!config.TELEGRAM_BOT_TOKEN || !config.TELEGRAM_BOT_USERNAME) return undefined;
  return {
    telegram: createOnDemandBotApi({ token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT }),
    bot: { id: botInfoFromConfig(config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_BOT_USERNAME).id, username: config.TELEGRAM_BOT_USERNAME },
    limits: { minTierPriceCents: config.MIN_TIER_PRICE_CENTS, minPayoutThresholdCents: config.MIN_PAYOUT_THRESHOLD_CENTS },
  };
}

/**
 * Where the dashboard's subscribe links get the bot's username, once per cold start:
 * TELEGRAM_BOT_USERNAME when set, else getMe with TELEGRAM_BOT_TOKEN (asked on the first read and
 * kept), else nothing (answers carry `subscribeLinks: null`).
 */
export function loadSubscribeBot(logger: Logger, env: NodeJS.ProcessEnv = process.env): BotUsernameSource {
  const config = loadConfig(
    {
      TELEGRAM_BOT_TOKEN: configVars.TELEGRAM_BOT_TOKEN.optional(),
      TELEGRAM_API_ROOT: configVars.TELEGRAM_API_ROOT,
      TELEGRAM_BOT_USERNAME: configVars.TELEGRAM_BOT_USERNAME.optional(),
    },
    env,
  );
  return createBotUsernameSource({
    configured: config.TELEGRAM_BOT_USERNAME,
    telegram: config.TELEGRAM_BOT_TOKEN ? createOnDemandBotApi({ token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT }) : undefined,
    logger,
  });
}
