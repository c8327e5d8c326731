import { isIP } from 'node:net';
import * as z from 'zod';
import { SEVERITIES } from '../logging/index.js';
import { secret } from './load-config.js';

// Every schema receives a trimmed, non-empty string (`loadConfig` turns '' into unset).

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function urlWithSchemes(secure: readonly string[], local: readonly string[], message: string) {
  return z.string().refine((value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return secure.includes(url.protocol) || (local.includes(url.protocol) && LOCAL_HOSTNAMES.has(url.hostname));
  }, message);
}

/**
 * An https:// URL; http:// only for localhost, 127.0.0.1 or [::1] (simulators). Returned without
 * trailing slashes, so `${base}/path` is always right.
 */
export function httpsUrlVar() {
  return urlWithSchemes(['https:'], ['http:'], 'must be an https:// URL (http:// only for localhost or 127.0.0.1)').transform(
    (value) => value.replace(/\/+$/, ''),
  );
}

/** A base-10 integer in `min..max`; the message names the range, never the value. */
export function integerVar(min: number, max: number, message = `must be an integer ${min}..${max}`) {
  return z
    .string()
    .regex(/^-?\d+$/, message)
    .transform(Number)
    .pipe(z.number().int(message).min(min, message).max(max, message));
}

/**
 * A base-10 whole number in `min..max`, returned as an exact bigint (values beyond 2^53 are never
 * rounded): digits, a leading `-` allowed (the range decides), leading zeros read as base 10. No
 * `+`, decimal point, exponent (`1e6`), hex prefix or separators. The message names the range,
 * never the value.
 */
export function bigintVar(min: bigint, max: bigint, message = `must be an integer ${min}..${max}`) {
  return z
    .string()
    .regex(/^-?\d+$/, message)
    .transform(BigInt)
    .refine((value) => value >= min && value <= max, message);
}

/**
 * A burst alert's threshold, `<count>/<minutes>` (`20/10`: more than 20 within 10 minutes), or with
 * `hasActors` `<count>/<minutes>/<actors>` (`20/10/5`: … for at least 5 distinct addresses). Counts
 * 1..100000, minutes 1..1440, actors 1..1000.
 */
export function burstLimitVar(hasActors = false) {
  const message = hasActors
    ? 'must be <count>/<minutes>/<addresses>, e.g. 20/10/5 (more than 20 within 10 minutes for at least 5 addresses)'
    : 'must be <count>/<minutes>, e.g. 20/10 (more than 20 within 10 minutes)';
  const shape = hasActors ? /^(\d{1,6})\/(\d{1,4})\/(\d{1,4})$/ : /^(\d{1,6})\/(\d{1,4})$/;
  return z
    .string()
    .regex(shape, message)
    .transform((value) => {
      const [maxEvents = 0, windowMinutes = 0, minActors] = value.split('/').map(Number);
      return minActors === undefined ? { maxEvents, windowMinutes } : { maxEvents, windowMinutes, minActors };
    })
    .refine(
      (limit) => limit.maxEvents >= 1 && limit.maxEvents <= 100_000 && limit.windowMinutes >= 1 && limit.windowMinutes <= 1440 && (limit.minActors === undefined || (limit.minActors >= 1 && limit.minActors <= 1000)),
      message,
    );
}

/** Largest amount a cents variable accepts unless it states its own: as before, 2^53 - 1. */
const MAX_CENTS = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * An amount of USD cents (`*_USD_CENTS`, `*_CENTS`) in `min..max` as an exact bigint, ready for
 * money arithmetic: `bigintVar` with a message saying it is whole cents (and the range, when `max`
 * is stated).
 */
export function centsVar(min: bigint, max: bigint = MAX_CENTS) {
  return bigintVar(min, max, max === MAX_CENTS ? 'must be a whole number of USD cents' : `must be a whole number of USD cents, ${min}..${max}`);
}

