import { PermanentError } from '../errors/index.js';
import { keyValueError } from './errors.js';

/** Longest key, in UTF-16 code units (`key.length`). */
export const MAX_KEY_LENGTH = 500;
/**
 * Largest serialized value in UTF-8 bytes. A Firestore document holds at most 1 MiB including the
 * key, field names and document name, so the limit leaves room for those.
 */
export const MAX_VALUE_BYTES = 1_000_000;
/** Longest `ttlSeconds` / `windowSeconds`: ten years keeps every expiry a valid Firestore Timestamp. */
export const MAX_TTL_SECONDS = 10 * 366 * 24 * 60 * 60;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Rejects keys every adapter cannot store the same way. The key itself never goes into the error: it may be a secret. */
export function assertValidKey(key: unknown): asserts key is string {
  const reason =
    typeof key !== 'string'
      ? `must be a string, got ${typeof key}`
      : key.length === 0
        ? 'must not be empty'
        : key.length > MAX_KEY_LENGTH
          ? `is ${key.length} characters long; the limit is ${MAX_KEY_LENGTH} (hash longer identifiers into the key)`
          : LONE_SURROGATE.test(key)
            ? 'contains a lone UTF-16 surrogate; keys must be well-formed Unicode'
            : undefined;
  if (reason !== undefined) {
    throw keyValueError('kv_key_invalid', `Key-value key ${reason}`, {
      keyLength: typeof key === 'string' ? key.length : undefined,
    });
  }
}

function invalidValue(path: string, problem: string): PermanentError {
  return keyValueError('kv_value_invalid', `Key-value value at ${path} ${problem}`, { path });
}

function describeObject(value: object): string {
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'an object with a custom prototype';
}

/** Walks `value` and throws at the first part that would not survive a JSON round trip unchanged. */
function assertJson(value: unknown, path: string, ancestors: object[]): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalidValue(path, `is ${value}, which JSON cannot represent`);
      return;
    case 'bigint':
      throw invalidValue(path, 'is a bigint; store it as a decimal string (value.toString())');
    case 'undefined':
      throw invalidValue(path, 'is undefined; delete the key (or omit the property) instead');
    case 'function':
    case 'symbol':
      throw invalidValue(path, `is a ${typeof value}, which is not JSON`);
    case 'object':
      break;
  }
  if (value === null) return;
  const object = value as object;
  if (ancestors.includes(object)) throw invalidValue(path, 'refers back to itself (a cycle)');
  ancestors.push(object);
  if (Array.isArray(object)) {
    object.forEach((item: unknown, index) => assertJson(item, `${path}[${index}]`, ancestors));
  } else {
    const prototype: unknown = Object.getPrototypeOf(object);
    if (prototype !== Object.prototype && prototype !== null) {
      const hint = object instanceof Date ? '; store date.toISOString()' : '; store a plain object';
      throw invalidValue(path, `is a ${describeObject(object)}, which is not plain JSON${hint}`);
    }
    for (const [name, property] of Object.entries(object)) {
      if (property !== undefined) assertJson(property, `${path}.${name}`, ancestors);
    }
    if (Object.getOwnPropertySymbols(object).length > 0) throw invalidValue(path, 'has symbol keys, which are not JSON');
  }
  ancestors.pop();
}

/** Validates `value` as JSON and serializes it; the one way values enter any adapter. */
export function encodeValue(value: unknown): string {
  assertJson(value, '$', []);
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_VALUE_BYTES) {
    throw keyValueError(
      'kv_value_too_large',
      `Key-value value is ${bytes} bytes as JSON; the limit is ${MAX_VALUE_BYTES}`,
      { bytes, limit: MAX_VALUE_BYTES },
    );
  }
  return json;
}

/** Parses a stored value; a value that is not JSON means the entry was written by something else. */
export function decodeValue<T>(json: string): T {
  try {
    return JSON.parse(json) as T;
  } catch (error) {
    throw keyValueError('kv_entry_corrupt', 'A stored key-value entry is not valid JSON', {}, error);
  }
}

/** Milliseconds for a `ttlSeconds` / `windowSeconds` option, rejecting values that are not a usable duration. */
export function durationMillis(seconds: unknown, option: 'ttlSeconds' | 'windowSeconds'): number {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_TTL_SECONDS) {
    throw keyValueError(
      'kv_ttl_invalid',
      `${option} must be a finite number of seconds > 0 and ≤ ${MAX_TTL_SECONDS}, got ${String(seconds)}`,
      { option },
    );
  }
  return Math.max(1, Math.round(seconds * 1000));
}

/** Milliseconds of the `ttlSeconds` option, or `undefined` when the entry should never expire. */
export function ttlMillis(options: { ttlSeconds?: number } | undefined): number | undefined {
  return options?.ttlSeconds === undefined ? undefined : durationMillis(options.ttlSeconds, 'ttlSeconds');
}

/** The expiry instant (epoch ms) of a write at `nowMs`, or `undefined` when it never expires. */
export function expiryMillis(nowMs: number, ttlMs: number | undefined): number | undefined {
  return ttlMs === undefined ? undefined : nowMs + ttlMs;
}

/** True when an entry with this expiry no longer exists at `nowMs`. */
export function isExpired(expiresAtMs: number | undefined, nowMs: number): boolean {
  return expiresAtMs !== undefined && nowMs >= expiresAtMs;
}

/**
 * The next state of a fixed-window counter. `current` is the live entry under the key (already
 * filtered for expiry) or undefined. A live entry counts as the running window only if it is a
 * counter: a non-negative integer with an expiry.
 */
export function nextCounter(
  current: { json: string; expiresAtMs: number | undefined } | undefined,
  nowMs: number,
  windowMs: number,
): { count: number; resetAtMs: number } {
  if (current === undefined) return { count: 1, resetAtMs: nowMs + windowMs };
  const count: unknown = decodeValue(current.json);
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0 || current.expiresAtMs === undefined) {
    throw keyValueError(
      'kv_not_a_counter',
      'increment() found a value that is not a counter under this key; use a separate key for counters',
    );
  }
  return { count: count + 1, resetAtMs: current.expiresAtMs };
}
