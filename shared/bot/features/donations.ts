import { Composer, InlineKeyboard } from 'grammy';
import * as z from 'zod';
import { type DonationSettings, loadDonationSettings } from '../../channels/index.js';
import { type Checkout, openCheckout } from '../../checkout/index.js';
import { AppError } from '../../errors/index.js';
import { parseUsdCents } from '../../money/index.js';
import { defineCallbackData } from '../../telegram/callback-data.js';
import type { BotContext } from '../context.js';
import {
  START_PAYLOAD_PATTERN,
  answerStale,
  checkoutDeps,
  featureErrorHandler,
  isOfferGone,
  parseRef,
  paymentKeyboard,
  replyOpenPrivately,
} from './subscriber.js';
import { profileOf } from './telegram-user.js';

const DONATE_PREFIX = 'd_';
/** Longest amount text the keypad takes, '.' included ('99999.99'). */
export const MAX_AMOUNT_LENGTH = 8;

export const KEYPAD_KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'dot', 'del', 'clr', 'ok', 'no'] as const;
export type KeypadKey = (typeof KEYPAD_KEYS)[number];

/** A keypad key. The amount itself never travels in callback data: it is in the session. */
export const keypadData = defineCallbackData('d1', ['key'], z.object({ key: z.enum(KEYPAD_KEYS) }));

/**
 * The amount text after one key press: digits, at most one '.', at most two decimals, at most
 * `MAX_AMOUNT_LENGTH` characters, no leading zeros ('0' then '5' is '5'), '.' first gives '0.'.
 * A key that would break a rule leaves the text as it was. Only digit, dot, del and clr edit.
 */
export function pressKey(typed: string, key: KeypadKey): string {
  if (key === 'clr') return '';
  if (key === 'del') return typed.slice(0, -1);
  if (key === 'dot') {
    if (typed.includes('.')) return typed;
    const next = typed === '' ? '0.' : `${typed}.`;
    return next.length <= MAX_AMOUNT_LENGTH ? next : typed;
  }
  if (!/^[0-9]$/.test(key)) return typed;
  const dot = typed.indexOf('.');
  if (dot >= 0 && typed.length - dot - 1 >= 2) return typed;
  const next = typed === '0' ? key : `${typed}${key}`;
  return next.length <= MAX_AMOUNT_LENGTH ? next : typed;
}

/** Cents of the typed text ('12.5' → 1250n), or `undefined` when nothing (or only zero) was typed. */
export function typedCents(typed: string): bigint | undefined {
  const text = typed.endsWith('.') ? typed.slice(0, -1) : typed;
  if (text === '') return undefined;
  try {
    const cents = parseUsdCents(text);
    return cents > 0n ? cents : undefined;
  } catch {
    return undefined;
  }
}

function keypad(ctx: BotContext): InlineKeyboard {
  const key = (label: string, value: KeypadKey) => InlineKeyboard.text(label, keypadData.encode({ key: value }));
  return InlineKeyboard.from([
    [key('1', '1'), key('2', '2'), key('3', '3')],
    [key('4', '4'), key('5', '5'), key('6', '6')],
    [key('7', '7'), key('8', '8'), key('9', '9')],
    [key('.', 'dot'), key('0', '0'), key('⌫', 'del')],
    [key(ctx.t('donationClearButton'), 'clr'), key(ctx.t('donationCancelButton'), 'no')],
    [key(ctx.t('donationConfirmButton'), 'ok')],
  ]);
}

function keypadText(ctx: BotContext, channel: DonationSettings, typed: string): string {
  return ctx.t('donationKeypad', channel.title, channel.appeal, typed, channel.minCents, channel.maxCents);
}

const DONATION_REFUSALS: Record<string, 'donationsUnavailable' | 'staleButton'> = {
  donations_disabled: 'donationsUnavailable',
  donation_out_of_bounds: 'staleButton',
};

