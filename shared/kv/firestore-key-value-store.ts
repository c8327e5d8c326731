import { createHash } from 'node:crypto';
// Types only: the client library is loaded by whoever builds the Firestore instance (shared/runtime,
// on first use), so a function that never touches this store never loads it.
import type { DocumentReference, DocumentSnapshot, Firestore, Timestamp, Transaction } from '@google-cloud/firestore';
import * as z from 'zod';
import { type Clock, systemClock } from '../clock/index.js';
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
import { keyValueError } from './errors.js';

export interface FirestoreKeyValueStoreOptions {
  /** A client built once per instance (Admin SDK credentials; the security rules deny every client SDK). */
  firestore: Firestore;
  /**
   * Collection that holds the entries, e.g. `kv_entries`. Its collection group needs the TTL policy
   * on `expiresAt` (see README.md); several stores may share one collection only if their keys
   * cannot collide.
   */
  collection: string;
  /** Decides expiry and `resetAt`. Default `systemClock`. */
  clock?: Clock;
  /**
   * Attempts per atomic operation (default 10). Firestore aborts a transaction that loses a race
   * for the document, and the SDK retries it with backoff; after the last attempt the operation
   * rejects with `TransientError('kv_contention')`.
   */
  maxTransactionAttempts?: number;
}

/**
 * One entry per document, stored as:
 * - id: hex SHA-256 of the UTF-8 key. Ids cannot contain '/', must not look like `__x__` and are
 *   limited to 1,500 bytes, so keys are hashed; changing this mapping orphans every stored entry.
 * - `key`: the original key, checked on read.
 * - `value`: the value as a JSON string, so it round-trips exactly (Firestore maps cannot hold
 *   nested arrays and would turn integers into doubles on the way back).
 * - `expiresAt`: a Timestamp, absent when the entry never expires. Readers treat an entry as gone
 *   from `expiresAt` on; the TTL policy deletes the document some time later (usually within a day).
 * - `updatedAt`: when it was last written, for people reading the console.
 */
const StoredEntrySchema = z.object({
  key: z.string(),
  value: z.string(),
  expiresAt: z.custom<Timestamp>((value) => typeof (value as Partial<Timestamp> | null)?.toMillis === 'function', 'a Timestamp').optional(),
});

interface LiveEntry {
  json: string;
  expiresAtMs: number | undefined;
}

const DEFAULT_MAX_TRANSACTION_ATTEMPTS = 10;

/** gRPC status codes that mean "Firestore refused this request as such"; retrying it cannot help. */
const REJECTED_STATUS = new Map([
  [3, 'INVALID_ARGUMENT'],
  [11, 'OUT_OF_RANGE'],
]);
const ABORTED = 10;

/**
 * Translates a Firestore client failure. Errors without a numeric gRPC `code` come from our own
 * code or from the caller's `update` function and pass through unchanged. A transaction that kept
 * losing races is `kv_contention`; any other status (unavailable, deadline, quota, permission — a
 * fixable deployment problem) is `kv_unavailable`, so the delivery is retried.
 */
function toKeyValueError(error: unknown, operation: string, collection: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'number') return error;
  const context = { operation, collection, grpcCode: code };
  if (REJECTED_STATUS.has(code)) {
    return keyValueError('kv_rejected', `Firestore rejected kv ${operation} (${REJECTED_STATUS.get(code)})`, context, error);
  }
  if (code === ABORTED) {
    return keyValueError('kv_contention', `kv ${operation} kept conflicting with concurrent writes`, context, error);
  }
  return keyValueError('kv_unavailable', `Firestore failed kv ${operation} (gRPC status ${code})`, context, error);
}

