import type { Context, SessionFlavor } from 'grammy';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import type { KeyValueStore } from '../kv/index.js';
import type { Logger } from '../logging/index.js';
import type { NowPaymentsClient } from '../nowpayments/index.js';
import type { Language, MessageKey, MessageParams } from '../texts/index.js';

/** Everything the bot's features may use. Handlers keep no state of their own. */
export interface BotDeps {
  db: Db;
  kv: KeyValueStore;
  clock: Clock;
  logger: Logger;
  nowpayments: NowPaymentsClient;
  /** Public base URL of the gateway (IPN callback, links). */
  publicBaseUrl: string;
  /** Where NowPayments sends the payer back: the bot's chat. */
  returnUrl: string;
}

/** Per-chat conversation state, stored in the key-value store (Firestore in production). */
export interface SessionData {
  /** The donation keypad being typed: channel and digits so far. */
  donation?: { channelId: string; digits: string; messageId?: number };
  /** The promo code step: waiting for a typed code for this tier. */
  promo?: { channelId: string; tierNumber: number };
  /** A code from a channel's link (`c_…_p<CODE>`), applied to the tier chosen next in that channel. */
  promoCode?: { channelId: string; code: string };
}

export interface BotContextFlavor {
  deps: BotDeps;
  /** The user's language: their Telegram language_code when we speak it, else English. */
  language: Language;
  /** A message from the catalogue in the user's language. */
  t: <K extends MessageKey>(key: K, ...params: MessageParams<K>) => string;
}

export type BotContext = Context & SessionFlavor<SessionData> & BotContextFlavor;
