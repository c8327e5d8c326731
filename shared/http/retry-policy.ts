/** Attempts per logical request, the first one included, unless the caller says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** First backoff ceiling; each later attempt doubles it. */
export const BACKOFF_BASE_MS = 250;
/** No backoff is longer than this. */
export const BACKOFF_CAP_MS = 5_000;
/**
 * The longest `Retry-After` we wait for inside one request. A server asking for more is told "later" by the caller's
 * own retry (Pub/Sub redelivery, the next scheduled tick), not by a function instance sleeping for minutes.
 */
export const MAX_RETRY_AFTER_SECONDS = 30;

/** Methods that mean the same thing when sent twice (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** What went wrong with one attempt, as {@link shouldRetry} needs it. */
export interface RetryInput {
  /** The attempt that just failed, counting from 1. */
  attempt: number;
  /** Attempts allowed in total, the first one included. */
  maxAttempts: number;
  /** HTTP method of the request (any case). */
  method: string;
  /** HTTP status of the answer; absent when no answer came back. */
  status?: number;
  /** True when no answer came back: connection refused or reset, DNS failure, or our timeout. */
  networkError?: boolean;
  /**
   * True when the caller knows that repeating this non-idempotent request is harmless (e.g. POST /v1/invoice with our
   * unique `order_id`: a second invoice that nobody is shown is never paid). Default false.
   */
  isRetrySafe?: boolean;
  /** The server's `Retry-After`, in seconds, when it sent one. */
  retryAfterSeconds?: number;
  /** Source of jitter in [0, 1). Default `Math.random`; tests pin it. */
  random?: () => number;
}

export interface RetryDecision {
  retry: boolean;
  /** How long to wait before the next attempt; 0 when `retry` is false. */
  delayMs: number;
}

const GIVE_UP: RetryDecision = { retry: false, delayMs: 0 };

/**
 * Capped, jittered exponential backoff: the ceiling doubles from {@link BACKOFF_BASE_MS} per attempt up to
 * {@link BACKOFF_CAP_MS}, and the delay is drawn from the upper half of it ("equal jitter"), so retries from many
 * instances spread out but never come back immediately.
 *
 * @param attempt the attempt that just failed, counting from 1.
 */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  const jitter = Math.min(Math.max(random(), 0), 1);
  return Math.round(ceiling / 2 + (jitter * ceiling) / 2);
}

/**
 * Decides whether a failed attempt is tried again and after how long. Pure and ordered: the first matching rule
 * wins. The only in-process retry decision in the code base.
 */
export function shouldRetry(input: RetryInput): RetryDecision {
  const random = input.random ?? Math.random;

  // Out of attempts (written `!(a < b)` so a NaN bound also stops): the caller's own bounded retry (Pub/Sub
  // redelivery, the next tick) takes over.
  if (!(input.attempt < input.maxAttempts)) return GIVE_UP;

  const canRepeat = IDEMPOTENT_METHODS.has(input.method.toUpperCase()) || input.isRetrySafe === true;

  // No answer (refused, reset, timed out): the request may or may not have been processed, so only a request that
  // is harmless to repeat goes out again.
  if (input.networkError === true) {
    return canRepeat ? { retry: true, delayMs: backoffDelayMs(input.attempt, random) } : GIVE_UP;
  }

  const status = input.status;
  // Nothing to judge (a caller bug): never loop on it.
  if (status === undefined) return GIVE_UP;

  // 429: the server refused before doing any work, so every method may repeat. Wait as long as it asks; when it asks
  // for longer than we hold a request open, give up now and let the caller's retry come back later.
  if (status === 429) {
    const retryAfter = input.retryAfterSeconds;
    if (retryAfter === undefined || !Number.isFinite(retryAfter)) {
      return { retry: true, delayMs: backoffDelayMs(input.attempt, random) };
    }
    if (retryAfter > MAX_RETRY_AFTER_SECONDS) return GIVE_UP;
    return { retry: true, delayMs: Math.max(0, Math.ceil(retryAfter * 1000)) };
  }

  // 5xx and 408: the server failed or gave up on us, possibly after acting; repeat only what is harmless to repeat.
  if (status >= 500 || status === 408) {
    return canRepeat ? { retry: true, delayMs: backoffDelayMs(input.attempt, random) } : GIVE_UP;
  }

  // Everything else (other 4xx, 3xx, even 2xx): the answer is final; the same request gets the same answer.
  return GIVE_UP;
}

/**
 * Reads a `Retry-After` header: delay seconds (`"2"`) or an HTTP date. Returns seconds from `now` (never negative),
 * or `undefined` when absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, now: Date): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (!Number.isFinite(at) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
