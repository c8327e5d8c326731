/**
 * The Telegram Bot API for pipeline stages: a grammY `Api` that refuses calls inside a database
 * transaction, one translation of its failures into our errors, HTML escaping for messages, the
 * bot's identity from configuration, its deep links (`https://t.me/<bot>?start=…`) and validated
 * inline-button data.
 *
 *   const api = createBotApi({ token: config.telegramBotToken });
 *   try {
 *     await api.sendMessage(chatId, `Welcome to <b>${escapeHtml(title)}</b>`, { parse_mode: 'HTML' });
 *   } catch (error) {
 *     throw toTelegramError(error, { subscriptionId });
 *   }
 *
 * Tests point `apiRoot` at `startTelegramSimulator()` from `shared/testing/simulators/telegram-simulator.ts`.
 */
export { type BotApiOptions, BOT_API_TIMEOUT_SECONDS, TELEGRAM_API_ROOT, refuseCallsInTransaction } from './bot-api-settings.js';
export { createBotApi, loadBotApi } from './bot-api.js';
export { type OnDemandBotApi, createOnDemandBotApi } from './on-demand-bot-api.js';
export { type TelegramErrorCode, toTelegramError, isGrammyError, isHttpError, isTelegramUserUnreachable } from './telegram-errors.js';
export { escapeHtml } from './html.js';
export { botInfoFromConfig } from './bot-info.js';
export {
  type SubscribeTarget,
  subscribeStartPayload,
  isSubscribeStartPayload,
  parseSubscribeStartPayload,
  subscribeLink,
  donateStartPayload,
  donateLink,
  giftStartPayload,
  isGiftStartPayload,
  parseGiftStartPayload,
  giftClaimLink,
} from './deep-links.js';
export { type CallbackCodec, MAX_CALLBACK_DATA_BYTES, defineCallbackData } from './callback-data.js';
export { type BotUsernameSource, type BotUsernameSourceOptions, GET_ME_TIMEOUT_MS, GET_ME_RETRY_AFTER_MS, createBotUsernameSource } from './bot-username.js';
