import { isGrammyError } from '../telegram/index.js';

/**
 * Telegram's flood limits for bots: about 30 messages a second overall and 20 a minute into one
 * group or channel. A 429 names how long to wait (`parameters.retry_after`). The pacer keeps one
 * process under both, and `withFloodControl` waits out a short 429 once instead of failing a run.
 */
export interface PostPacer {
  /** Resolves when a message into `chatId` may go out; `chatId` undefined for calls that post nothing (deletes). */
  turn(chatId: number | undefined): Promise<void>;
}

export interface PostPacerOptions {
  /** Calls per second overall. Default 25 (Telegram allows about 30). */
  perSecond?: number;
  /** Posts per minute into one chat. Default 18 (Telegram allows 20). */
  perChatPerMinute?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sliding windows, as Telegram counts: a call waits only when a window is full, so the usual
 * one post per channel per run never waits. A chat's slot is reserved before sleeping, so
 * concurrent posts into one chat queue behind each other instead of all waking at once.
 */
export function createPostPacer(options: PostPacerOptions = {}): PostPacer {
  const perSecond = options.perSecond ?? 25;
  const perChatPerMinute = options.perChatPerMinute ?? 18;
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const overall: number[] = [];
  const byChat = new Map<number, number[]>();

  return {
    async turn(chatId) {
      if (chatId !== undefined) {
        // Into one chat: reserve the earliest slot with room among the last minute's posts (some may be reserved ahead).
        const window = (byChat.get(chatId) ?? []).filter((at) => at > now() - 60_000);
        const at = window.length < perChatPerMinute ? now() : window[window.length - perChatPerMinute]! + 60_000;
        window.push(at);
        window.sort((a, b) => a - b);
        byChat.set(chatId, window);
        if (byChat.size > 10_000) byChat.clear();
        if (at > now()) await sleep(at - now());
      }
      // Overall: entries are only ever the present, so the window stays in time order.
      for (;;) {
        while (overall.length > 0 && overall[0]! <= now() - 1_000) overall.shift();
        if (overall.length < perSecond) break;
        await sleep(overall[0]! + 1_000 - now());
      }
      overall.push(now());
    },
  };
}

/** Longest 429 wait served inside a run; a longer one ends the channel's turn until then. */
export const MAX_INLINE_RETRY_AFTER_SECONDS = 10;

/**
 * Runs a Bot API call in its turn (a post: its chat's; `chatId` undefined: only the overall pace); on a 429 asking for at most
 * `MAX_INLINE_RETRY_AFTER_SECONDS`, waits that long and tries once more. Any other failure, or a
 * longer 429, is thrown as grammY gave it.
 */
export async function withFloodControl<T>(pacer: PostPacer, chatId: number | undefined, call: () => Promise<T>, sleep: (ms: number) => Promise<void> = realSleep): Promise<T> {
  await pacer.turn(chatId);
  try {
    return await call();
  } catch (error) {
    const retryAfter = isGrammyError(error) && error.error_code === 429 ? error.parameters.retry_after : undefined;
    if (retryAfter === undefined || retryAfter > MAX_INLINE_RETRY_AFTER_SECONDS) throw error;
    await sleep(retryAfter * 1000);
    await pacer.turn(chatId);
    return call();
  }
}
