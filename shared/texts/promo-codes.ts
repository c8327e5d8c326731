import { daysEn, daysRu, esc, formatDate, formatPrice } from './catalogue.js';

/** Why a code was not applied, as the bot explains it (the `promo_code_*` refusals, and a code that cannot be one). */
export type PromoRefusalReason = 'malformed' | 'unknown' | 'not_started' | 'expired' | 'used_up' | 'user_limit_reached' | 'not_for_tier' | 'below_minimum_price';

const REASONS_EN: Record<PromoRefusalReason, string> = {
  malformed: 'A promo code is 3 to 32 letters, digits, _ or -.',
  unknown: 'This channel has no such promo code.',
  not_started: 'This promo code is not valid yet.',
  expired: 'This promo code has expired.',
  used_up: 'This promo code has been used up.',
  user_limit_reached: 'You have already used this promo code as often as it allows.',
  not_for_tier: 'This promo code is not valid for this subscription option.',
  below_minimum_price: 'This promo code cannot be used at this price (a payment must be at least $1.00).',
};
const REASONS_RU: Record<PromoRefusalReason, string> = {
  malformed: 'Промокод — это от 3 до 32 латинских букв, цифр, _ или -.',
  unknown: 'У этого канала нет такого промокода.',
  not_started: 'Этот промокод ещё не действует.',
  expired: 'Срок действия этого промокода истёк.',
  used_up: 'Этот промокод уже израсходован.',
  user_limit_reached: 'Вы уже использовали этот промокод столько раз, сколько он позволяет.',
  not_for_tier: 'Этот промокод не действует для этого варианта подписки.',
  below_minimum_price: 'Этот промокод нельзя применить к этой цене (платёж должен быть не меньше $1.00).',
};

/** The promo code step before a subscription checkout. Codes are shown escaped (they come from people). */
export const promoMessages = {
  promoPrompt: {
    en: (title: string, tierNumber: number, days: number, priceCents: bigint) =>
      `<b>${esc(title)}</b> · Tier ${tierNumber} · ${daysEn(days)} · ${formatPrice(priceCents)}\n\nHave a promo code?`,
    ru: (title: string, tierNumber: number, days: number, priceCents: bigint) =>
      `<b>${esc(title)}</b> · Уровень ${tierNumber} · ${daysRu(days)} · ${formatPrice(priceCents)}\n\nЕсть промокод?`,
  },
  promoEnterButton: {
    en: () => '🎟 Enter a promo code',
    ru: () => '🎟 Ввести промокод',
  },
  promoFullPriceButton: {
    en: (priceCents: bigint) => `Pay full price ${formatPrice(priceCents)}`,
    ru: (priceCents: bigint) => `Оплатить полную цену ${formatPrice(priceCents)}`,
  },
  promoAsk: {
    en: () => 'Send the promo code as a message.',
    ru: () => 'Отправьте промокод сообщением.',
  },
  promoRefused: {
    en: (reason: PromoRefusalReason, code: string) =>
      `${code === '' ? '' : `<code>${esc(code)}</code>: `}${REASONS_EN[reason]}\n\nSend another code, or pay the full price.`,
    ru: (reason: PromoRefusalReason, code: string) =>
      `${code === '' ? '' : `<code>${esc(code)}</code>: `}${REASONS_RU[reason]}\n\nОтправьте другой код или оплатите полную цену.`,
  },
  promoCheckout: {
    en: (title: string, tierNumber: number, days: number, listPriceCents: bigint, priceCents: bigint, code: string, offerEndsAt: Date) =>
      [
        `<b>${esc(title)}</b> · Tier ${tierNumber} · ${daysEn(days)}`,
        `Price: <s>${formatPrice(listPriceCents)}</s> <b>${formatPrice(priceCents)}</b> with promo code <code>${esc(code)}</code>`,
        '',
        `Tap Pay to pay in crypto (this invoice is offered until ${formatDate(offerEndsAt)}).`,
        'Your invite link arrives in this chat as soon as the payment is confirmed.',
      ].join('\n'),
    ru: (title: string, tierNumber: number, days: number, listPriceCents: bigint, priceCents: bigint, code: string, offerEndsAt: Date) =>
      [
        `<b>${esc(title)}</b> · Уровень ${tierNumber} · ${daysRu(days)}`,
        `Цена: <s>${formatPrice(listPriceCents)}</s> <b>${formatPrice(priceCents)}</b> с промокодом <code>${esc(code)}</code>`,
        '',
        `Нажмите «Оплатить», чтобы оплатить криптовалютой (счёт действует до ${formatDate(offerEndsAt)}).`,
        'Ссылка-приглашение придёт в этот чат, как только платёж подтвердится.',
      ].join('\n'),
  },
};
