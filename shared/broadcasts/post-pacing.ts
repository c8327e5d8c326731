import { GrammyError } from 'grammy';

/**
 * Telegram's flood limits for bots: about 30 messages a second overall and 20 a minute into one
 * group or channel. A 429 names how long to wait (`parameters.retry_after`). The pacer keeps one
 * process under both, and `withFloodControl` waits out a short 429 once instead of failing a run.
 */
export interface PostPacer {
  /** Resolves when a call into `chatId` may go out. */
  turn(chatId: number): Promise<void>;
}

export interface PostPacerOptions {
  /** Between any two calls. Default 40 ms (25 a second). */
  minGapMs?: number;
  /** Between two calls into one chat. Default 3,000 ms (20 a minute). */
  minChatGapMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createPostPacer(options: PostPacerOptions = {}): PostPacer {
  const minGapMs = options.minGapMs ?? 40;
  const minChatGapMs = options.minChatGapMs ?? 3_000;
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  let nextAny = 0;
  const nextByChat = new Map<number, number>();
  return {
    async turn(chatId) {
      // Reserve the slot before sleeping, so concurrent callers queue behind each other.
      const at = Math.max(now(), nextAny, nextByChat.get(chatId) ?? 0);
      nextAny = at + minGapMs;
      nextByChat.set(chatId, at + minChatGapMs);
      if (nextByChat.size > 10_000) nextByChat.clear();
      const wait = at - now();
      if (wait > 0) await sleep(wait);
    },
  };
}

/** Longest 429 wait served inside a run; a longer one ends the channel's turn until then. */
export const MAX_INLINE_RETRY_AFTER_SECONDS = 10;

/**
 * Runs a Bot API call in its chat's turn; on a 429 asking for at most
 * `MAX_INLINE_RETRY_AFTER_SECONDS`, waits that long and tries once more. Any other failure, or a
 * longer 429, is thrown as grammY gave it.
 */
export async function withFloodControl<T>(pacer: PostPacer, chatId: number, call: () => Promise<T>, sleep: (ms: number) => Promise<void> = realSleep): Promise<T> {
  await pacer.turn(chatId);
  try {
    return await call();
  } catch (error) {
    const retryAfter = error instanceof GrammyError && error.error_code === 429 ? error.parameters.retry_after : undefined;
    if (retryAfter === undefined || retryAfter > MAX_INLINE_RETRY_AFTER_SECONDS) throw error;
    await sleep(retryAfter * 1000);
    await pacer.turn(chatId);
    return call();
  }
}
