import { Api } from 'grammy';
import { configVars, loadConfig } from '../config/index.js';
import { type BotApiOptions, configuredApi } from './bot-api-settings.js';

/**
 * A grammY `Api` for pipeline stages (send-invite, notify-owner, expire-subscriptions), with
 * `refuseCallsInTransaction` installed. Failures are grammY's `GrammyError` (Telegram said no) and
 * `HttpError` (no answer); turn them into our errors with `toTelegramError`. No retries happen here:
 * a stage throws the transient error and Pub/Sub redelivers.
 */
export function createBotApi(options: BotApiOptions): Api {
  return configuredApi(Api, options);
}

/**
 * The stages' Bot API from TELEGRAM_BOT_TOKEN and TELEGRAM_API_ROOT (validated; a missing token
 * stops the cold start with its name). Call once at module scope.
 */
export function loadBotApi(env: NodeJS.ProcessEnv = process.env): Api {
  const config = loadConfig({ TELEGRAM_BOT_TOKEN: configVars.TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT: configVars.TELEGRAM_API_ROOT }, env);
  return createBotApi({ token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT });
}
