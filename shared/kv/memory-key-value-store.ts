import { type Clock, systemClock } from '../clock/index.js';
import { keyValueError } from './errors.js';
import {
  assertValidKey,
  decodeValue,
  durationMillis,
  encodeValue,
  expiryMillis,
  isExpired,
  nextCounter,
  ttlMillis,
} from './key-value-entry.js';
import type { KeyValueStore } from './key-value-store.js';

export interface MemoryKeyValueStoreOptions {
  /** Decides expiry. Default `systemClock`; tests pass a fake clock. */
  clock?: Clock;
  /**
   * Most entries held at once (default 10,000). When a write of a new key finds the store full it
   * first drops expired entries, then evicts the least recently written live entry, so memory stays
   * bounded even when every key is distinct (a flood of rate-limit keys). Production Firestore has
   * no such bound; size this above the sandbox's live working set.
   */
  maxEntries?: number;
}

interface MemoryEntry {
  json: string;
  expiresAtMs: number | undefined;
}

const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * An in-process `KeyValueStore`: the default for the sandbox and tests. Values are kept as JSON
 * strings, so callers never share references with the store. Every operation runs synchronously to
 * completion inside one call, which makes each one atomic within the process. Expired entries are
 * evicted lazily, when read or when room is needed.
 */
export function createMemoryKeyValueStore(options: MemoryKeyValueStoreOptions = {}): KeyValueStore {
  const clock = options.clock ?? systemClock;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw keyValueError('kv_options_invalid', `maxEntries must be a positive integer, got ${maxEntries}`);
  }
  // Map order is write order: a write re-inserts its key, so the first key is the least recently written.
  const entries = new Map<string, MemoryEntry>();

  function liveEntry(key: string, nowMs: number): MemoryEntry | undefined {
    const entry = entries.get(key);
    if (entry !== undefined && isExpired(entry.expiresAtMs, nowMs)) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  function write(key: string, entry: MemoryEntry, nowMs: number): void {
    if (!entries.delete(key) && entries.size >= maxEntries) {
      for (const [candidate, { expiresAtMs }] of entries) {
        if (isExpired(expiresAtMs, nowMs)) entries.delete(candidate);
      }
      for (const oldest of entries.keys()) {
        if (entries.size < maxEntries) break;
        entries.delete(oldest);
      }
    }
    entries.set(key, entry);
  }

  return {
    async get<T>(key: string): Promise<T | undefined> {
      assertValidKey(key);
      const entry = liveEntry(key, clock.now().getTime());
      return entry === undefined ? undefined : decodeValue<T>(entry.json);
    },

    async set<T>(key: string, value: T, options?: { ttlSeconds?: number }): Promise<void> {
      assertValidKey(key);
      const json = encodeValue(value);
      const ttlMs = ttlMillis(options);
      const nowMs = clock.now().getTime();
      write(key, { json, expiresAtMs: expiryMillis(nowMs, ttlMs) }, nowMs);
    },

    async delete(key: string): Promise<void> {
      assertValidKey(key);
      entries.delete(key);
    },

    async setIfAbsent<T>(key: string, value: T, options?: { ttlSeconds?: number }): Promise<boolean> {
      assertValidKey(key);
      const json = encodeValue(value);
      const ttlMs = ttlMillis(options);
      const nowMs = clock.now().getTime();
      if (liveEntry(key, nowMs) !== undefined) return false;
      write(key, { json, expiresAtMs: expiryMillis(nowMs, ttlMs) }, nowMs);
      return true;
    },

    async increment(key: string, options: { windowSeconds: number }): Promise<{ count: number; resetAt: Date }> {
      assertValidKey(key);
      const windowMs = durationMillis(options?.windowSeconds, 'windowSeconds');
      const nowMs = clock.now().getTime();
      const { count, resetAtMs } = nextCounter(liveEntry(key, nowMs), nowMs, windowMs);
      write(key, { json: JSON.stringify(count), expiresAtMs: resetAtMs }, nowMs);
      return { count, resetAt: new Date(resetAtMs) };
    },

    async update<T>(
      key: string,
      update: (current: T | undefined) => T | undefined,
      options?: { ttlSeconds?: number },
    ): Promise<T | undefined> {
      assertValidKey(key);
      const ttlMs = ttlMillis(options);
      const nowMs = clock.now().getTime();
      const current = liveEntry(key, nowMs);
      const next = update(current === undefined ? undefined : decodeValue<T>(current.json));
      if (next === undefined) {
        entries.delete(key);
        return undefined;
      }
      const json = encodeValue(next);
      write(key, { json, expiresAtMs: expiryMillis(nowMs, ttlMs) }, nowMs);
      return decodeValue<T>(json);
    },
  };
}
