import { performance } from 'node:perf_hooks';
import type { Api } from 'grammy';
import type { Logger } from '../logging/index.js';

/** Where subscribe links get the bot's username (`https://t.me/<username>?start=…`). */
export interface BotUsernameSource {
  /** The username without `@`, or undefined when it cannot be known right now. Never throws. */
  username(): Promise<string | undefined>;
}

/** A channel read waits at most this long for getMe; its links are then null, the read still answers. */
export const GET_ME_TIMEOUT_MS = 3000;
/** After a failed getMe, reads go without links for this long instead of each waiting on Telegram again. */
export const GET_ME_RETRY_AFTER_MS = 60_000;

export interface BotUsernameSourceOptions {
  /** TELEGRAM_BOT_USERNAME: when set, Telegram is never asked. */
  configured?: string | undefined;
  /** A Bot API client (`createBotApi` or `createOnDemandBotApi`) for getMe when no username is configured. */
  telegram?: Pick<Api, 'getMe'> | undefined;
  /** Where a failed getMe is logged. */
  logger: Logger;
  timeoutMs?: number;
  retryAfterMs?: number;
  /** Monotonic milliseconds; tests pass their own to step over the back-off. */
  now?: () => number;
}

/**
 * The bot's username from configuration or, when unset, from getMe, asked once and kept for the
 * life of the process (a bot's username only changes through @BotFather, which a redeploy follows).
 * Concurrent reads share one getMe; a failure or a timeout answers undefined, is logged, and getMe
 * is not asked again for `retryAfterMs`, so an outage of Telegram never slows every dashboard read.
 */
export function createBotUsernameSource(options: BotUsernameSourceOptions): BotUsernameSource {
  const { configured, telegram, logger } = options;
  if (configured !== undefined) return { username: async () => configured };
  if (telegram === undefined) return { username: async () => undefined };
  const timeoutMs = options.timeoutMs ?? GET_ME_TIMEOUT_MS;
  const retryAfterMs = options.retryAfterMs ?? GET_ME_RETRY_AFTER_MS;
  const now = options.now ?? (() => performance.now());
  let known: string | undefined;
  let failedAt: number | undefined;
  let inFlight: Promise<string | undefined> | undefined;

  async function ask(): Promise<string | undefined> {
    try {
      // grammY types its signal with the abort-controller polyfill's class; Node's is what it uses at run time.
      const signal = AbortSignal.timeout(timeoutMs) as unknown as Parameters<Api['getMe']>[0];
      const me = await telegram!.getMe(signal);
      known = me.username;
      failedAt = undefined;
      return known;
    } catch (error) {
      failedAt = now();
      logger.warn('channel.bot_username_unavailable', { error, retryAfterMs });
      return undefined;
    }
  }

  return {
    async username() {
      if (known !== undefined) return known;
      if (failedAt !== undefined && now() - failedAt < retryAfterMs) return undefined;
      // Cleared in a later microtask, so even a call that fails at once is never kept as the answer.
      inFlight ??= ask().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
