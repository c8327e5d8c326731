import type { MiddlewareFn } from 'grammy';
import type { BotContext } from './context.js';

export interface RateLimitOptions {
  /** Commands and button presses per user per window. Default 20. */
  limit?: number;
  /** Window length in seconds. Default 60. */
  windowSeconds?: number;
}

/**
 * Per-user flood guard, counted in the key-value store so every instance shares the count. The
 * first update over the limit gets one polite answer; further ones in the window are dropped.
 */
export function rateLimit(options: RateLimitOptions = {}): MiddlewareFn<BotContext> {
  const limit = options.limit ?? 20;
  const windowSeconds = options.windowSeconds ?? 60;
  return async (ctx, next) => {
    const userId = ctx.from?.id;
    const isUserAction = ctx.message !== undefined || ctx.callbackQuery !== undefined;
    // Keypad presses only edit the user's own session; counting them would throttle a donor
    // correcting an amount.
    const isKeypadPress = ctx.callbackQuery?.data?.startsWith('d1:') === true;
    if (!userId || !isUserAction || isKeypadPress) return next();
    const { count } = await ctx.deps.kv.increment(`rate:${userId}`, { windowSeconds });
    if (count <= limit) return next();
    ctx.deps.logger.warn('bot.rate_limited', { userId, count });
    if (count !== limit + 1) return;
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t('tooManyRequests') });
    else if (ctx.chat?.type === 'private') await ctx.reply(ctx.t('tooManyRequests'));
  };
}
