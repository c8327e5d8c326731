import { Composer, InlineKeyboard } from 'grammy';
import type { User } from 'grammy/types';
import { channelTitle } from '../../channels/index.js';
import { type Checkout, openCheckout } from '../../checkout/index.js';
import { type GiftClaimOutcome, type GiftView, claimGift, findGiftByCode, listBuyerGifts } from '../../gifts/index.js';
import { isGiftStartPayload, parseGiftStartPayload } from '../../telegram/deep-links.js';
import type { MessageKey } from '../../texts/index.js';
import { type TrialOutcome, grantTrial } from '../../trials/index.js';
import type { BotContext } from '../context.js';
import { claimGiftData, giftTierData, tryTrialData } from './gift-trial-buttons.js';
import { START_PAYLOAD_PATTERN, answerStale, checkoutDeps, featureErrorHandler, isOfferGone, parseRef, paymentKeyboard, replyOpenPrivately } from './subscriber.js';
import { profileOf } from './telegram-user.js';

const TRIAL_REFUSALS: Record<Exclude<TrialOutcome['outcome'], 'granted' | 'account_too_new'>, MessageKey> = {
  already_used: 'trialAlreadyUsed',
  has_subscribed: 'trialHasSubscribed',
  unavailable: 'trialUnavailable',
};

const CLAIM_REFUSALS: Record<Exclude<GiftClaimOutcome['outcome'], 'claimed'>, MessageKey> = {
  own_gift: 'giftOwn',
  already_claimed: 'giftAlreadyClaimed',
  expired: 'giftExpired',
  channel_unavailable: 'giftChannelUnavailable',
  not_found: 'giftNotFound',
};

function giftLine(ctx: BotContext, gift: GiftView): string {
  if (gift.status === 'claimed') return ctx.t('giftLineClaimed', gift.title, gift.durationDays, gift.claimedByFirstName);
  if (gift.status === 'expired') return ctx.t('giftLineExpired', gift.title, gift.durationDays);
  return ctx.t('giftLinePending', gift.title, gift.durationDays, gift.expiresAt);
}

/** What a gift link shows before anything is claimed: the recipient decides with the Claim button. */
async function showGift(ctx: BotContext & { from: User }, code: string): Promise<void> {
  const gift = await findGiftByCode(ctx.deps.db, code);
  const now = ctx.deps.clock.now();
  if (!gift) return void (await ctx.reply(ctx.t('giftNotFound')));
  if (gift.buyerTelegramUserId === BigInt(ctx.from.id)) return void (await ctx.reply(ctx.t('giftOwn')));
  if (gift.status === 'claimed') return void (await ctx.reply(ctx.t('giftAlreadyClaimed')));
  if (gift.status === 'expired' || gift.expiresAt <= now) return void (await ctx.reply(ctx.t('giftExpired')));
  await ctx.reply(ctx.t('giftOffer', gift.title, gift.durationDays, gift.buyerFirstName, gift.expiresAt), {
    parse_mode: 'HTML',
    reply_markup: new InlineKeyboard().text(ctx.t('giftClaimButton'), claimGiftData.encode({ code })),
  });
}

/**
 * Free trials and gifts in the bot: "Try N days free" and "Gift tier N" under a channel's tiers,
 * `/start g_<code>` (a gift's claim link) with its Claim button, and `/gifts` (the buyer's gifts:
 * pending, claimed by whom, expired). Everything in the private chat; the database decides every
 * "once" (one trial per user × channel, one claim per gift), so repeated taps and redelivered
 * updates answer the same and grant nothing more.
 */
