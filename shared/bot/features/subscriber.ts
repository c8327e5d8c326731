import { type BotError, Composer, InlineKeyboard } from 'grammy';
import type { User } from 'grammy/types';
import * as z from 'zod';
import { channelTitle, loadSubscribeOffer } from '../../channels/index.js';
import { type Checkout, type CheckoutDeps, type CheckoutPaymentStatus, loadCheckoutPaymentStatus, openCheckout } from '../../checkout/index.js';
import { AppError } from '../../errors/index.js';
import { profileOf } from './telegram-user.js';
import { startTierPurchase } from './promo-codes.js';
import { type PublicIdKind, formatPublicId, parsePublicId } from '../../ids/index.js';
import { remindersOffData, renewData, renewTierData } from '../../notifications/renewal-buttons.js';
import { type ResendInviteOutcome, listSubscriberSubscriptions, resendInvite, turnOffRenewalReminders } from '../../subscriptions/index.js';
import { isSubscribeStartPayload, parseSubscribeStartPayload } from '../../telegram/deep-links.js';
import { defineCallbackData } from '../../telegram/callback-data.js';
import { giftTierData, tryTrialData } from './gift-trial-buttons.js';
import type { BotContext, BotDeps } from '../context.js';
import type { MessageKey } from '../../texts/index.js';

/** What Telegram allows in a `/start` payload. */
export const START_PAYLOAD_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const publicIdField = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{22}$`));

/** A tier button: the channel and the tier number. The price is looked up when it is pressed. */
export const chooseTierData = defineCallbackData(
  't1',
  ['channel', 'tier'],
  z.object({ channel: publicIdField('ch'), tier: z.coerce.number().int().min(1).max(3) }),
);
/** "Check payment" under a checkout. */
export const checkPaymentData = defineCallbackData('k1', ['checkout'], z.object({ checkout: publicIdField('chk') }));
// The Renew and "Turn off reminders" buttons (renewData, renewTierData, remindersOffData) are defined
// in shared/subscriptions, whose DMs carry them too.
export { remindersOffData, renewData, renewTierData };
/** "Send my link again" in /subscriptions. */
export const resendInviteData = defineCallbackData('l1', ['subscription'], z.object({ subscription: publicIdField('sub') }));

/** The uuid a public id names, or `undefined` for anything malformed or of another kind. */
export function parseRef(kind: PublicIdKind, text: string): string | undefined {
  try {
    return parsePublicId(kind, text);
  } catch {
    return undefined;
  }
}


export function checkoutDeps(deps: BotDeps): CheckoutDeps {
  return { db: deps.db, clock: deps.clock, nowpayments: deps.nowpayments, publicBaseUrl: deps.publicBaseUrl, returnUrl: deps.returnUrl };
}

/** The Pay (invoice URL) and "Check payment" buttons of a checkout message. */
export function paymentKeyboard(ctx: BotContext, checkout: Checkout): InlineKeyboard {
  return new InlineKeyboard()
    .url(ctx.t('payButton', checkout.priceCents), checkout.invoiceUrl)
    .row()
    .text(ctx.t('checkPaymentButton'), checkPaymentData.encode({ checkout: checkout.publicId }));
}

/** True for the checkout refusals that mean "this button's offer is gone", answered as a stale button. */
export function isOfferGone(error: unknown): boolean {
  return error instanceof AppError && !error.isRetryable && ['channel_unavailable', 'tier_unavailable'].includes(error.code);
}

export async function answerStale(ctx: BotContext): Promise<void> {
  await ctx.answerCallbackQuery({ text: ctx.t('staleButton'), show_alert: true });
}

/**
 * A feature's error boundary: logs the failure; database or provider trouble (a retryable
 * `AppError`) goes on to the bot's handler so the webhook answers 5xx and Telegram redelivers the
 * update (checkouts are reused, so a redelivery cannot charge twice); anything else gets a polite
 * answer and is not redelivered.
 */
export function featureErrorHandler(feature: string) {
  return async (error: BotError<BotContext>): Promise<void> => {
    const { ctx } = error;
    const cause = error.error;
    ctx.deps.logger.error('bot.feature_failed', { feature, updateId: ctx.update.update_id, error: cause });
    if (cause instanceof AppError && cause.isRetryable) throw cause;
    try {
      if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t('somethingWentWrong') });
      else if (ctx.chat?.type === 'private') await ctx.reply(ctx.t('somethingWentWrong'));
    } catch {
      // The polite answer itself failed (callback already answered, chat gone): nothing more to do.
    }
  };
}

/**
 * The answer to a command in a group: never a keypad or a price there, only a way into the
 * private chat. Nothing at all is posted into a channel.
 */
export async function replyOpenPrivately(ctx: BotContext, payload: string): Promise<void> {
  if (ctx.chat?.type !== 'group' && ctx.chat?.type !== 'supergroup') return;
  const link = `https://t.me/${ctx.me.username}${payload === '' ? '' : `?start=${payload}`}`;
  await ctx.reply(ctx.t('openPrivately'), { reply_markup: new InlineKeyboard().url(ctx.t('openPrivatelyButton'), link) });
}

