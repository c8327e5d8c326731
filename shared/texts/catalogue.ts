import { formatUtc } from '../clock/index.js';
import { formatUsdCents } from '../money/index.js';
import { escapeHtml } from '../telegram/html.js';
import { broadcastMessages } from './broadcasts.js';
import { commonMessages } from './common.js';
import { giftTrialMessages } from './gifts-trials.js';
import { ownerMessages } from './owner.js';
import { promoMessages } from './promo-codes.js';
import { stageMessages } from './stages.js';
import { subscriberMessages } from './subscriber.js';

/**
 * Every text the bot sends, in English and Russian, in one catalogue. Each entry is a function of
 * typed parameters; user-provided text (titles, names, descriptions) must be passed through `esc`.
 * Adding a message: add it to the feature's part (common, subscriber, promo-codes, owner, stages, broadcasts, gifts-trials) in both languages —
 * the types refuse a message missing in one of them.
 */
export const LANGUAGES = ['en', 'ru'] as const;
export type Language = (typeof LANGUAGES)[number];

const catalogue = { ...commonMessages, ...subscriberMessages, ...promoMessages, ...ownerMessages, ...stageMessages, ...broadcastMessages, ...giftTrialMessages };
type Catalogue = typeof catalogue;
export type MessageKey = keyof Catalogue;
export type MessageParams<K extends MessageKey> = Parameters<Catalogue[K]['en']>;

/** The user's Telegram `language_code` ('ru', 'ru-RU', 'en-GB', …) mapped to a language we speak. */
export function languageOf(languageCode: string | undefined | null): Language {
  const primary = (languageCode ?? '').toLowerCase().split('-')[0];
  return (LANGUAGES as readonly string[]).includes(primary ?? '') ? (primary as Language) : 'en';
}

export function translate<K extends MessageKey>(language: Language, key: K, ...params: MessageParams<K>): string {
  const entry = catalogue[key] as unknown as Record<Language, (...args: MessageParams<K>) => string>;
  return entry[language](...params);
}

/** '$19.99' in every language: prices are USD. */
export function formatPrice(cents: bigint): string {
  return `$${formatUsdCents(cents)}`;
}

/** '2026-12-29 14:05 UTC' in every language: unambiguous for subscribers anywhere. */
export const formatDate = formatUtc;

/** '1 day', '30 days'. */
export function daysEn(days: number): string {
  return `${days} ${days === 1 ? 'day' : 'days'}`;
}

/** Russian plural of «день»: 1 день, 2 дня, 5 дней, 21 день, 11 дней. */
export function daysRu(days: number): string {
  const lastTwo = days % 100;
  const last = days % 10;
  const word = lastTwo >= 11 && lastTwo <= 14 ? 'дней' : last === 1 ? 'день' : last >= 2 && last <= 4 ? 'дня' : 'дней';
  return `${days} ${word}`;
}

/** HTML-escapes user content for parse_mode HTML. */
export const esc = escapeHtml;
