import { daysEn, daysRu, esc, formatDate, formatPrice } from './catalogue.js';

/** Button labels are plain text (no HTML) and should stay short. */
function short(text: string, max = 28): string {
  const chars = [...text.trim()];
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
}

function block(...lines: (string | false)[]): string {
  return lines.filter((line): line is string => line !== false).join('\n');
}

/** Which renewal reminder: 3 days, 1 day or 1 hour before the subscription ends. */
type ReminderOffset = '3d' | '1d' | '1h';
const REMINDER_WHEN_EN: Record<ReminderOffset, string> = { '3d': 'in 3 days', '1d': 'in 1 day', '1h': 'in 1 hour' };
const REMINDER_WHEN_RU: Record<ReminderOffset, string> = { '3d': 'через 3 дня', '1d': 'через 1 день', '1h': 'через 1 час' };

/**
 * Subscriber and donor messages. Titles, descriptions and donation texts come from channel owners:
 * every one goes through `esc`. Prices are `bigint` cents, dates `Date`s.
 */
export const subscriberMessages = {
  startInvalidLink: {
    en: () => "This link doesn't look right. Please open the channel's link again.",
    ru: () => 'Эта ссылка выглядит неверной. Откройте ссылку канала ещё раз.',
  },
  channelUnavailable: {
    en: () => "This channel isn't available for subscriptions right now.",
    ru: () => 'Этот канал сейчас недоступен для подписки.',
  },
  channelNoTiers: {
    en: (title: string) => `<b>${esc(title)}</b> has no subscription options right now. Please try again later.`,
    ru: (title: string) => `У канала <b>${esc(title)}</b> сейчас нет вариантов подписки. Попробуйте позже.`,
  },
  channelOffer: {
    en: (title: string, description: string) =>
      block(`<b>${esc(title)}</b>`, description.trim() !== '' && `\n${esc(description.trim())}`, '', 'Choose your subscription:'),
    ru: (title: string, description: string) =>
      block(`<b>${esc(title)}</b>`, description.trim() !== '' && `\n${esc(description.trim())}`, '', 'Выберите подписку:'),
  },
  tierButton: {
    en: (tierNumber: number, days: number, priceCents: bigint) => `Tier ${tierNumber} · ${daysEn(days)} · ${formatPrice(priceCents)}`,
    ru: (tierNumber: number, days: number, priceCents: bigint) => `Уровень ${tierNumber} · ${daysRu(days)} · ${formatPrice(priceCents)}`,
  },
  subscriptionCheckout: {
    en: (title: string, tierNumber: number, days: number, priceCents: bigint, offerEndsAt: Date) =>
      block(
        `<b>${esc(title)}</b> · Tier ${tierNumber} · ${daysEn(days)}`,
        `Price: <b>${formatPrice(priceCents)}</b>`,
        '',
        `Tap Pay to pay in crypto (this invoice is offered until ${formatDate(offerEndsAt)}).`,
        'Your invite link arrives in this chat as soon as the payment is confirmed.',
      ),
    ru: (title: string, tierNumber: number, days: number, priceCents: bigint, offerEndsAt: Date) =>
      block(
        `<b>${esc(title)}</b> · Уровень ${tierNumber} · ${daysRu(days)}`,
        `Цена: <b>${formatPrice(priceCents)}</b>`,
        '',
        `Нажмите «Оплатить», чтобы оплатить криптовалютой (счёт действует до ${formatDate(offerEndsAt)}).`,
        'Ссылка-приглашение придёт в этот чат, как только платёж подтвердится.',
      ),
  },
  payButton: {
    en: (priceCents: bigint) => `💳 Pay ${formatPrice(priceCents)}`,
    ru: (priceCents: bigint) => `💳 Оплатить ${formatPrice(priceCents)}`,
  },
  checkPaymentButton: {
    en: () => '🔄 Check payment',
    ru: () => '🔄 Проверить оплату',
  },
  paymentNone: {
    en: () => 'No payment yet. Tap Pay to pay; a payment can take a few minutes to show up.',
    ru: () => 'Оплаты пока нет. Нажмите «Оплатить»; платёж может появиться через несколько минут.',
  },
  paymentWaiting: {
    en: () => 'Your payment has started: waiting for the coins to arrive.',
    ru: () => 'Платёж начат: ждём поступления монет.',
  },
  paymentConfirming: {
    en: () => 'Payment received, waiting for network confirmations…',
    ru: () => 'Платёж получен, ждём подтверждений сети…',
  },
  paymentPaidSubscription: {
    en: () => 'Paid ✅ Your access is on its way: the invite link arrives in this chat.',
    ru: () => 'Оплачено ✅ Доступ уже в пути: ссылка-приглашение придёт в этот чат.',
  },
  paymentPaidDonation: {
    en: () => 'Paid ✅ Thank you for your support!',
    ru: () => 'Оплачено ✅ Спасибо за поддержку!',
  },
  paymentUnderpaid: {
    en: () => 'Less than the price was received, so the payment is not complete. Please contact the channel owner.',
    ru: () => 'Получено меньше нужной суммы, поэтому платёж не завершён. Свяжитесь с владельцем канала.',
  },
  paymentExpired: {
    en: () => 'This payment has expired. Please choose again to get a new invoice.',
    ru: () => 'Срок этого платежа истёк. Выберите снова, чтобы получить новый счёт.',
  },
  paymentRefunded: {
    en: () => 'This payment was refunded.',
    ru: () => 'Этот платёж был возвращён.',
  },
  openPrivately: {
    en: () => 'Please continue in a private chat with me.',
    ru: () => 'Пожалуйста, продолжите в личном чате со мной.',
  },
  openPrivatelyButton: {
    en: () => 'Open the bot',
    ru: () => 'Открыть бота',
  },
  subscriptionsNone: {
    en: () => "You don't have any subscriptions yet. Open a channel's link to subscribe.",
    ru: () => 'У вас пока нет подписок. Откройте ссылку канала, чтобы подписаться.',
  },
  subscriptionsHeader: {
    en: () => '<b>Your subscriptions</b>',
    ru: () => '<b>Ваши подписки</b>',
  },
  subscriptionActiveLine: {
    en: (title: string, expiresAt: Date) => `• <b>${esc(title)}</b>: active until ${formatDate(expiresAt)}`,
    ru: (title: string, expiresAt: Date) => `• <b>${esc(title)}</b>: активна до ${formatDate(expiresAt)}`,
  },
  subscriptionEndedLine: {
    en: (title: string, endedAt: Date) => `• <b>${esc(title)}</b>: ended on ${formatDate(endedAt)}`,
    ru: (title: string, endedAt: Date) => `• <b>${esc(title)}</b>: закончилась ${formatDate(endedAt)}`,
  },
  renewButton: {
    en: (title: string) => `🔁 Renew · ${short(title)}`,
    ru: (title: string) => `🔁 Продлить · ${short(title)}`,
  },
  resendInviteButton: {
    en: (title: string) => `🔗 Send my link again · ${short(title)}`,
    ru: (title: string) => `🔗 Прислать ссылку ещё раз · ${short(title)}`,
  },
  inviteResent: {
    en: () => 'Your invite link is in a new message below.',
    ru: () => 'Ссылка-приглашение — в новом сообщении ниже.',
  },
  inviteAlreadyJoined: {
    en: () => 'You have already joined with your link.',
    ru: () => 'Вы уже вступили по своей ссылке.',
  },
  inviteUnavailable: {
    en: () => "I can't send a new link for this subscription. Please contact the channel owner.",
    ru: () => 'Не получается выслать новую ссылку для этой подписки. Свяжитесь с владельцем канала.',
  },
  subscriptionNotActive: {
    en: () => 'This subscription is no longer active. Tap Renew to subscribe again.',
    ru: () => 'Эта подписка больше не активна. Нажмите «Продлить», чтобы подписаться снова.',
  },
  donationsUnavailable: {
    en: () => "This channel doesn't accept donations right now.",
    ru: () => 'Этот канал сейчас не принимает пожертвования.',
  },
  donationKeypad: {
    en: (title: string, appeal: string | null, typed: string, minCents: bigint, maxCents: bigint) =>
      block(
        `💝 Support <b>${esc(title)}</b>`,
        appeal !== null && `<i>${esc(appeal)}</i>`,
        '',
        `Amount (USD): <b>$${esc(typed === '' ? '0' : typed)}</b>`,
        `From ${formatPrice(minCents)} to ${formatPrice(maxCents)}. Type it with the keys below, then Confirm.`,
      ),
    ru: (title: string, appeal: string | null, typed: string, minCents: bigint, maxCents: bigint) =>
      block(
        `💝 Поддержать <b>${esc(title)}</b>`,
        appeal !== null && `<i>${esc(appeal)}</i>`,
        '',
        `Сумма (USD): <b>$${esc(typed === '' ? '0' : typed)}</b>`,
        `От ${formatPrice(minCents)} до ${formatPrice(maxCents)}. Наберите её кнопками ниже и нажмите «Подтвердить».`,
      ),
  },
  donationClearButton: {
    en: () => 'Clear',
    ru: () => 'Сброс',
  },
  donationCancelButton: {
    en: () => '✖ Cancel',
    ru: () => '✖ Отмена',
  },
  donationConfirmButton: {
    en: () => '✅ Confirm',
    ru: () => '✅ Подтвердить',
  },
  donationOutOfBounds: {
    en: (minCents: bigint, maxCents: bigint) => `Please enter an amount from ${formatPrice(minCents)} to ${formatPrice(maxCents)}.`,
    ru: (minCents: bigint, maxCents: bigint) => `Введите сумму от ${formatPrice(minCents)} до ${formatPrice(maxCents)}.`,
  },
  donationCheckout: {
    en: (title: string, priceCents: bigint, offerEndsAt: Date) =>
      block(
        `💝 Donation to <b>${esc(title)}</b>: <b>${formatPrice(priceCents)}</b>`,
        '',
        `Tap Pay to pay in crypto (this invoice is offered until ${formatDate(offerEndsAt)}). Thank you!`,
      ),
    ru: (title: string, priceCents: bigint, offerEndsAt: Date) =>
      block(
        `💝 Пожертвование каналу <b>${esc(title)}</b>: <b>${formatPrice(priceCents)}</b>`,
        '',
        `Нажмите «Оплатить», чтобы оплатить криптовалютой (счёт действует до ${formatDate(offerEndsAt)}). Спасибо!`,
      ),
  },
  donationCancelled: {
    en: () => 'Donation cancelled.',
    ru: () => 'Пожертвование отменено.',
  },
  renewalReminder: {
    en: (title: string, offset: ReminderOffset, expiresAt: Date) =>
      block(
        `⏰ Your subscription to <b>${esc(title)}</b> ends ${REMINDER_WHEN_EN[offset]}, on ${formatDate(expiresAt)}.`,
        'Renew now: the new period starts when this one ends, so you lose nothing.',
      ),
    ru: (title: string, offset: ReminderOffset, expiresAt: Date) =>
      block(
        `⏰ Ваша подписка на <b>${esc(title)}</b> заканчивается ${REMINDER_WHEN_RU[offset]}, ${formatDate(expiresAt)}.`,
        'Продлите сейчас: новый период начнётся, когда закончится текущий, — вы ничего не потеряете.',
      ),
  },
  graceStarted: {
    en: (title: string, endedAt: Date, staysUntil: Date) =>
      block(
        `⌛ Your subscription to <b>${esc(title)}</b> ended on ${formatDate(endedAt)}.`,
        `You stay in the channel until ${formatDate(staysUntil)}. Renew before then to keep your place: the new period continues from ${formatDate(endedAt)}.`,
      ),
    ru: (title: string, endedAt: Date, staysUntil: Date) =>
      block(
        `⌛ Ваша подписка на <b>${esc(title)}</b> закончилась ${formatDate(endedAt)}.`,
        `Вы остаётесь в канале до ${formatDate(staysUntil)}. Продлите до этого времени, чтобы сохранить место: новый период продолжит прежний с ${formatDate(endedAt)}.`,
      ),
  },
  reminderRenewButton: {
    en: () => '🔁 Renew',
    ru: () => '🔁 Продлить',
  },
  remindersOffButton: {
    en: () => '🔕 Turn off reminders',
    ru: () => '🔕 Отключить напоминания',
  },
  // A callback answer: plain text, no HTML.
  remindersTurnedOff: {
    en: (title: string) => `Reminders for ${short(title, 40)} are off. Your subscription itself is unchanged.`,
    ru: (title: string) => `Напоминания для ${short(title, 40)} отключены. Сама подписка не изменилась.`,
  },
} as const;
