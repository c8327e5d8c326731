import { AppError } from '../errors/index.js';

/** What a redacted value or fragment is replaced with. */
const REDACTED = '[REDACTED]';

/**
 * Secret-looking key names, matched case-insensitively against the key with `_` and `-` removed,
 * anywhere in the name (`hostWalletPrivateKey`, `x-api-key`, `DATABASE_URL`). Matching is broad on
 * purpose: a redacted harmless field costs a little debugging, a leaked key costs the wallet. One
 * consequence: name an ERC-20 contract `contractAddress`, not `tokenAddress`.
 * Signatures (`x-nowpayments-sig`) are not secrets and stay visible.
 */
const SECRET_KEY_PATTERN =
  /password|passwd|passphrase|secret|token|apikey|authorization|cookie|privatekey|privkey|signingkey|credential|mnemonic|seed|jwt|refresh|session|databaseurl|connectionstring/;

/**
 * Keys whose 64-hex values are public hashes (`txHash`, `blockHash`, `txid`), exempt from the
 * 64-hex private-key pattern. A private key still never prints there when it is a registered secret.
 */
const HASH_KEY_PATTERN = /(hash|hashes|txid|txids)$/;

/**
 * `scheme://user:password@` → `scheme://user:[REDACTED]@`; greedy up to the last `@` of the authority.
 * The scheme is bounded so a long run of `a.a.a…` cannot make the scan quadratic.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/?#@]*):[^\s/?#]*@/gi;
/** `?password=…`, `&apikey=…` and friends in query strings (libpq URLs, RPC URLs). */
const QUERY_SECRET = /([?&;](?:password|pass|pwd|sslpassword|api[_-]?key|key|token|secret|access_token)=)[^&\s#]*/gi;
/** Bot API paths carry the token: `/bot123:ABC/sendMessage`, `/file/bot123:ABC/…`. */
const BOT_API_PATH = /\/bot\d+:[^/\s?#]*/gi;
const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const TELEGRAM_BOT_TOKEN = /\d{6,12}:[A-Za-z0-9_-]{30,}/g;
const HEX_PRIVATE_KEY = /\b(?:0x)?[0-9a-fA-F]{64}\b/g;

/** Registered values shorter than this are ignored: they would blank out ordinary words and numbers. */
const MIN_SECRET_LENGTH = 6;
const MAX_DEPTH = 12;
/** Longer strings are cut (after redaction) so one line stays well under Cloud Logging's 256 KB entry limit. */
const MAX_STRING_LENGTH = 16_384;

// Module state by design: secrets are registered once per cold start (by `loadConfig`) and every
// logger in the process must redact them, including loggers created before registration.
const secretValues = new Set<string>();
let secretsLongestFirst: string[] = [];

/**
 * Adds known secret values (API keys, the IPN secret, the wallet key…) to redact wherever they
 * appear as a substring of a logged string. `undefined` and values shorter than 6 characters are
 * ignored. `loadConfig` calls this for every variable declared with `secret()`.
 */
export function registerSecretValues(values: Iterable<string | undefined>): void {
  let changed = false;
  for (const value of values) {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || secretValues.has(value)) continue;
    secretValues.add(value);
    changed = true;
  }
  // Longest first, so a secret that contains another is removed whole.
  if (changed) secretsLongestFirst = [...secretValues].sort((a, b) => b.length - a.length);
}

/** Verdicts of `isSecretKey` by key: a process logs the same few dozen field names over and over. */
const secretKeyVerdicts = new Map<string, boolean>();
const MAX_REMEMBERED_KEYS = 1_000;

/** True when a field with this name must never be logged. */
function isSecretKey(key: string): boolean {
  let verdict = secretKeyVerdicts.get(key);
  if (verdict === undefined) {
    verdict = SECRET_KEY_PATTERN.test(key.toLowerCase().replace(/[-_]/g, ''));
    // Bounded: keys can come from logged data (a payload's fields), not only from our code.
    if (secretKeyVerdicts.size < MAX_REMEMBERED_KEYS) secretKeyVerdicts.set(key, verdict);
  }
  return verdict;
}

/**
 * False when no pattern of `redactString` can match `text`: each needs a ':' (URL passwords, bot
 * tokens and Bot API paths), a '=' (query secrets), 'eyJ' (JWTs) or 64 characters (hex keys). Most
 * logged strings (ids, statuses, event names, keys) are short and hold none, and skip six scans.
 */
function mayHoldSecretPattern(text: string): boolean {
  return text.length >= 64 || text.includes(':') || text.includes('=') || text.includes('eyJ');
}

function redactString(text: string, options: { allowHashes?: boolean } = {}): string {
  let out = text;
  for (const secret of secretsLongestFirst) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  if (!mayHoldSecretPattern(out)) return out;
  out = out
    .replace(URL_PASSWORD, `$1:${REDACTED}@`)
    .replace(QUERY_SECRET, `$1${REDACTED}`)
    .replace(BOT_API_PATH, `/bot${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(TELEGRAM_BOT_TOKEN, REDACTED);
  if (!options.allowHashes) out = out.replace(HEX_PRIVATE_KEY, REDACTED);
  return out.length > MAX_STRING_LENGTH ? `${out.slice(0, MAX_STRING_LENGTH)}…[${out.length - MAX_STRING_LENGTH} more characters]` : out;
}

function describeBytes(value: ArrayBufferView | ArrayBuffer): string {
  // Raw bytes are never printed: a 32-byte buffer may well be a private key.
  const name = value.constructor?.name ?? 'Bytes';
  return `[${name}(${value.byteLength})]`;
}

function serializeError(error: Error, ancestors: object[], depth: number, withCause: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { name: redactString(String(error.name)), message: redactString(String(error.message)) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (error instanceof AppError && Object.keys(error.context).length > 0) {
    out.context = walk(error.context, 'context', ancestors, depth + 1);
  }
  if (typeof error.stack === 'string') out.stack = redactString(error.stack);
  if (withCause && error.cause !== undefined) {
    // One level only: a cause chain can be long, and the outermost error already says what failed.
    out.cause =
      error.cause instanceof Error
        ? serializeError(error.cause, ancestors, depth + 1, false)
        : walk(error.cause, 'cause', ancestors, depth + 1);
  }
  return out;
}

function walk(value: unknown, key: string | undefined, ancestors: object[], depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return redactString(value, { allowHashes: key !== undefined && HASH_KEY_PATTERN.test(key.toLowerCase()) });
    case 'bigint':
      return value.toString();
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'symbol':
      return redactString(value.toString());
    case 'function':
      return `[Function ${value.name || 'anonymous'}]`;
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.includes(object)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  ancestors.push(object);
  try {
    if (object instanceof Error) return serializeError(object, ancestors, depth, true);
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
    if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) return describeBytes(object);
    if (Array.isArray(object)) return object.map((item) => walk(item, key, ancestors, depth + 1));
    if (object instanceof Set) return [...object].map((item) => walk(item, key, ancestors, depth + 1));
    if (object instanceof Map) return walkEntries([...object.entries()].map(([k, v]) => [String(k), v]), ancestors, depth);
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return walk(toJSON.call(object), key, ancestors, depth + 1);
    return walkEntries(Object.keys(object).map((k) => [k, readProperty(object, k)]), ancestors, depth);
  } finally {
    ancestors.pop();
  }
}

function readProperty(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return '[Unreadable]';
  }
}

function walkEntries(entries: [string, unknown][], ancestors: object[], depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, item] of entries) {
    const key = redactString(rawKey);
    if (isSecretKey(rawKey) && item !== undefined && item !== null) out[key] = REDACTED;
    else out[key] = walk(item, rawKey, ancestors, depth + 1);
  }
  return out;
}

/**
 * A JSON-safe copy of `value` with secrets removed — exactly what the logger writes:
 * - values under secret-named keys become `"[REDACTED]"` (see `isSecretKey`), at any depth;
 * - inside every string: registered secret values, URL passwords (`postgres://user:[REDACTED]@host`),
 *   JWTs, Telegram bot tokens and Bot API paths, and 64-hex private keys (`0x` optional; not under
 *   `…hash`/`txid` keys, which hold public hashes) become `[REDACTED]`;
 * - an `Error` becomes `{ name, message, code?, context?, stack?, cause? }` (`context` of an
 *   `AppError`, `cause` one level deep); bigint becomes a decimal string; a `Date` its ISO string;
 *   bytes a `[Uint8Array(32)]` placeholder; a circular reference `"[Circular]"`; strings past 16 KiB
 *   are cut (after redaction, so a cut never exposes part of a secret).
 * A throwing getter becomes `"[Unreadable]"`; only a throwing `toJSON` or a hostile Proxy can make
 * this throw, and the logger catches that and writes a fallback line.
 */
export function redact(value: unknown): unknown {
  return walk(value, undefined, [], 0);
}