/**
 * Donations: `/start d_<channel>` in the private chat opens an amount keypad — one message edited
 * on each press, the amount typed so far in the session (never in the button data) — with the
 * channel's bounds; Confirm opens a donation checkout and turns the keypad into its Pay button.
 * Outside a private chat the keypad is never posted: the user is sent to the private chat.
 */
export function donationsFeature(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const feature = composer.errorBoundary(featureErrorHandler('donations'));

  feature.command('start', async (ctx, next) => {
    const payload = ctx.match.trim();
    if (!payload.startsWith(DONATE_PREFIX)) return next();
    if (ctx.chat.type !== 'private') {
      if (START_PAYLOAD_PATTERN.test(payload)) await replyOpenPrivately(ctx, payload);
      return;
    }
    const channelId = START_PAYLOAD_PATTERN.test(payload) ? parseRef('channel', payload.slice(DONATE_PREFIX.length)) : undefined;
    if (!channelId) {
      await ctx.reply(ctx.t('startInvalidLink'));
      return;
    }
    const channel = await loadDonationSettings(ctx.deps.db, channelId);
    if (!channel) {
      await ctx.reply(ctx.t('donationsUnavailable'));
      return;
    }
    const sent = await ctx.reply(keypadText(ctx, channel, ''), { parse_mode: 'HTML', reply_markup: keypad(ctx) });
    ctx.session.donation = { channelId, digits: '', messageId: sent.message_id };
  });

  feature.callbackQuery(keypadData.trigger, async (ctx) => {
    const press = keypadData.decode(ctx.callbackQuery.data);
    const state = ctx.session.donation;
    const messageId = ctx.callbackQuery.message?.message_id;
    // Only the keypad this session opened, in the private chat: an older keypad is stale.
    if (!press || !state || ctx.chat?.type !== 'private' || messageId === undefined || state.messageId !== messageId) return answerStale(ctx);
    const channel = await loadDonationSettings(ctx.deps.db, state.channelId);
    if (!channel) {
      ctx.session.donation = undefined;
      await ctx.editMessageText(ctx.t('donationsUnavailable'));
      await ctx.answerCallbackQuery();
      return;
    }

    if (press.key === 'no') {
      ctx.session.donation = undefined;
      await ctx.editMessageText(ctx.t('donationCancelled'));
      await ctx.answerCallbackQuery();
      return;
    }
    if (press.key === 'ok') return confirm(ctx, channel, state.channelId, state.digits);

    const typed = pressKey(state.digits, press.key);
    if (typed !== state.digits) {
      ctx.session.donation = { ...state, digits: typed };
      await ctx.editMessageText(keypadText(ctx, channel, typed), { parse_mode: 'HTML', reply_markup: keypad(ctx) });
    }
    await ctx.answerCallbackQuery();
  });

  return composer;
}

async function confirm(ctx: BotContext, channel: DonationSettings, channelId: string, typed: string): Promise<void> {
  const amountCents = typedCents(typed);
  if (amountCents === undefined || amountCents < channel.minCents || amountCents > channel.maxCents) {
    await ctx.answerCallbackQuery({ text: ctx.t('donationOutOfBounds', channel.minCents, channel.maxCents), show_alert: true });
    return;
  }
  if (!ctx.from) return answerStale(ctx);
  let checkout: Checkout;
  try {
    checkout = await openCheckout(checkoutDeps(ctx.deps), { kind: 'donation', user: profileOf(ctx.from), channelId, amountCents });
  } catch (error) {
    if (isOfferGone(error)) return answerStale(ctx);
    const refusal = error instanceof AppError && !error.isRetryable ? DONATION_REFUSALS[error.code] : undefined;
    if (refusal === undefined) throw error;
    ctx.session.donation = undefined;
    await ctx.answerCallbackQuery({ text: ctx.t(refusal), show_alert: true });
    return;
  }
  ctx.session.donation = undefined;
  await ctx.editMessageText(ctx.t('donationCheckout', channel.title, checkout.priceCents, checkout.expiresAt), {
    parse_mode: 'HTML',
    reply_markup: paymentKeyboard(ctx, checkout),
  });
  await ctx.answerCallbackQuery();
}