/** Sends the channel's title, description and one button per active tier; 'unavailable' when the channel takes no subscribers. */
async function showOffer(ctx: BotContext, channelId: string): Promise<'shown' | 'unavailable'> {
  const offer = await loadSubscribeOffer(ctx.deps.db, channelId);
  if (!offer) return 'unavailable';
  if (offer.tiers.length === 0) {
    await ctx.reply(ctx.t('channelNoTiers', offer.title), { parse_mode: 'HTML' });
    return 'shown';
  }
  const channel = formatPublicId('channel', channelId);
  const keyboard = new InlineKeyboard();
  for (const tier of offer.tiers) {
    const tierNumber = Number(tier.tier_number);
    keyboard.text(ctx.t('tierButton', tierNumber, tier.duration_days, BigInt(tier.price_cents)), chooseTierData.encode({ channel, tier: tierNumber })).row();
    // Under each tier: its free trial (when it has one) and giving it as a gift.
    if (Number(tier.trial_days) > 0) keyboard.text(ctx.t('trialButton', Number(tier.trial_days)), tryTrialData.encode({ channel, tier: tierNumber }));
    keyboard.text(ctx.t('giftButton', tierNumber), giftTierData.encode({ channel, tier: tierNumber })).row();
  }
  await ctx.reply(ctx.t('channelOffer', offer.title, offer.description), { parse_mode: 'HTML', reply_markup: keyboard });
  return 'shown';
}

/**
 * Opens (or reuses) the checkout for one tier, price and duration from the database, and replies
 * with it and its Pay button: what a tier button, a tier's subscribe link and a reminder's Renew do.
 * 'gone' when the channel or the tier no longer sells.
 */
export async function replyWithTierCheckout(ctx: BotContext & { from: User }, channelId: string, tierNumber: number): Promise<'shown' | 'gone'> {
  let checkout: Checkout;
  try {
    checkout = await openCheckout(checkoutDeps(ctx.deps), { kind: 'subscription', user: profileOf(ctx.from), channelId, tierNumber });
  } catch (error) {
    if (isOfferGone(error)) return 'gone';
    throw error;
  }
  const title = (await channelTitle(ctx.deps.db, channelId)) ?? '';
  await ctx.reply(ctx.t('subscriptionCheckout', title, tierNumber, checkout.durationDays ?? 0, checkout.priceCents, checkout.expiresAt), {
    parse_mode: 'HTML',
    reply_markup: paymentKeyboard(ctx, checkout),
  });
  return 'shown';
}

/** A checkout's state and its most advanced payment (`loadCheckoutPaymentStatus`). */
export type PaymentStatusRow = CheckoutPaymentStatus;

/** What "Check payment" says: the checkout's most advanced payment as recorded from NowPayments. */
export function paymentStatusMessage(row: PaymentStatusRow, now: Date): MessageKey {
  if (row.payment_status === 'refunded') return 'paymentRefunded';
  if (row.settled_at !== null || row.checkout_status === 'paid') {
    if (row.is_gift === true) return 'paymentPaidGift';
    return row.kind === 'donation' ? 'paymentPaidDonation' : 'paymentPaidSubscription';
  }
  switch (row.payment_status) {
    case 'waiting':
      return 'paymentWaiting';
    case 'confirming':
    case 'confirmed':
    case 'sending':
    case 'finished': // recorded, settlement on its way
      return 'paymentConfirming';
    case 'partially_paid':
      return 'paymentUnderpaid';
    case 'failed':
    case 'expired':
      return 'paymentExpired';
    case null:
      return row.checkout_status !== 'open' || row.checkout_expires_at <= now ? 'paymentExpired' : 'paymentNone';
    default:
      return 'paymentConfirming';
  }
}