/** Exactly `true` or `false` (no `1`, `yes` or `TRUE`: a typo must fail, not silently mean false). */
export function booleanVar() {
  return z.enum(['true', 'false'], { message: "must be 'true' or 'false'" }).transform((value) => value === 'true');
}

/** A value with no whitespace inside (API keys, shared secrets). */
function opaqueKey() {
  return z.string().regex(/^\S+$/, 'must not contain whitespace');
}

/** Encodings a random secret may be written in. */
export type SecretEncoding = 'hex' | 'base64' | 'base64url';

/** The fewest random bytes a signing secret may hold: 256 bits, the HMAC-SHA256 key size. */
export const MIN_SECRET_BYTES = 32;

/**
 * How many bytes `value` encodes in one of `encodings`, or undefined when it is none of them. A
 * value made only of hex digits in one case is read as hex, even where it would also be base64
 * (random base64 of 32 bytes practically never is).
 */
export function secretByteLength(value: string, encodings: readonly SecretEncoding[]): number | undefined {
  if (encodings.includes('hex') && /^(?:[0-9a-f]{2})+$|^(?:[0-9A-F]{2})+$/.test(value)) return value.length / 2;
  if (/^[0-9a-fA-F]+$/.test(value)) return undefined;
  const stripped = value.replace(/={1,2}$/, '');
  const padded = stripped !== value;
  const fits =
    (encodings.includes('base64url') && !padded && /^[A-Za-z0-9_-]+$/.test(stripped)) ||
    (encodings.includes('base64') && /^[A-Za-z0-9+/]+$/.test(stripped) && (!padded || value.length % 4 === 0));
  if (!fits || stripped.length % 4 === 1) return undefined;
  return Math.floor((stripped.length * 3) / 4);
}

/**
 * What a person typed rather than a generator made: hex with fewer than 10 distinct digits
 * (`deadbeef…`), base64 without both letter cases or with fewer than 16 distinct characters (a
 * passphrase like `my-jwt-secret-for-the-dashboard`). Random output passes with certainty for all
 * practical purposes; nothing can prove a value random, this only catches the usual mistakes.
 */
function looksHandMade(value: string): boolean {
  const distinct = new Set(value.replace(/=+$/, '')).size;
  if (/^[0-9a-fA-F]+$/.test(value)) return distinct < 10;
  return !/[a-z]/.test(value) || !/[A-Z]/.test(value) || distinct < 16;
}

/**
 * A signing secret of at least `MIN_SECRET_BYTES` random bytes written in one of `encodings`
 * (not a number of characters: `'j'.repeat(32)` is 32 characters and almost no entropy). The message
 * says how to make one with `generate` and never contains the value.
 */
export function randomSecretVar(options: { encodings: readonly SecretEncoding[]; generate: string; maxLength?: number }) {
  const names = options.encodings.join(', ').replace(/, (?=[^,]*$)/, ' or ');
  const message = `must be at least ${MIN_SECRET_BYTES} random bytes written as ${names}; generate one with \`${options.generate}\``;
  return z
    .string()
    .max(options.maxLength ?? 1024, `${message} (at most ${options.maxLength ?? 1024} characters)`)
    .refine((value) => {
      const bytes = secretByteLength(value, options.encodings);
      return bytes !== undefined && bytes >= MIN_SECRET_BYTES && !looksHandMade(value);
    }, message);
}

/** A key id in FIELD_ENCRYPTION_KEYS: stored in every ciphertext, so short and plain. */
const FIELD_KEY_ID = /^[a-z0-9]{1,16}$/;

/**
 * FIELD_ENCRYPTION_KEYS: `kid:key,kid:key…`, each key exactly 32 random bytes (AES-256) as base64,
 * base64url or hex, key ids 1-16 of a-z0-9 and distinct. The first is current (wraps new values);
 * all of them unwrap. → `{ currentKid, keys: [kid, Buffer][] }`. Messages never contain a key.
 */
