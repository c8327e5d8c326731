import type { InlineKeyboardMarkup } from 'grammy/types';
import type { SubscriberNotificationRequested } from '../messages/index.js';
import { formatUnits, parseUnits } from '../money/index.js';
import { type Language, languageOf, translate } from '../texts/index.js';
import { giftClaimLink, subscribeLink } from '../telegram/deep-links.js';
import { issueGiftClaimCode } from '../gifts/index.js';
import { isTelegramUserUnreachable, toTelegramError } from '../telegram/index.js';
import { recordDirectMessageReach } from '../telegram-users/index.js';
import type { NotificationDeps } from './owner-notifications.js';
import { notificationError } from './errors.js';

export interface SubscriberNotificationDeps extends NotificationDeps {
  /** The bot's username, for the renew deep link (`https://t.me/<bot>?start=c_<channel>`). */
  botUsername?: string;
}

/** A DM to a subscriber: HTML text and its buttons. */
export interface SubscriberMessage {
  text: string;
  replyMarkup?: InlineKeyboardMarkup;
}

/** A subscriber_notifications row in 'pending' that the caller claimed and is about to send. */
export interface ClaimedNotification {
  id: string;
  kind: string;
  telegramUserId: bigint;
  /** The payment or subscription it is about (logs). */
  subjectId: string;
}

interface Composed extends SubscriberMessage {
  telegramUserId: bigint;
  paymentId: string | null;
  subscriptionId: string | null;
}

const SHORTFALL_DECIMALS = 18;

function renewButton(deps: SubscriberNotificationDeps, channelId: string, language: Language): InlineKeyboardMarkup | undefined {
  if (!deps.botUsername) return undefined;
  return { inline_keyboard: [[{ text: translate(language, 'dmRenewButton'), url: subscribeLink(deps.botUsername, channelId) }]] };
}

type PaymentNoticeKind = Exclude<SubscriberNotificationRequested['kind'], 'gift_ready' | 'gift_expired'>;

/**
 * A gift's DMs to its buyer. `gift_ready` carries the claim link, whose code is made only when the
 * notice is known to be unsent (`message` runs after the claim of the row), so a duplicate delivery
 * never retires the link the buyer already has.
 */
async function composeGiftNotice(
  deps: SubscriberNotificationDeps,
  request: SubscriberNotificationRequested & { kind: 'gift_ready' | 'gift_expired' },
): Promise<Omit<Composed, 'text' | 'replyMarkup'> & { message: () => Promise<SubscriberMessage> }> {
  const { rows } = await deps.db.query<{ buyer_telegram_user_id: bigint; payment_id: string; closed_title: string; duration_days: number; expires_at: Date; language_code: string | null }>(
    `SELECT g.buyer_telegram_user_id, g.payment_id, c.closed_title, g.duration_days, g.expires_at, u.language_code
       FROM gifts g JOIN channels c ON c.id = g.channel_id JOIN telegram_users u ON u.id = g.buyer_telegram_user_id WHERE g.id = $1`,
    [request.subjectId],
  );
  const row = rows[0];
  if (!row) throw notificationError('unknown_gift', 'No gift has this id', { giftId: request.subjectId });
  const language = languageOf(row.language_code);
  const base = { telegramUserId: row.buyer_telegram_user_id, paymentId: row.payment_id, subscriptionId: null };
  if (request.kind === 'gift_expired') {
    return { ...base, message: async () => ({ text: translate(language, 'dmGiftExpired', row.closed_title, row.duration_days, row.expires_at) }) };
  }
  return {
    ...base,
    message: async () => {
      if (!deps.botUsername) throw notificationError('bot_username_missing', 'The gift link needs TELEGRAM_BOT_USERNAME', { giftId: request.subjectId });
      const code = await issueGiftClaimCode(deps.db, request.subjectId);
      // Claimed or expired before its link went out (only possible after a long outage): say what happened instead.
      if (!code) return { text: translate(language, 'dmGiftNoLongerPending', row.closed_title) };
      return { text: translate(language, 'dmGiftReady', row.closed_title, row.duration_days, giftClaimLink(deps.botUsername, code), row.expires_at) };
    },
  };
}

