import { esc, formatDate } from './catalogue.js';

/**
 * Messages the pipeline stages send outside a conversation (invite, payment problems, expiry), in
 * the subscriber's language as stored with their Telegram profile.
 */
export const stageMessages = {
  dmInviteReady: {
    en: (title: string, link: string, linkValidUntil: Date, subscriptionEnds: Date) =>
      [
        `🎉 Your access to <b>${esc(title)}</b> is ready.`,
        '',
        `Join with this one-time link (valid until ${formatDate(linkValidUntil)}):`,
        link,
        '',
        `Your subscription runs until ${formatDate(subscriptionEnds)}.`,
      ].join('\n'),
    ru: (title: string, link: string, linkValidUntil: Date, subscriptionEnds: Date) =>
      [
        `🎉 Доступ к <b>${esc(title)}</b> открыт.`,
        '',
        `Вступите по этой одноразовой ссылке (действует до ${formatDate(linkValidUntil)}):`,
        link,
        '',
        `Подписка действует до ${formatDate(subscriptionEnds)}.`,
      ].join('\n'),
  },
  dmPaymentUnderpaid: {
    en: (title: string, paid: string, expected: string, missing: string, currency: string) =>
      `⚠️ Your payment for <b>${esc(title)}</b> arrived incomplete: ${esc(paid)} of ${esc(expected)} ${esc(currency)}.\n` +
      `Missing: ${esc(missing)} ${esc(currency)}. Access is granted once the full amount is paid; contact NowPayments support about the partial payment.`,
    ru: (title: string, paid: string, expected: string, missing: string, currency: string) =>
      `⚠️ Оплата за <b>${esc(title)}</b> пришла не полностью: ${esc(paid)} из ${esc(expected)} ${esc(currency)}.\n` +
      `Не хватает: ${esc(missing)} ${esc(currency)}. Доступ откроется после полной оплаты; по частичному платежу обратитесь в поддержку NowPayments.`,
  },
  dmPaymentExpired: {
    en: (title: string) => `⌛ Your payment for <b>${esc(title)}</b> expired before funds arrived. Nothing was charged; start again to get a new invoice.`,
    ru: (title: string) => `⌛ Срок оплаты за <b>${esc(title)}</b> истёк до поступления средств. Ничего не списано; начните заново, чтобы получить новый счёт.`,
  },
  dmPaymentFailed: {
    en: (title: string) => `❌ Your payment for <b>${esc(title)}</b> failed. Nothing was granted; please try again.`,
    ru: (title: string) => `❌ Оплата за <b>${esc(title)}</b> не прошла. Доступ не открыт; попробуйте ещё раз.`,
  },
  dmPaymentRefunded: {
    en: (title: string) => `↩️ Your payment for <b>${esc(title)}</b> was refunded.`,
    ru: (title: string) => `↩️ Оплата за <b>${esc(title)}</b> возвращена.`,
  },
  dmSubscriptionEnded: {
    en: (title: string, endedAt: Date) => `⌛ Your subscription to <b>${esc(title)}</b> ended on ${formatDate(endedAt)}. Renew any time to get back in.`,
    ru: (title: string, endedAt: Date) => `⌛ Ваша подписка на <b>${esc(title)}</b> закончилась ${formatDate(endedAt)}. Продлите в любой момент, чтобы вернуться.`,
  },
  dmRenewButton: {
    en: () => '🔄 Renew',
    ru: () => '🔄 Продлить',
  },
} as const;