async function showSubscriptions(ctx: BotContext & { from: User }): Promise<void> {
  const now = ctx.deps.clock.now();
  const rows = await listSubscriberSubscriptions(ctx.deps.db, BigInt(ctx.from.id));
  if (rows.length === 0) {
    await ctx.reply(ctx.t('subscriptionsNone'));
    return;
  }
  const lines = [ctx.t('subscriptionsHeader'), ''];
  const keyboard = new InlineKeyboard();
  for (const row of rows) {
    const isActive = row.status === 'active' && row.expires_at > now;
    lines.push(isActive ? ctx.t('subscriptionActiveLine', row.closed_title, row.expires_at) : ctx.t('subscriptionEndedLine', row.closed_title, row.expires_at));
    if (isActive && row.grant_id !== null && row.joined_at === null) {
      keyboard.text(ctx.t('resendInviteButton', row.closed_title), resendInviteData.encode({ subscription: formatPublicId('subscription', row.id) })).row();
    }
    if (row.is_channel_live) {
      keyboard.text(ctx.t('renewButton', row.closed_title), renewData.encode({ channel: formatPublicId('channel', row.channel_id) })).row();
    }
  }
  await ctx.reply(lines.join('\n'), { parse_mode: 'HTML', reply_markup: keyboard });
}

const RESEND_ANSWERS: Record<Exclude<ResendInviteOutcome, 'not_found'>, MessageKey> = {
  sent: 'inviteResent',
  inactive: 'subscriptionNotActive',
  already_joined: 'inviteAlreadyJoined',
  unavailable: 'inviteUnavailable',
};

/**
 * The subscriber journey: `/start c_<channel>` shows the channel's tiers (from the database) and
 * `/start c_<channel>_<tier>` opens that tier's checkout directly; a tier button opens (or reuses) a
 * checkout with a Pay button and a "Check payment" button; `/subscriptions` lists the user's
 * subscriptions with Renew and "Send my link again". Under renewal reminders, Renew opens the
 * checkout of the tier last paid for (its tiers when that one is gone) and "Turn off reminders"
 * stops them for that subscription. Everything happens in the private chat; a button that names
 * something gone or someone else's gets a polite answer.
 */