export function fieldKeysVar() {
  const message =
    'must be kid:key pairs separated by commas (kid: 1-16 of a-z0-9, distinct; key: exactly 32 random bytes as base64, base64url or hex; generate one with `openssl rand -base64 32`), the current key first';
  return z.string().transform((value, ctx) => {
    const entries = value.split(',').map((entry) => entry.trim());
    const keys: [string, Buffer][] = [];
    for (const entry of entries) {
      const colon = entry.indexOf(':');
      const kid = entry.slice(0, colon);
      const key = entry.slice(colon + 1);
      const bytes = secretByteLength(key, ['base64', 'base64url', 'hex']);
      if (colon < 1 || !FIELD_KEY_ID.test(kid) || bytes !== 32 || looksHandMade(key) || keys.some(([seen]) => seen === kid)) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      const isHex = /^(?:[0-9a-f]{2})+$|^(?:[0-9A-F]{2})+$/.test(key);
      keys.push([kid, Buffer.from(key, isHex ? 'hex' : key.includes('-') || key.includes('_') ? 'base64url' : 'base64')]);
    }
    return { currentKid: keys[0]?.[0] ?? '', keys };
  });
}

function isIpOrCidr(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

function hostPort() {
  const message = 'must be host:port with a port 1..65535';
  return z
    .string()
    .regex(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, message)
    .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535, message);
}

/**
 * When the previous value of a rotating secret stops verifying: an ISO-8601 time with a zone
 * (`2026-12-07T10:00:00Z`) → `Date`. Used with a `*_PREVIOUS` variable.
 */
function instantVar() {
  return z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/, 'must be an ISO-8601 time with a zone, e.g. 2026-12-07T10:00:00Z')
    .transform((value) => new Date(value))
    .refine((date) => Number.isFinite(date.getTime()), 'must be an ISO-8601 time with a zone, e.g. 2026-12-07T10:00:00Z');
}

/**
 * A comma-separated list → `string[]` (entries trimmed, blanks dropped), each entry checked; the
 * message names the 1-based position of the first bad entry, never its value. Default `[]`.
 */
function listVar(isValid: (entry: string) => boolean, message: (position: number) => string) {
  return z
    .string()
    .transform((value, ctx) => {
      const entries = value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '');
      const bad = entries.findIndex((entry) => !isValid(entry));
      if (bad === -1) return entries;
      ctx.addIssue({ code: 'custom', message: message(bad + 1) });
      return z.NEVER;
    })
    .default(() => []);
}

/** `scheme://host[:port]` exactly as a browser sends it in `Origin`: no path, query, credentials or wildcard. */
function isExactOrigin(entry: string): boolean {
  if (!URL.canParse(entry) || entry.includes('*')) return false;
  const url = new URL(entry);
  if (url.origin !== entry) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOCAL_HOSTNAMES.has(url.hostname));
}

/** secp256k1 group order: a private key must lie in 1..n-1. */
const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * Schemas for the standard variables. A function declares only what it uses:
 * `loadConfig({ DATABASE_URL: configVars.DATABASE_URL, PLATFORM_FEE_BPS: configVars.PLATFORM_FEE_BPS })`.
 * Variables without a stated default are required; a caller that can do without one (the sandbox
 * uses simulators for unset providers) chains `.optional()`.
 */