export function giftsTrialsFeature(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const feature = composer.errorBoundary(featureErrorHandler('gifts-trials'));

  feature.command('start', async (ctx, next) => {
    const payload = ctx.match.trim();
    if (!isGiftStartPayload(payload)) return next();
    if (ctx.chat.type !== 'private') {
      if (START_PAYLOAD_PATTERN.test(payload)) await replyOpenPrivately(ctx, payload);
      return;
    }
    const code = parseGiftStartPayload(payload);
    if (!code || !ctx.from) return void (await ctx.reply(ctx.t('giftNotFound')));
    await showGift(ctx as BotContext & { from: User }, code);
  });

  feature.command('gifts', async (ctx) => {
    if (ctx.chat.type !== 'private') return replyOpenPrivately(ctx, '');
    if (!ctx.from) return;
    const gifts = await listBuyerGifts(ctx.deps.db, BigInt(ctx.from.id));
    if (gifts.length === 0) return void (await ctx.reply(ctx.t('giftsNone')));
    await ctx.reply([ctx.t('giftsHeader'), '', ...gifts.map((gift) => giftLine(ctx, gift))].join('\n'), { parse_mode: 'HTML' });
  });

  feature.callbackQuery(tryTrialData.trigger, async (ctx) => {
    const choice = tryTrialData.decode(ctx.callbackQuery.data);
    const channelId = choice && parseRef('channel', choice.channel);
    if (!choice || !channelId || ctx.chat?.type !== 'private') return answerStale(ctx);
    const { db, clock, logger } = ctx.deps;
    const result = await grantTrial({ db, clock, logger }, { user: profileOf(ctx.from), channelId, tierNumber: choice.tier });
    if (result.outcome === 'granted') {
      await ctx.reply(ctx.t('trialGranted', result.title, result.durationDays, result.expiresAt), { parse_mode: 'HTML' });
      return void (await ctx.answerCallbackQuery());
    }
    const text = result.outcome === 'account_too_new' ? ctx.t('trialAccountTooNew', result.minAccountAgeDays) : ctx.t(TRIAL_REFUSALS[result.outcome]);
    await ctx.answerCallbackQuery({ text, show_alert: true });
  });

  feature.callbackQuery(giftTierData.trigger, async (ctx) => {
    const choice = giftTierData.decode(ctx.callbackQuery.data);
    const channelId = choice && parseRef('channel', choice.channel);
    if (!choice || !channelId || ctx.chat?.type !== 'private') return answerStale(ctx);
    let checkout: Checkout;
    try {
      checkout = await openCheckout(checkoutDeps(ctx.deps), { kind: 'subscription', user: profileOf(ctx.from), channelId, tierNumber: choice.tier, isGift: true });
    } catch (error) {
      if (isOfferGone(error)) return answerStale(ctx);
      throw error;
    }
    const title = (await channelTitle(ctx.deps.db, channelId)) ?? '';
    await ctx.reply(ctx.t('giftCheckout', title, choice.tier, checkout.durationDays ?? 0, checkout.priceCents, checkout.expiresAt), {
      parse_mode: 'HTML',
      reply_markup: paymentKeyboard(ctx, checkout),
    });
    await ctx.answerCallbackQuery();
  });

  feature.callbackQuery(claimGiftData.trigger, async (ctx) => {
    const ref = claimGiftData.decode(ctx.callbackQuery.data);
    if (!ref || ctx.chat?.type !== 'private') return answerStale(ctx);
    const { db, clock, logger } = ctx.deps;
    const result = await claimGift({ db, clock, logger }, { user: profileOf(ctx.from), code: ref.code });
    if (result.outcome !== 'claimed') return void (await ctx.answerCallbackQuery({ text: ctx.t(CLAIM_REFUSALS[result.outcome]), show_alert: true }));
    // A repeated press (or a redelivered update) grants nothing more and says so.
    if (result.isRepeat) return void (await ctx.answerCallbackQuery({ text: ctx.t('giftAlreadyYours'), show_alert: true }));
    await ctx.reply(ctx.t('giftClaimed', result.title, result.expiresAt), { parse_mode: 'HTML' });
    await ctx.answerCallbackQuery();
  });

  return composer;
}
