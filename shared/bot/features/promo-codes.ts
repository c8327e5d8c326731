import { Composer, InlineKeyboard } from 'grammy';
import type { User } from 'grammy/types';
import * as z from 'zod';
import { channelTitle } from '../../channels/index.js';
import { type Checkout, openCheckout } from '../../checkout/index.js';
import { AppError } from '../../errors/index.js';
import { formatPublicId } from '../../ids/index.js';
import { hasPromoCodesFor, normalizePromoCode } from '../../promo-codes/index.js';
import { defineCallbackData } from '../../telegram/callback-data.js';
import type { PromoRefusalReason } from '../../texts/index.js';
import type { BotContext } from '../context.js';
import { answerStale, checkoutDeps, featureErrorHandler, isOfferGone, parseRef, paymentKeyboard, replyWithTierCheckout } from './subscriber.js';
import { profileOf } from './telegram-user.js';

const tierRef = z.object({ channel: z.string().regex(/^ch_[A-Za-z0-9_-]{22}$/), tier: z.coerce.number().int().min(1).max(3) });
/** "Enter a promo code" for a tier. */
export const enterPromoData = defineCallbackData('pe1', ['channel', 'tier'], tierRef);
/** "Pay full price" for a tier: its checkout without a code. */
export const fullPriceData = defineCallbackData('pf1', ['channel', 'tier'], tierRef);

type PrivateContext = BotContext & { from: User };

const REFUSALS: Record<string, PromoRefusalReason> = {
  promo_code_unknown: 'unknown',
  promo_code_not_started: 'not_started',
  promo_code_expired: 'expired',
  promo_code_used_up: 'used_up',
  promo_code_user_limit_reached: 'user_limit_reached',
  promo_code_not_for_tier: 'not_for_tier',
  promo_code_below_minimum_price: 'below_minimum_price',
};

function tierKeyboard(ctx: BotContext, channelId: string, tierNumber: number, priceCents: bigint): InlineKeyboard {
  const ref = { channel: formatPublicId('channel', channelId), tier: tierNumber };
  return new InlineKeyboard()
    .text(ctx.t('promoEnterButton'), enterPromoData.encode(ref))
    .row()
    .text(ctx.t('promoFullPriceButton', priceCents), fullPriceData.encode(ref));
}

async function tierPrice(ctx: BotContext, channelId: string, tierNumber: number): Promise<{ priceCents: bigint; days: number } | undefined> {
  const { rows } = await ctx.deps.db.query<{ price_cents: bigint; duration_days: number }>(
    `SELECT t.price_cents, t.duration_days FROM channel_tiers t JOIN channels c ON c.id = t.channel_id
     WHERE t.channel_id = $1 AND t.tier_number = $2 AND t.is_active AND c.status = 'active' AND c.deleted_at IS NULL`,
    [channelId, tierNumber],
  );
  const row = rows[0];
  return row ? { priceCents: BigInt(row.price_cents), days: Number(row.duration_days) } : undefined;
}

/**
 * Opens the tier's checkout at the code's price (checked and priced in the database) and replies
 * with it; a refused code gets its reason and a way on: another code, or the full price.
 */
async function replyWithPromoCheckout(ctx: PrivateContext, channelId: string, tierNumber: number, typed: string): Promise<'shown' | 'gone'> {
  const code = normalizePromoCode(typed);
  const offer = await tierPrice(ctx, channelId, tierNumber);
  if (!offer) return 'gone';
  const refuse = async (reason: PromoRefusalReason) => {
    ctx.session.promo = { channelId, tierNumber };
    await ctx.reply(ctx.t('promoRefused', reason, code ?? ''), { parse_mode: 'HTML', reply_markup: tierKeyboard(ctx, channelId, tierNumber, offer.priceCents) });
    return 'shown' as const;
  };
  if (code === undefined) return refuse('malformed');
  let checkout: Checkout;
  try {
    checkout = await openCheckout(checkoutDeps(ctx.deps), { kind: 'subscription', user: profileOf(ctx.from), channelId, tierNumber, promoCode: code });
  } catch (error) {
    if (isOfferGone(error)) return 'gone';
    const reason = error instanceof AppError && !error.isRetryable ? REFUSALS[error.code] : undefined;
    if (reason === undefined) throw error;
    ctx.deps.logger.info('bot.promo_code_refused', { reason, channelId });
    return refuse(reason);
  }
  ctx.session.promo = undefined;
  const title = (await channelTitle(ctx.deps.db, channelId)) ?? '';
  await ctx.reply(
    ctx.t('promoCheckout', title, tierNumber, checkout.durationDays ?? 0, checkout.listPriceCents ?? checkout.priceCents, checkout.priceCents, code, checkout.expiresAt),
    { parse_mode: 'HTML', reply_markup: paymentKeyboard(ctx, checkout) },
  );
  return 'shown';
}