async function compose(deps: SubscriberNotificationDeps, request: SubscriberNotificationRequested & { kind: PaymentNoticeKind }): Promise<Composed> {
  if (request.kind === 'subscription_expired') {
    const { rows } = await deps.db.query<{ telegram_user_id: bigint; channel_id: string; closed_title: string; expires_at: Date; language_code: string | null }>(
      `SELECT s.telegram_user_id, s.channel_id, c.closed_title, s.expires_at, u.language_code
       FROM subscriptions s JOIN channels c ON c.id = s.channel_id JOIN telegram_users u ON u.id = s.telegram_user_id WHERE s.id = $1`,
      [request.subjectId],
    );
    const row = rows[0];
    if (!row) throw notificationError('unknown_subscription', 'No subscription has this id', { subscriptionId: request.subjectId });
    const language = languageOf(row.language_code);
    return {
      telegramUserId: row.telegram_user_id,
      paymentId: null,
      subscriptionId: request.subjectId,
      text: translate(language, 'dmSubscriptionEnded', row.closed_title, row.expires_at),
      replyMarkup: renewButton(deps, row.channel_id, language),
    };
  }
  const { rows } = await deps.db.query<{
    telegram_user_id: bigint;
    channel_id: string;
    closed_title: string;
    pay_amount: string | null;
    actually_paid: string | null;
    pay_currency: string | null;
    language_code: string | null;
  }>(
    `SELECT k.telegram_user_id, k.channel_id, c.closed_title, p.pay_amount::text, p.actually_paid::text, p.pay_currency, u.language_code
     FROM payments p JOIN checkouts k ON k.id = p.checkout_id JOIN channels c ON c.id = k.channel_id
     JOIN telegram_users u ON u.id = k.telegram_user_id WHERE p.id = $1`,
    [request.subjectId],
  );
  const row = rows[0];
  if (!row) throw notificationError('unknown_payment', 'No payment has this id', { paymentId: request.subjectId });
  const language = languageOf(row.language_code);
  const currency = (row.pay_currency ?? '').toUpperCase();
  let text: string;
  switch (request.kind) {
    case 'payment_underpaid': {
      const expected = parseUnits(row.pay_amount ?? '0', SHORTFALL_DECIMALS, 'ceil');
      const paid = parseUnits(row.actually_paid ?? '0', SHORTFALL_DECIMALS, 'floor');
      const shortfall = expected > paid ? formatUnits(expected - paid, SHORTFALL_DECIMALS) : '0';
      text = translate(language, 'dmPaymentUnderpaid', row.closed_title, row.actually_paid ?? '0', row.pay_amount ?? '?', shortfall, currency);
      break;
    }
    case 'payment_expired':
      text = translate(language, 'dmPaymentExpired', row.closed_title);
      break;
    case 'payment_failed':
      text = translate(language, 'dmPaymentFailed', row.closed_title);
      break;
    case 'payment_refunded':
      text = translate(language, 'dmPaymentRefunded', row.closed_title);
      break;
  }
  return { telegramUserId: row.telegram_user_id, paymentId: request.subjectId, subscriptionId: null, text, replyMarkup: renewButton(deps, row.channel_id, language) };
}

/**
 * Sends the DM of a notification row the caller holds in 'pending' and records what happened, once:
 * 'sent' (with Telegram's message id); 'unreachable' when the user blocked the bot (also noted on
 * telegram_users.dm_blocked_at, so later DMs are not attempted) or Telegram refuses the message for
 * good: the row is failed and never retried. A retryable failure is written to the row (last_error,
 * updated_at) and thrown; the row stays pending for the caller's retry.
 */
export async function deliverSubscriberNotification(
  deps: NotificationDeps,
  notification: ClaimedNotification,
  message: SubscriberMessage,
): Promise<'sent' | 'unreachable'> {
  const { kind, subjectId } = notification;
  try {
    const sent = await deps.telegram.sendMessage(Number(notification.telegramUserId), message.text, {
      parse_mode: 'HTML',
      ...(message.replyMarkup ? { reply_markup: message.replyMarkup } : {}),
    });
    await deps.db.query(
      `UPDATE subscriber_notifications SET status = 'sent', sent_at = $2, telegram_message_id = $3, last_error = NULL, updated_at = $2 WHERE id = $1 AND status = 'pending'`,
      [notification.id, deps.clock.now(), sent.message_id],
    );
    deps.logger.info('subscriber_notification.sent', { kind, subjectId });
    return 'sent';
  } catch (error) {
    const failure = toTelegramError(error, { kind });
    const isUnreachable = isTelegramUserUnreachable(error);
    const now = deps.clock.now();
    if (isUnreachable || !failure.isRetryable) {
      await deps.db.query(`UPDATE subscriber_notifications SET status = 'failed', last_error = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'`, [
        notification.id,
        failure.code,
        now,
      ]);
      if (isUnreachable) {
        await recordDirectMessageReach(deps.db, notification.telegramUserId, true, now);
      }
      deps.logger.warn('subscriber_notification.undeliverable', { kind, subjectId, code: failure.code });
      return 'unreachable';
    }
    await deps.db.query(`UPDATE subscriber_notifications SET last_error = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'`, [
      notification.id,
      failure.code,
      now,
    ]);
    throw failure;
  }
}

/**
 * The notify-subscriber stage: tells the subscriber about a payment problem or the end of their
 * subscription, and a gift's buyer its claim link or that it expired unclaimed, once per event. `dedupeKey` is the message's de-duplication id (one outbox message
 * per logical event), stored unique in subscriber_notifications. A user who blocked the bot is
 * recorded as failed and not retried.
 */
export async function notifySubscriber(deps: SubscriberNotificationDeps, request: SubscriberNotificationRequested, dedupeKey: string): Promise<'sent' | 'already_done' | 'unreachable'> {
  const composed =
    request.kind === 'gift_ready' || request.kind === 'gift_expired'
      ? await composeGiftNotice(deps, { ...request, kind: request.kind })
      : await compose(deps, { ...request, kind: request.kind });
  const now = deps.clock.now();
  await deps.db.query(
    `INSERT INTO subscriber_notifications (telegram_user_id, kind, dedupe_key, payment_id, subscription_id, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (dedupe_key) DO NOTHING`,
    [composed.telegramUserId, request.kind, dedupeKey, composed.paymentId, composed.subscriptionId, now],
  );
  const { rows } = await deps.db.query<{ id: string; status: string }>('SELECT id, status FROM subscriber_notifications WHERE dedupe_key = $1', [dedupeKey]);
  const notification = rows[0] as { id: string; status: string };
  if (notification.status !== 'pending') return 'already_done';
  return deliverSubscriberNotification(
    deps,
    { id: notification.id, kind: request.kind, telegramUserId: composed.telegramUserId, subjectId: request.subjectId },
    'message' in composed ? await composed.message() : composed,
  );
}
