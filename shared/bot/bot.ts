import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, type Composer, session } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { AppError } from '../errors/index.js';
import { BOT_API_TIMEOUT_SECONDS, refuseCallsInTransaction, TELEGRAM_API_ROOT } from '../telegram/bot-api-settings.js';
import type { BotContext, BotDeps, SessionData } from './context.js';
import { languageOf, translate } from '../texts/index.js';
import { rateLimit, type RateLimitOptions } from './rate-limit.js';
import { createKeyValueSessionStorage } from './session-storage.js';

export interface BotOptions {
  token: string;
  apiRoot?: string;
  /** From configuration, so a cold start makes no getMe call. */
  botInfo: UserFromGetMe;
  /** Feature modules, each a Composer with its own error boundary. */
  features: readonly Composer<BotContext>[];
  rateLimit?: RateLimitOptions;
}

/**
 * The one bot: dependencies and the user's language on the context, sessions in the key-value
 * store, a per-user rate limit, then every feature module. Outgoing calls retry Telegram's 429
 * after `retry_after` (bounded) and refuse to run inside a database transaction.
 */
export function createBot(deps: BotDeps, options: BotOptions): Bot<BotContext> {
  const bot = new Bot<BotContext>(options.token, {
    botInfo: options.botInfo,
    client: { apiRoot: options.apiRoot ?? TELEGRAM_API_ROOT, timeoutSeconds: BOT_API_TIMEOUT_SECONDS },
  });
  bot.api.config.use(refuseCallsInTransaction);
  bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 10, rethrowInternalServerErrors: true }));

  bot.use(async (ctx, next) => {
    ctx.deps = deps;
    ctx.language = languageOf(ctx.from?.language_code);
    ctx.t = (key, ...params) => translate(ctx.language, key, ...params);
    try {
      await next();
    } catch (cause) {
      deps.logger.error('bot.update_failed', { updateId: ctx.update.update_id, error: cause });
      // Known transient trouble (database down): rethrow so the webhook answers 5xx and Telegram
      // redelivers. Anything else is answered politely and not redelivered: a bug must not loop.
      if (cause instanceof AppError && cause.isRetryable) throw cause;
      await politeFailure(ctx).catch(() => undefined);
    }
  });
  bot.use(
    session<SessionData, BotContext>({
      initial: () => ({}),
      storage: createKeyValueSessionStorage<SessionData>(deps.kv),
      // Per chat and user: a keypad in one private chat is never shared with another.
      getSessionKey: (ctx) => (ctx.chat && ctx.from ? `${ctx.chat.id}:${ctx.from.id}` : undefined),
    }),
  );
  bot.use(rateLimit(options.rateLimit));
  for (const feature of options.features) bot.use(feature);
  return bot;
}

async function politeFailure(ctx: BotContext): Promise<void> {
  if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t('somethingWentWrong') });
  else if (ctx.chat?.type === 'private') await ctx.reply(ctx.t('somethingWentWrong'));
}
