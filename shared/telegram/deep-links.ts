import { formatPublicId, parsePublicId } from '../ids/index.js';

/**
 * The links that sell a channel: `https://t.me/<bot>?start=<payload>`. The payload names the
 * channel (and a tier) by its opaque public id only; the price and the duration are read from the
 * database when the link is opened, so a link can never be forged into another price and an old
 * link always sells at today's price.
 *
 *   c_ch_<22 characters>      the channel: the bot shows its tiers
 *   c_ch_<22 characters>_2    tier 2 of it: the bot opens that tier's checkout
 *   c_ch_<22 characters>_2_pSPRING25   the same with a promo code: the checkout at the code's price
 *   c_ch_<22 characters>_pSPRING25     the channel with a code: applied to the tier then chosen
 *
 * A code is 3–32 of [A-Z0-9_-] (the longest payload is 63 characters); the link carries only its
 * name, and the code is checked and priced in the database like the tier.
 *
 * Telegram allows `[A-Za-z0-9_-]`, at most 64 characters, in a start parameter.
 */
const PREFIX = 'c_';
const DONATE_PREFIX = 'd_';
const CHANNEL_PAYLOAD_LENGTH = PREFIX.length + formatPublicId('channel', '00000000-0000-4000-8000-000000000000').length;
const REST_PAYLOAD = /^(?:_([1-3]))?(?:_p([A-Za-z0-9_-]{3,32}))?$/;

export interface SubscribeTarget {
  channelId: string;
  /** Absent for the channel's own link. */
  tierNumber?: number;
  /** A promo code the link carries, upper-case as stored. */
  promoCode?: string;
}

export function subscribeStartPayload(channelId: string, tierNumber?: number, promoCode?: string): string {
  const channel = `${PREFIX}${formatPublicId('channel', channelId)}`;
  const tier = tierNumber === undefined ? '' : `_${tierNumber}`;
  return `${channel}${tier}${promoCode === undefined ? '' : `_p${promoCode.toUpperCase()}`}`;
}

/** True when the payload is meant as a subscribe link (it may still be malformed). */
export function isSubscribeStartPayload(payload: string): boolean {
  return payload.startsWith(PREFIX);
}

/** The channel (and tier) a subscribe payload names, or `undefined` when it is malformed. */
export function parseSubscribeStartPayload(payload: string): SubscribeTarget | undefined {
  if (!isSubscribeStartPayload(payload) || payload.length > 64) return undefined;
  const rest = REST_PAYLOAD.exec(payload.slice(CHANNEL_PAYLOAD_LENGTH));
  if (!rest) return undefined;
  const [, tier, promoCode] = rest;
  try {
    const channelId = parsePublicId('channel', payload.slice(PREFIX.length, CHANNEL_PAYLOAD_LENGTH));
    return {
      channelId,
      ...(tier === undefined ? {} : { tierNumber: Number(tier) }),
      ...(promoCode === undefined ? {} : { promoCode: promoCode.toUpperCase() }),
    };
  } catch {
    return undefined;
  }
}

/** `https://t.me/<bot>?start=<payload>`; `botUsername` without the `@`. */
export function subscribeLink(botUsername: string, channelId: string, tierNumber?: number, promoCode?: string): string {
  return `https://t.me/${botUsername}?start=${subscribeStartPayload(channelId, tierNumber, promoCode)}`;
}

/** The `/start` payload of a channel's donate link: `d_ch_…` (the bot opens its amount keypad). */
export function donateStartPayload(channelId: string): string {
  return `${DONATE_PREFIX}${formatPublicId('channel', channelId)}`;
}

/** `https://t.me/<bot>?start=d_ch_…`. */
export function donateLink(botUsername: string, channelId: string): string {
  return `https://t.me/${botUsername}?start=${donateStartPayload(channelId)}`;
}

/**
 * A gift's claim link: `https://t.me/<bot>?start=g_<claim code>`. The code (32 base64url characters,
 * 192 random bits) is the gift's bearer secret: whoever opens the link may claim it, so it is sent
 * only to the buyer, and the database keeps only its SHA-256.
 */
const GIFT_PREFIX = 'g_';
const GIFT_CODE_PATTERN = /^[A-Za-z0-9_-]{32}$/;

export function giftStartPayload(claimCode: string): string {
  return `${GIFT_PREFIX}${claimCode}`;
}

export function isGiftStartPayload(payload: string): boolean {
  return payload.startsWith(GIFT_PREFIX);
}

/** The claim code a gift payload carries, or `undefined` when it is malformed. */
export function parseGiftStartPayload(payload: string): string | undefined {
  const code = payload.slice(GIFT_PREFIX.length);
  return isGiftStartPayload(payload) && GIFT_CODE_PATTERN.test(code) ? code : undefined;
}

export function giftClaimLink(botUsername: string, claimCode: string): string {
  return `https://t.me/${botUsername}?start=${giftStartPayload(claimCode)}`;
}