export function subscriberFeature(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const feature = composer.errorBoundary(featureErrorHandler('subscriber'));

  feature.command('start', async (ctx, next) => {
    const payload = ctx.match.trim();
    if (payload === '') {
      if (ctx.chat.type === 'private') await ctx.reply(ctx.t('welcome'));
      return;
    }
    if (!isSubscribeStartPayload(payload)) return next();
    if (ctx.chat.type !== 'private') {
      if (START_PAYLOAD_PATTERN.test(payload)) await replyOpenPrivately(ctx, payload);
      return;
    }
    const target = START_PAYLOAD_PATTERN.test(payload) ? parseSubscribeStartPayload(payload) : undefined;
    if (!target || !ctx.from) {
      await ctx.reply(ctx.t('startInvalidLink'));
      return;
    }
    // A tier's link opens its checkout (at a code's price when it carries one); a tier switched off
    // since falls back to the channel's tiers. A channel's link with a code keeps it for the tier chosen next.
    if (target.tierNumber !== undefined && (await startTierPurchase(ctx as BotContext & { from: User }, target.channelId, target.tierNumber, target.promoCode)) === 'shown') return;
    if (target.promoCode !== undefined) ctx.session.promoCode = { channelId: target.channelId, code: target.promoCode };
    if ((await showOffer(ctx, target.channelId)) === 'unavailable') await ctx.reply(ctx.t('channelUnavailable'));
  });

  feature.command('subscriptions', async (ctx) => {
    if (ctx.chat.type !== 'private') return replyOpenPrivately(ctx, '');
    if (!ctx.from) return;
    await showSubscriptions(ctx as BotContext & { from: User });
  });

  feature.callbackQuery(chooseTierData.trigger, async (ctx) => {
    const choice = chooseTierData.decode(ctx.callbackQuery.data);
    const channelId = choice && parseRef('channel', choice.channel);
    if (!choice || !channelId || ctx.chat?.type !== 'private') return answerStale(ctx);
    if ((await startTierPurchase(ctx, channelId, choice.tier)) === 'gone') return answerStale(ctx);
    await ctx.answerCallbackQuery();
  });

  feature.callbackQuery(checkPaymentData.trigger, async (ctx) => {
    const ref = checkPaymentData.decode(ctx.callbackQuery.data);
    const checkoutId = ref && parseRef('checkout', ref.checkout);
    const row = checkoutId ? await loadCheckoutPaymentStatus(ctx.deps.db, checkoutId, BigInt(ctx.from.id)) : undefined;
    if (!row) return answerStale(ctx);
    await ctx.answerCallbackQuery({ text: ctx.t(paymentStatusMessage(row, ctx.deps.clock.now())), show_alert: true });
  });

  feature.callbackQuery(renewData.trigger, async (ctx) => {
    const ref = renewData.decode(ctx.callbackQuery.data);
    const channelId = ref && parseRef('channel', ref.channel);
    if (!channelId || ctx.chat?.type !== 'private') return answerStale(ctx);
    if ((await showOffer(ctx, channelId)) === 'unavailable') {
      await ctx.answerCallbackQuery({ text: ctx.t('channelUnavailable'), show_alert: true });
      return;
    }
    await ctx.answerCallbackQuery();
  });

  feature.callbackQuery(renewTierData.trigger, async (ctx) => {
    const ref = renewTierData.decode(ctx.callbackQuery.data);
    const channelId = ref && parseRef('channel', ref.channel);
    if (!ref || !channelId || ctx.chat?.type !== 'private') return answerStale(ctx);
    // Same tier at today's price; if the owner switched it off, the channel's tiers instead.
    if ((await replyWithTierCheckout(ctx, channelId, ref.tier)) === 'gone' && (await showOffer(ctx, channelId)) === 'unavailable') {
      await ctx.answerCallbackQuery({ text: ctx.t('channelUnavailable'), show_alert: true });
      return;
    }
    await ctx.answerCallbackQuery();
  });

  feature.callbackQuery(remindersOffData.trigger, async (ctx) => {
    const ref = remindersOffData.decode(ctx.callbackQuery.data);
    const subscriptionId = ref && parseRef('subscription', ref.subscription);
    if (!subscriptionId || ctx.chat?.type !== 'private') return answerStale(ctx);
    const { db, clock, logger } = ctx.deps;
    const turnedOff = await turnOffRenewalReminders({ db, clock, logger }, subscriptionId, BigInt(ctx.from.id));
    if (!turnedOff) return answerStale(ctx);
    await ctx.answerCallbackQuery({ text: ctx.t('remindersTurnedOff', turnedOff.title), show_alert: true });
  });

  feature.callbackQuery(resendInviteData.trigger, async (ctx) => {
    const ref = resendInviteData.decode(ctx.callbackQuery.data);
    const subscriptionId = ref && parseRef('subscription', ref.subscription);
    if (!subscriptionId || ctx.chat?.type !== 'private') return answerStale(ctx);
    const { db, clock, logger } = ctx.deps;
    const outcome = await resendInvite({ db, clock, logger, telegram: ctx.api }, subscriptionId, BigInt(ctx.from.id));
    if (outcome === 'not_found') return answerStale(ctx);
    await ctx.answerCallbackQuery({ text: ctx.t(RESEND_ANSWERS[outcome]), show_alert: outcome !== 'sent' });
  });

  return composer;
}

/**
 * What no feature handled, installed last: a `/start` payload nobody recognised gets a friendly
 * "this link doesn't look right" (in the private chat only) and a button nobody recognised (old,
 * tampered) gets a polite answer instead of a spinning button.
 */
export function fallbackFeature(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const feature = composer.errorBoundary(featureErrorHandler('fallback'));
  feature.command('start', async (ctx) => {
    if (ctx.chat.type === 'private') await ctx.reply(ctx.t(ctx.match.trim() === '' ? 'welcome' : 'startInvalidLink'));
  });
  feature.on('callback_query', (ctx) => answerStale(ctx));
  return composer;
}