export const configVars = {
  /** PostgreSQL URL (`postgres://` or `postgresql://`, Cloud SQL socket form included). Secret. Optional: unset means embedded PGlite; `.unwrap()` for required. */
  DATABASE_URL: secret(z.string().regex(/^postgres(?:ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL')).optional(),
  /** Connections per instance in the pool, 1..50. Default 5. */
  DB_POOL_MAX: integerVar(1, 50).default(5),

  /** NowPayments API base, e.g. `https://api.nowpayments.io/v1` (sandbox: `https://api-sandbox.nowpayments.io/v1`). */
  NOWPAYMENTS_API_URL: httpsUrlVar(),
  /** NowPayments API key (`x-api-key`). Secret. */
  NOWPAYMENTS_API_KEY: secret(opaqueKey()),
  /** NowPayments IPN secret: HMAC-SHA512 key for `x-nowpayments-sig`. Secret. */
  NOWPAYMENTS_IPN_SECRET: secret(opaqueKey()),
  /** The IPN secret NOWPAYMENTS_IPN_SECRET replaced, still accepted until NOWPAYMENTS_IPN_SECRET_PREVIOUS_UNTIL (rotation, docs/security.md). Optional. Secret. */
  NOWPAYMENTS_IPN_SECRET_PREVIOUS: secret(opaqueKey()).optional(),
  /** When NOWPAYMENTS_IPN_SECRET_PREVIOUS stops being accepted, ISO-8601 with a zone. Required while the previous value is set and differs. */
  NOWPAYMENTS_IPN_SECRET_PREVIOUS_UNTIL: instantVar().optional(),
  /** IPs or CIDR ranges allowed to call the IPN webhook, comma-separated → `string[]`. Default `[]` (no IP filter; the signature is always checked). */
  NOWPAYMENTS_IPN_ALLOWED_IPS: listVar(isIpOrCidr, (entry) => `must be a comma-separated list of IP addresses or CIDR ranges (entry ${entry} is not one)`),

  /** ChangeNow API base, e.g. `https://api.changenow.io/v2`. */
  CHANGENOW_API_URL: httpsUrlVar(),
  /** ChangeNow API key (`x-changenow-api-key`). Secret. */
  CHANGENOW_API_KEY: secret(opaqueKey()),

  /** Bot token from @BotFather, `<digits>:<letters, digits, _ or ->`. Secret (it is also in every Bot API URL). */
  TELEGRAM_BOT_TOKEN: secret(
    z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, 'must look like a @BotFather token: digits, a colon, then letters, digits, _ or -'),
  ),
  /** Bot API root; a local Bot API server or the simulator may replace it. Default `https://api.telegram.org`. */
  TELEGRAM_API_ROOT: httpsUrlVar().default('https://api.telegram.org'),
  /**
   * `secret_token` given to setWebhook and checked on `X-Telegram-Bot-Api-Secret-Token`: at least 32
   * random bytes as hex or base64url (Telegram allows only A-Z a-z 0-9 _ -, at most 256 characters),
   * e.g. `openssl rand -hex 32`. Secret.
   */
  TELEGRAM_WEBHOOK_SECRET: secret(randomSecretVar({ encodings: ['hex', 'base64url'], generate: 'openssl rand -hex 32', maxLength: 256 })),
  /** The webhook secret TELEGRAM_WEBHOOK_SECRET replaced, still accepted until TELEGRAM_WEBHOOK_SECRET_PREVIOUS_UNTIL; same rules. Optional. Secret. */
  TELEGRAM_WEBHOOK_SECRET_PREVIOUS: secret(randomSecretVar({ encodings: ['hex', 'base64url'], generate: 'openssl rand -hex 32', maxLength: 256 })).optional(),
  /** When TELEGRAM_WEBHOOK_SECRET_PREVIOUS stops being accepted, ISO-8601 with a zone. Required while the previous value is set and differs. */
  TELEGRAM_WEBHOOK_SECRET_PREVIOUS_UNTIL: instantVar().optional(),
  /** The bot's username (5–32 characters ending in `bot`), with or without `@`; returned without it. Used for botInfo and t.me links. */
  TELEGRAM_BOT_USERNAME: z
    .string()
    .regex(/^@?[A-Za-z][A-Za-z0-9_]{1,28}bot$/i, 'must be a Telegram bot username (5-32 letters, digits or _, ending in "bot")')
    .transform((value) => value.replace(/^@/, '')),

  /**
   * The operator's Telegram chat for operator alerts (notify-operator): a user id (the operator
   * pressed Start in the bot's private chat) or a group/channel id (negative, `-100…`) where the bot
   * may post. Optional: unset, alerts stay CRITICAL log lines and `operator_alerts` rows.
   */
  OPERATOR_ALERT_CHAT_ID: z
    .string()
    .regex(/^-?[1-9][0-9]{0,15}$/, 'must be a Telegram chat id: an integer, negative for groups and channels (-100…)')
    .transform(Number)
    .refine((value) => Number.isSafeInteger(value), 'must be a Telegram chat id: an integer, negative for groups and channels (-100…)')
    .optional(),

  /** Ethereum JSON-RPC endpoint: https:// or wss:// (http/ws only for localhost, e.g. anvil). Secret: provider URLs embed an API key. */
  ETH_RPC_URL: secret(
    urlWithSchemes(['https:', 'wss:'], ['http:', 'ws:'], 'must be an https:// or wss:// URL (http:// or ws:// only for localhost or 127.0.0.1)'),
  ),
  /** EIP-155 chain id the wallet signs for (1 mainnet, 11155111 Sepolia, 31337 anvil); a mismatch with the RPC is a startup error elsewhere. */
  ETH_CHAIN_ID: integerVar(1, Number.MAX_SAFE_INTEGER, 'must be a positive integer chain id'),
  /** Hot wallet private key, `0x` + 64 hex, a valid secp256k1 key. Secret; only the transfer stage declares it. */
  HOST_WALLET_PRIVATE_KEY: secret(
    z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x followed by 64 hex digits')
      .refine((value) => {
        // zod runs every check even after the regex failed; BigInt() of a non-hex value would throw.
        if (!/^0x[0-9a-fA-F]{64}$/.test(value)) return true;
        const key = BigInt(value);
        return key > 0n && key < SECP256K1_ORDER;
      }, 'must be a valid secp256k1 private key'),
  ),

  /** The hot wallet's public address (`0x` + 40 hex): ChangeNow's refund address for swaps. Not secret; must be HOST_WALLET_PRIVATE_KEY's address. */
  HOT_WALLET_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be 0x followed by 40 hex digits'),
  /** Address of the USDT ERC-20 contract on the configured chain (`0x` + 40 hex). Optional: without it USDT_ERC20 payouts are refused. */
  USDT_ERC20_CONTRACT: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be 0x followed by 40 hex digits').optional(),
  /** Highest maxFeePerGas the hot wallet signs, in gwei (integer 1..10000); above it transfers wait. Default 200. */
  MAX_FEE_PER_GAS_GWEI: bigintVar(1n, 10_000n).default(200n),
  /** Blocks a payout transfer needs (its own included) before it counts as final, 1..100. Default 1. */
  PAYOUT_CONFIRMATIONS: integerVar(1, 100).default(1),
  /** Largest single payout sent without an operator's approval, USD cents. No default: a limit must be stated. */
  PAYOUT_MAX_USD_CENTS: centsVar(0n),
  /** Largest share of an ETH payout its network fee may take, in basis points (1..10000); above it the payout waits an hour. Default 1000 (10 %). */
  PAYOUT_MAX_NETWORK_FEE_BPS: bigintVar(1n, 10_000n).default(1000n),
  /** Smallest parking batch (threshold owners' ETH converted to USDT in one swap), USD cents valued at ChangeNow's estimate. Default 5000 ($50): smaller batches wait for the next tick. */
  CONVERSION_MIN_BATCH_USD_CENTS: centsVar(1n).default(5000n),
  /** Most the hot wallet sends in any 24 hours without approval, USD cents. No default: a limit must be stated. */
  PAYOUT_DAILY_CAP_USD_CENTS: centsVar(0n),

  /** IPN signature-failure burst (all IPNs together), `<count>/<minutes>`. Default `20/10`: more than 20 bad signatures within 10 minutes alert `ipn.signature_failures_burst`. */
  IPN_SIGNATURE_FAILURE_ALERT: burstLimitVar().default({ maxEvents: 20, windowMinutes: 10 }),
  /** Login-failure burst per network (/24 IPv4, /64 IPv6), `<count>/<minutes>/<addresses>`. Default `20/10/5`: more than 20 failed logins for at least 5 addresses within 10 minutes alert `auth.login_failures_burst`. */
  LOGIN_FAILURE_ALERT: burstLimitVar(true).default({ maxEvents: 20, windowMinutes: 10, minActors: 5 }),
  /** Failed-payment burst per channel (failed, expired, underpaid beyond tolerance), `<count>/<minutes>`. Default `10/60`: more than 10 such payments within an hour alert `payments.failures_burst`. */
  PAYMENT_FAILURE_ALERT: burstLimitVar().default({ maxEvents: 10, windowMinutes: 60 }),
  /** Minutes a burst alert stays quiet for its subject after it was raised, 1..10080. Default 60. */
  BURST_ALERT_COOL_DOWN_MINUTES: integerVar(1, 10_080).default(60),

  /** Lowest tier price (and lowest donation minimum) an owner may set, USD cents, 1..10000000. Default 499 ($4.99): below it processor fees eat the payment. */
  MIN_TIER_PRICE_CENTS: centsVar(1n, 10_000_000n).default(499n),
  /** Lowest threshold an owner may set for threshold payouts, USD cents, 1..100000000. Default 2000 ($20): smaller payouts lose too much to network fees. */
  MIN_PAYOUT_THRESHOLD_CENTS: centsVar(1n, 100_000_000n).default(2000n),

  /** Platform fee in basis points (300 = 3 %), integer 0..10000. No default: a fee must be stated. */
  PLATFORM_FEE_BPS: integerVar(0, 10000),
  /** HMAC key for dashboard JWTs: at least 32 random bytes as base64, base64url or hex, e.g. `openssl rand -base64 32`. Secret. */
  JWT_SECRET: secret(randomSecretVar({ encodings: ['base64', 'base64url', 'hex'], generate: 'openssl rand -base64 32' })),
  /** The JWT key JWT_SECRET replaced: verifies (never signs) tokens and device tokens until JWT_SECRET_PREVIOUS_UNTIL; same rules. Optional. Secret. */
  JWT_SECRET_PREVIOUS: secret(randomSecretVar({ encodings: ['base64', 'base64url', 'hex'], generate: 'openssl rand -base64 32' })).optional(),
  /** When JWT_SECRET_PREVIOUS stops verifying, ISO-8601 with a zone: at least the access-token lifetime (15 min) after the switch. Required while the previous value is set and differs. */
  JWT_SECRET_PREVIOUS_UNTIL: instantVar().optional(),
  /** Key-encryption keys for fields encrypted at rest (emails, payout wallets): `kid:key,…`, 32 random bytes each, current first; the others only unwrap until `npm run reencrypt` moved every value off them (docs/security.md#field-encryption). Secret. */
  FIELD_ENCRYPTION_KEYS: secret(fieldKeysVar()),
  /** HMAC key of the blind indexes beside encrypted fields (email login, wallet equality): at least 32 random bytes as base64, base64url or hex. Never rotates without rebuilding every index. Secret. */
  FIELD_BLIND_INDEX_KEY: secret(randomSecretVar({ encodings: ['base64', 'base64url', 'hex'], generate: 'openssl rand -base64 32' })),
  /**
   * Key the owner webhooks' per-endpoint signing secrets are derived from (HMAC of endpoint id and
   * secret version; docs/webhooks.md): at least 32 random bytes as base64, base64url or hex, e.g.
   * `openssl rand -base64 32`. Changing it changes every endpoint's secret at once. Secret.
   */
  OWNER_WEBHOOK_SIGNING_KEY: secret(randomSecretVar({ encodings: ['base64', 'base64url', 'hex'], generate: 'openssl rand -base64 32' })),
  /**
   * Where JWT_SECRET, TELEGRAM_WEBHOOK_SECRET and NOWPAYMENTS_IPN_SECRET come from: `env` (default:
   * these variables and their `*_PREVIOUS`), or `secret-manager`: read at run time from the secret
   * of the same kebab-case name in GOOGLE_CLOUD_PROJECT through its `current` and `previous`
   * version aliases, cached 5 minutes, so a rotation needs no redeploy (docs/security.md).
   */
  SECRETS_SOURCE: z.enum(['env', 'secret-manager'], { message: "must be 'env' or 'secret-manager'" }).default('env'),
  /** Public origin of the gateway (IPN callback, dashboard links), https:// (http only for localhost); no trailing slash. */
  PUBLIC_BASE_URL: httpsUrlVar(),
  /**
   * Browser origins allowed to call the dashboard API (CORS) and to use its refresh cookie (CSRF
   * check), comma-separated → `string[]`: exact `scheme://host[:port]` origins, https (http only for
   * localhost), no paths, no wildcard. Default `[]` (no browser origin allowed). The dashboard
   * function refuses http:// origins altogether on Cloud Run.
   */
  DASHBOARD_CORS_ORIGINS: listVar(
    isExactOrigin,
    (entry) => `must be a comma-separated list of origins like https://dashboard.example.com (entry ${entry} is not one; http:// only for localhost)`,
  ),
  /** Outgoing mail server, `smtp://` or `smtps://` with credentials (`smtps://user:pass@smtp.example.com:465`). Secret. Optional in the sandbox (mail goes to the local outbox); required on Cloud Run. */
  SMTP_URL: secret(
    z.string().refine((value) => URL.canParse(value) && ['smtp:', 'smtps:'].includes(new URL(value).protocol), 'must be an smtp:// or smtps:// URL'),
  ),
  /** Sender of account mails, an address or `Name <address>`, e.g. `PayGatePrime <no-reply@paygateprime.com>`. */
  MAIL_FROM: z.string().regex(/^(?:[^<>\r\n]{1,64} <[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/, 'must be an address or "Name <address>"'),

  /**
   * Proxies in front of the public functions that append to `X-Forwarded-For`, integer 0..5: the
   * client IP (per-IP limits, the IPN allowlist) is the entry this many places from the right.
   * Function URL called directly = 1 (Google's front end); behind a Firebase Hosting rewrite = 2;
   * behind an external HTTPS load balancer with a serverless NEG = 2; 0 = the socket address (local).
   * Optional: unset = 1 on Cloud Run (`K_SERVICE` set), else 0 (`trustedProxyHopsOf`, shared/http-entry).
   */
  TRUSTED_PROXY_HOPS: integerVar(0, 5).optional(),
  /** Google Cloud project id. Optional: unset locally. Set explicitly at deploy (current Node runtimes do not set it). */
  GOOGLE_CLOUD_PROJECT: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a Google Cloud project id (6-30 lowercase letters, digits or hyphens)')
    .optional(),
  /** Pub/Sub emulator `host:port`. Optional: when set, Pub/Sub clients talk to the emulator. */
  PUBSUB_EMULATOR_HOST: hostPort().optional(),
  /** Firestore emulator `host:port`. Optional: when set, Firestore clients talk to the emulator. */
  FIRESTORE_EMULATOR_HOST: hostPort().optional(),
  /** HTTP port of the local runner (Cloud Run sets it in production), 1..65535. Default 8080. */
  PORT: integerVar(1, 65535).default(8080),
  /** Minimum log severity (any case), e.g. `DEBUG`. Optional; the root logger reads it itself and defaults to INFO. */
  LOG_LEVEL: z
    .string()
    .transform((value) => value.toUpperCase())
    .pipe(z.enum(SEVERITIES, { message: `must be one of ${SEVERITIES.join(', ')}` }))
    .optional(),
};
