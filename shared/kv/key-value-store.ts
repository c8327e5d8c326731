/** Options for writes that may expire. */
export interface ExpiryOptions {
  /**
   * Seconds until the written entry expires (a finite number > 0, at most ten years). Without it the
   * entry never expires. Every write replaces the entry's expiry, so a write without `ttlSeconds`
   * makes an entry permanent again.
   */
  ttlSeconds?: number;
}

export interface IncrementOptions {
  /** Length of the fixed window in seconds (finite, > 0). The window starts at the first hit. */
  windowSeconds: number;
}

export interface IncrementResult {
  /** Hits in the current window, including this one (1 for the first hit). */
  count: number;
  /** When the current window ends; the next hit at or after this instant starts a new window at 1. */
  resetAt: Date;
}

/**
 * Key-value storage for non-financial, short-lived state: bot sessions, rate-limit counters, update
 * de-duplication, one-time codes. Money never goes here (it lives in PostgreSQL).
 *
 * - Keys are non-empty strings of at most 500 UTF-16 code units without lone surrogates; any
 *   characters are allowed, including '/'. Invalid keys reject with `PermanentError('kv_key_invalid')`.
 * - Values must be JSON: `null`, booleans, finite numbers, strings, arrays and plain objects, at most
 *   1,000,000 bytes once serialized. Object properties set to `undefined` are dropped (as in
 *   `JSON.stringify`). Anything else (`bigint`, functions, symbols, `Date`, `Map`, class instances,
 *   `NaN`, cycles, `undefined` as a value or array element) rejects with
 *   `PermanentError('kv_value_invalid')` naming the path, instead of being silently converted.
 *   Store amounts as decimal strings and times as ISO strings.
 * - Reads return a fresh copy. `get<T>` does not check the shape; parse with zod where it matters.
 * - An entry is expired from the instant `now >= expiresAt` on the store's `Clock`; expired entries
 *   read as absent everywhere, whether or not they were physically removed yet.
 * - Backend failures reject with `TransientError('kv_unavailable' | 'kv_contention')`.
 */
export interface KeyValueStore {
  /** The value under `key`, or `undefined` when absent or expired. */
  get<T>(key: string): Promise<T | undefined>;
  /** Stores `value` under `key`, replacing any earlier value and expiry. */
  set<T>(key: string, value: T, options?: ExpiryOptions): Promise<void>;
  /** Removes `key`; removing an absent key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Stores only when absent or expired; true when this call stored it (update de-duplication,
   * one-time codes). Atomic: of many concurrent calls for one key, exactly one returns true.
   */
  setIfAbsent<T>(key: string, value: T, options?: ExpiryOptions): Promise<boolean>;
  /**
   * Atomically counts a hit in a fixed window (rate limits): returns the count including this hit
   * and when the window resets. The counter is an ordinary entry (a number that expires at
   * `resetAt`, so `get` reads the count); incrementing a key that holds anything other than a
   * counter rejects with `PermanentError('kv_not_a_counter')`.
   */
  increment(key: string, options: IncrementOptions): Promise<IncrementResult>;
  /**
   * Reads, transforms and writes one key atomically (grammY sessions); `update` returning undefined
   * deletes. `update` receives `undefined` for an absent or expired entry and must be a pure,
   * synchronous function of its input: an adapter may call it more than once when a concurrent
   * write forces a retry. If it throws, nothing is written and the error propagates unchanged.
   * Resolves to the value now stored (a copy), or `undefined` when the entry was deleted.
   */
  update<T>(
    key: string,
    update: (current: T | undefined) => T | undefined,
    options?: ExpiryOptions,
  ): Promise<T | undefined>;
}