/** Hex SHA-256 of the key: 64 safe characters whatever the key holds. */
function documentId(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * A `KeyValueStore` on Firestore (production). Atomic operations are Firestore transactions; expiry
 * is decided by the injected clock against `expiresAt`, so a fake clock works against the emulator.
 */
export function createFirestoreKeyValueStore(options: FirestoreKeyValueStoreOptions): KeyValueStore {
  const { firestore, collection } = options;
  const clock = options.clock ?? systemClock;
  const maxAttempts = options.maxTransactionAttempts ?? DEFAULT_MAX_TRANSACTION_ATTEMPTS;
  if (typeof collection !== 'string' || collection === '') throw keyValueError('kv_options_invalid', 'collection must be a non-empty string');
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw keyValueError('kv_options_invalid', `maxTransactionAttempts must be a positive integer, got ${maxAttempts}`);
  }
  const entries = firestore.collection(collection);

  function documentFor(key: string): DocumentReference {
    assertValidKey(key);
    return entries.doc(documentId(key));
  }

  function liveEntry(snapshot: DocumentSnapshot, key: string, nowMs: number): LiveEntry | undefined {
    if (!snapshot.exists) return undefined;
    const parsed = StoredEntrySchema.safeParse(snapshot.data());
    if (!parsed.success) {
      throw keyValueError('kv_entry_corrupt', 'A stored key-value document does not have the expected fields', {
        collection,
        documentId: snapshot.id,
      });
    }
    if (parsed.data.key !== key) {
      throw keyValueError('kv_entry_corrupt', 'A stored key-value document belongs to another key', {
        collection,
        documentId: snapshot.id,
      });
    }
    const expiresAtMs = parsed.data.expiresAt?.toMillis();
    return isExpired(expiresAtMs, nowMs) ? undefined : { json: parsed.data.value, expiresAtMs };
  }

  function toDocument(key: string, json: string, expiresAtMs: number | undefined, nowMs: number) {
    // Firestore stores a Date as a Timestamp (millisecond precision is all a TTL needs).
    const document: { key: string; value: string; updatedAt: Date; expiresAt?: Date } = {
      key,
      value: json,
      updatedAt: new Date(nowMs),
    };
    if (expiresAtMs !== undefined) document.expiresAt = new Date(expiresAtMs);
    return document;
  }

  async function run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toKeyValueError(error, operation, collection);
    }
  }

  /** Runs `work` in a transaction; it may run several times, so it reads the clock itself. */
  function atomically<T>(operation: string, work: (tx: Transaction) => Promise<T>): Promise<T> {
    return run(operation, () => firestore.runTransaction(work, { maxAttempts }));
  }

  return {
    get<T>(key: string): Promise<T | undefined> {
      return run('get', async () => {
        const snapshot = await documentFor(key).get();
        const entry = liveEntry(snapshot, key, clock.now().getTime());
        return entry === undefined ? undefined : decodeValue<T>(entry.json);
      });
    },

    set<T>(key: string, value: T, options?: { ttlSeconds?: number }): Promise<void> {
      return run('set', async () => {
        const document = documentFor(key);
        const json = encodeValue(value);
        const ttlMs = ttlMillis(options);
        const nowMs = clock.now().getTime();
        await document.set(toDocument(key, json, expiryMillis(nowMs, ttlMs), nowMs));
      });
    },

    delete(key: string): Promise<void> {
      return run('delete', async () => {
        await documentFor(key).delete();
      });
    },

    async setIfAbsent<T>(key: string, value: T, options?: { ttlSeconds?: number }): Promise<boolean> {
      const document = documentFor(key);
      const json = encodeValue(value);
      const ttlMs = ttlMillis(options);
      return atomically('setIfAbsent', async (tx) => {
        const snapshot = await tx.get(document);
        const nowMs = clock.now().getTime();
        if (liveEntry(snapshot, key, nowMs) !== undefined) return false;
        tx.set(document, toDocument(key, json, expiryMillis(nowMs, ttlMs), nowMs));
        return true;
      });
    },

    async increment(key: string, options: { windowSeconds: number }): Promise<{ count: number; resetAt: Date }> {
      const document = documentFor(key);
      const windowMs = durationMillis(options?.windowSeconds, 'windowSeconds');
      return atomically('increment', async (tx) => {
        const snapshot = await tx.get(document);
        const nowMs = clock.now().getTime();
        const { count, resetAtMs } = nextCounter(liveEntry(snapshot, key, nowMs), nowMs, windowMs);
        tx.set(document, toDocument(key, JSON.stringify(count), resetAtMs, nowMs));
        return { count, resetAt: new Date(resetAtMs) };
      });
    },

    async update<T>(
      key: string,
      update: (current: T | undefined) => T | undefined,
      options?: { ttlSeconds?: number },
    ): Promise<T | undefined> {
      const document = documentFor(key);
      const ttlMs = ttlMillis(options);
      return atomically('update', async (tx) => {
        const snapshot = await tx.get(document);
        const nowMs = clock.now().getTime();
        const current = liveEntry(snapshot, key, nowMs);
        const next = update(current === undefined ? undefined : decodeValue<T>(current.json));
        if (next === undefined) {
          if (snapshot.exists) tx.delete(document);
          return undefined;
        }
        const json = encodeValue(next);
        tx.set(document, toDocument(key, json, expiryMillis(nowMs, ttlMs), nowMs));
        return decodeValue<T>(json);
      });
    },
  };
}
