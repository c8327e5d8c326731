import type { BotError } from 'grammy';
import { AppError } from '../../errors/index.js';
import { isGrammyError, isHttpError, toTelegramError } from '../../telegram/telegram-errors.js';
import type { BotContext } from '../context.js';

/**
 * A feature's error boundary. Transient trouble (database down, Telegram 5xx or a
 * 429 that outlasted the auto-retry) is rethrown, so the webhook answers 503 and Telegram
 * redelivers the update; its side effects are idempotent. Anything else (a refusal, a bug) is logged
 * and answered politely once: redelivering it would only loop.
 */
export function featureBoundary(feature: string): (error: BotError<BotContext>) => Promise<void> {
  return async (error) => {
    const { ctx } = error;
    const cause = isGrammyError(error.error) || isHttpError(error.error) ? toTelegramError(error.error) : error.error;
    const updateId = ctx.update.update_id;
    if (cause instanceof AppError && cause.isRetryable) {
      ctx.deps.logger.warn('bot.feature_will_retry', { feature, updateId, error: cause });
      throw cause;
    }
    ctx.deps.logger.error('bot.feature_failed', { feature, updateId, error: cause });
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t('somethingWentWrong') }).catch(() => undefined);
    else if (ctx.message && ctx.chat?.type === 'private') await ctx.reply(ctx.t('somethingWentWrong')).catch(() => undefined);
  };
}
