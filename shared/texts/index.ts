/**
 * Every text the gateway sends in Telegram (the bot's conversations, the stages' DMs, owner notices,
 * tier posts), in English and Russian: `translate(language, key, …params)`.
 */
export {
  type Language,
  type MessageKey,
  type MessageParams,
  LANGUAGES,
  languageOf,
  translate,
  formatPrice,
  formatDate,
  esc,
} from './catalogue.js';
export {
  type BotRightName,
  type ChatRole,
  type ChannelSummaryLine,
  type IntruderRemoval,
  type ParkingNoticeFacts,
  type PayoutFailureReason,
  type PayoutNoticeFacts,
  type ThresholdProgressFacts,
} from './owner.js';
export { type PromoRefusalReason } from './promo-codes.js';