/**
 * What choosing a tier does: with a code (from the link, or from the channel's link just before)
 * the checkout at the code's price; else, when the channel has a code that may apply, the promo step
 * ("Have a promo code?" with Enter / Pay full price); else the checkout at the full price.
 */
export async function startTierPurchase(ctx: PrivateContext, channelId: string, tierNumber: number, promoCode?: string): Promise<'shown' | 'gone'> {
  const remembered = ctx.session.promoCode?.channelId === channelId ? ctx.session.promoCode.code : undefined;
  if (ctx.session.promoCode) ctx.session.promoCode = undefined;
  const code = promoCode ?? remembered;
  if (code !== undefined) return replyWithPromoCheckout(ctx, channelId, tierNumber, code);
  if (!(await hasPromoCodesFor(ctx.deps.db, channelId, tierNumber, ctx.deps.clock.now()))) return replyWithTierCheckout(ctx, channelId, tierNumber);
  const offer = await tierPrice(ctx, channelId, tierNumber);
  if (!offer) return 'gone';
  const title = (await channelTitle(ctx.deps.db, channelId)) ?? '';
  await ctx.reply(ctx.t('promoPrompt', title, tierNumber, offer.days, offer.priceCents), {
    parse_mode: 'HTML',
    reply_markup: tierKeyboard(ctx, channelId, tierNumber, offer.priceCents),
  });
  return 'shown';
}

/**
 * The promo code step: "Enter a promo code" waits for the code as the next text message (in the
 * session); "Pay full price" opens the checkout without one. Any other text or command passes on.
 */
export function promoCodesFeature(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const feature = composer.errorBoundary(featureErrorHandler('promo-codes'));

  feature.callbackQuery(enterPromoData.trigger, async (ctx) => {
    const ref = enterPromoData.decode(ctx.callbackQuery.data);
    const channelId = ref && parseRef('channel', ref.channel);
    if (!ref || !channelId || ctx.chat?.type !== 'private') return answerStale(ctx);
    ctx.session.promo = { channelId, tierNumber: ref.tier };
    await ctx.reply(ctx.t('promoAsk'));
    await ctx.answerCallbackQuery();
  });

  feature.callbackQuery(fullPriceData.trigger, async (ctx) => {
    const ref = fullPriceData.decode(ctx.callbackQuery.data);
    const channelId = ref && parseRef('channel', ref.channel);
    if (!ref || !channelId || ctx.chat?.type !== 'private') return answerStale(ctx);
    ctx.session.promo = undefined;
    if ((await replyWithTierCheckout(ctx, channelId, ref.tier)) === 'gone') return answerStale(ctx);
    await ctx.answerCallbackQuery();
  });

  feature.on('message:text', async (ctx, next) => {
    const waiting = ctx.session.promo;
    if (!waiting || ctx.chat.type !== 'private' || ctx.message.text.startsWith('/')) return next();
    if ((await replyWithPromoCheckout(ctx, waiting.channelId, waiting.tierNumber, ctx.message.text)) === 'gone') {
      ctx.session.promo = undefined;
      await ctx.reply(ctx.t('channelUnavailable'));
    }
  });

  return composer;
}
