import { daysEn, daysRu, esc, formatDate, formatPrice } from './catalogue.js';

type ReminderOffset = '3d' | '1d' | '1h';
const WHEN_EN: Record<ReminderOffset, string> = { '3d': 'in 3 days', '1d': 'in 1 day', '1h': 'in 1 hour' };
const WHEN_RU: Record<ReminderOffset, string> = { '3d': 'через 3 дня', '1d': 'через 1 день', '1h': 'через 1 час' };

function lines(...parts: string[]): string {
  return parts.join('\n');
}

/**
 * Free trials and gift subscriptions: the bot's buttons and answers, and the DMs of the stages
 * (claim link, expired gift, trial ending). Titles and first names come from users: through `esc`.
 */
export const giftTrialMessages = {
  trialButton: {
    en: (days: number) => `🆓 Try ${daysEn(days)} free`,
    ru: (days: number) => `🆓 ${daysRu(days)} бесплатно`,
  },
  giftButton: {
    en: (tierNumber: number) => `🎁 Gift tier ${tierNumber}`,
    ru: (tierNumber: number) => `🎁 Подарить уровень ${tierNumber}`,
  },
  giftCheckout: {
    en: (title: string, tierNumber: number, days: number, priceCents: bigint, offerEndsAt: Date) =>
      lines(
        `🎁 A gift: <b>${esc(title)}</b> · Tier ${tierNumber} · ${daysEn(days)}`,
        `Price: <b>${formatPrice(priceCents)}</b>`,
        '',
        `Tap Pay to pay in crypto (this invoice is offered until ${formatDate(offerEndsAt)}).`,
        'Once the payment is confirmed you get a link here: forward it to the person the gift is for. It can be claimed within 30 days.',
      ),
    ru: (title: string, tierNumber: number, days: number, priceCents: bigint, offerEndsAt: Date) =>
      lines(
        `🎁 Подарок: <b>${esc(title)}</b> · Уровень ${tierNumber} · ${daysRu(days)}`,
        `Цена: <b>${formatPrice(priceCents)}</b>`,
        '',
        `Нажмите «Оплатить», чтобы оплатить криптовалютой (счёт действует до ${formatDate(offerEndsAt)}).`,
        'Когда платёж подтвердится, вы получите здесь ссылку: перешлите её тому, кому дарите. Подарок можно получить в течение 30 дней.',
      ),
  },
  trialGranted: {
    en: (title: string, days: number, endsAt: Date) =>
      `🆓 Your free trial of <b>${esc(title)}</b> (${daysEn(days)}) has started and runs until ${formatDate(endsAt)}. Your one-time invite link arrives in a moment.`,
    ru: (title: string, days: number, endsAt: Date) =>
      `🆓 Ваш бесплатный пробный период в <b>${esc(title)}</b> (${daysRu(days)}) начался и действует до ${formatDate(endsAt)}. Одноразовая ссылка-приглашение придёт через минуту.`,
  },
  trialAlreadyUsed: {
    en: () => 'You have already had the free trial of this channel. Choose a tier to subscribe.',
    ru: () => 'Вы уже использовали пробный период этого канала. Выберите уровень, чтобы подписаться.',
  },
  trialHasSubscribed: {
    en: () => 'Free trials are for new members: you already have (or had) access to this channel. Choose a tier to subscribe.',
    ru: () => 'Пробный период — для новых участников: у вас уже есть (или был) доступ к этому каналу. Выберите уровень, чтобы подписаться.',
  },
  trialAccountTooNew: {
    en: (days: number) => `This channel offers its free trial to accounts that have used this bot for at least ${daysEn(days)}. You can subscribe right away.`,
    ru: (days: number) => `Этот канал даёт пробный период аккаунтам, которые пользуются ботом не меньше ${daysRu(days)}. Подписаться можно сразу.`,
  },
  trialUnavailable: {
    en: () => 'This free trial is no longer offered.',
    ru: () => 'Этот пробный период больше не предлагается.',
  },
  paymentPaidGift: {
    en: () => 'Paid ✅ Your gift link arrives in this chat: forward it to the person the gift is for.',
    ru: () => 'Оплачено ✅ Ссылка на подарок придёт в этот чат: перешлите её тому, кому дарите.',
  },
  giftOffer: {
    en: (title: string, days: number, buyerFirstName: string | null, claimUntil: Date) =>
      lines(
        `🎁 ${buyerFirstName ? `<b>${esc(buyerFirstName)}</b> gives you` : 'A gift for you:'} ${daysEn(days)} of <b>${esc(title)}</b>.`,
        `Tap Claim to accept it (before ${formatDate(claimUntil)}). If you already subscribe, the days are added to your subscription.`,
      ),
    ru: (title: string, days: number, buyerFirstName: string | null, claimUntil: Date) =>
      lines(
        `🎁 ${buyerFirstName ? `<b>${esc(buyerFirstName)}</b> дарит вам` : 'Подарок для вас:'} ${daysRu(days)} в <b>${esc(title)}</b>.`,
        `Нажмите «Получить», чтобы принять его (до ${formatDate(claimUntil)}). Если вы уже подписаны, дни добавятся к подписке.`,
      ),
  },
  giftClaimButton: {
    en: () => '🎁 Claim',
    ru: () => '🎁 Получить',
  },
  giftClaimed: {
    en: (title: string, endsAt: Date) => `🎉 The gift is yours: access to <b>${esc(title)}</b> until ${formatDate(endsAt)}. Your one-time invite link arrives in a moment.`,
    ru: (title: string, endsAt: Date) => `🎉 Подарок ваш: доступ к <b>${esc(title)}</b> до ${formatDate(endsAt)}. Одноразовая ссылка-приглашение придёт через минуту.`,
  },
  giftAlreadyYours: {
    en: () => 'You have already claimed this gift: your invite link is in this chat.',
    ru: () => 'Вы уже получили этот подарок: ссылка-приглашение в этом чате.',
  },
  giftOwn: {
    en: () => 'This is your own gift, so you cannot claim it. Forward the link to the person it is for.',
    ru: () => 'Это ваш собственный подарок, получить его сами вы не можете. Перешлите ссылку тому, кому дарите.',
  },
  giftAlreadyClaimed: {
    en: () => 'This gift has already been claimed.',
    ru: () => 'Этот подарок уже получен.',
  },
  giftExpired: {
    en: () => 'This gift has expired: it was not claimed within 30 days.',
    ru: () => 'Срок этого подарка истёк: его не получили за 30 дней.',
  },
  giftNotFound: {
    en: () => "This gift link isn't valid (or a newer link replaced it). Ask the sender for the link again.",
    ru: () => 'Эта ссылка на подарок недействительна (или её заменила более новая). Попросите отправителя прислать ссылку ещё раз.',
  },
  giftChannelUnavailable: {
    en: () => "This channel isn't available right now. The gift stays yours to claim until it expires: try again later.",
    ru: () => 'Этот канал сейчас недоступен. Подарок можно будет получить, пока не истёк его срок: попробуйте позже.',
  },
  giftsNone: {
    en: () => 'You have not given any gifts yet. Choose 🎁 Gift under a channel’s tiers to give one.',
    ru: () => 'Вы ещё не дарили подписки. Нажмите 🎁 «Подарить» под уровнями канала, чтобы подарить.',
  },
  giftsHeader: {
    en: () => '<b>Your gifts</b>',
    ru: () => '<b>Ваши подарки</b>',
  },
  giftLinePending: {
    en: (title: string, days: number, claimUntil: Date) => `⏳ ${esc(title)} · ${daysEn(days)} · not claimed yet (until ${formatDate(claimUntil)})`,
    ru: (title: string, days: number, claimUntil: Date) => `⏳ ${esc(title)} · ${daysRu(days)} · ещё не получен (до ${formatDate(claimUntil)})`,
  },
  giftLineClaimed: {
    en: (title: string, days: number, claimerFirstName: string | null) => `✅ ${esc(title)} · ${daysEn(days)} · claimed by ${esc(claimerFirstName ?? 'someone')}`,
    ru: (title: string, days: number, claimerFirstName: string | null) => `✅ ${esc(title)} · ${daysRu(days)} · получил(а) ${esc(claimerFirstName ?? 'получатель')}`,
  },
  giftLineExpired: {
    en: (title: string, days: number) => `⌛ ${esc(title)} · ${daysEn(days)} · expired unclaimed`,
    ru: (title: string, days: number) => `⌛ ${esc(title)} · ${daysRu(days)} · истёк, не получен`,
  },
  dmGiftReady: {
    en: (title: string, days: number, link: string, claimUntil: Date) =>
      lines(
        `🎁 Your gift of ${daysEn(days)} of <b>${esc(title)}</b> is paid.`,
        '',
        'Forward this link to the person it is for; whoever opens it first can claim it:',
        link,
        '',
        `It can be claimed until ${formatDate(claimUntil)}. /gifts shows your gifts.`,
      ),
    ru: (title: string, days: number, link: string, claimUntil: Date) =>
      lines(
        `🎁 Ваш подарок — ${daysRu(days)} в <b>${esc(title)}</b> — оплачен.`,
        '',
        'Перешлите эту ссылку тому, кому дарите; получить подарок сможет первый, кто её откроет:',
        link,
        '',
        `Подарок можно получить до ${formatDate(claimUntil)}. /gifts — ваши подарки.`,
      ),
  },
  dmGiftNoLongerPending: {
    en: (title: string) => `🎁 Your gift of <b>${esc(title)}</b> is paid, but it is no longer open to claim. /gifts shows what happened to it.`,
    ru: (title: string) => `🎁 Ваш подарок в <b>${esc(title)}</b> оплачен, но получить его уже нельзя. /gifts покажет, что с ним случилось.`,
  },
  dmGiftExpired: {
    en: (title: string, days: number, expiredAt: Date) =>
      `⌛ Your gift of ${daysEn(days)} of <b>${esc(title)}</b> was not claimed and expired on ${formatDate(expiredAt)}. Gifts are not refunded: the channel's owner was paid when you bought it.`,
    ru: (title: string, days: number, expiredAt: Date) =>
      `⌛ Ваш подарок — ${daysRu(days)} в <b>${esc(title)}</b> — не получили, и его срок истёк ${formatDate(expiredAt)}. Деньги за подарки не возвращаются: владелец канала получил оплату при покупке.`,
  },
  trialEndingReminder: {
    en: (title: string, offset: ReminderOffset, endsAt: Date) =>
      lines(`⏰ Your free trial of <b>${esc(title)}</b> ends ${WHEN_EN[offset]}, on ${formatDate(endsAt)}.`, 'Subscribe now to stay: your first paid period starts when the trial ends.'),
    ru: (title: string, offset: ReminderOffset, endsAt: Date) =>
      lines(
        `⏰ Ваш бесплатный пробный период в <b>${esc(title)}</b> заканчивается ${WHEN_RU[offset]}, ${formatDate(endsAt)}.`,
        'Подпишитесь сейчас, чтобы остаться: первый оплаченный период начнётся, когда закончится пробный.',
      ),
  },
} as const;
