import { PermanentError } from '../errors/index.js';
import { idError } from './errors.js';

/**
 * Prefix of each kind of id shown outside the database (logs, NowPayments `order_id`, Telegram deep
 * links, the dashboard). The prefix says what the id names, so a payment id pasted where a payout id
 * is expected is refused instead of looked up.
 */
export const PUBLIC_ID_PREFIXES = {
  account: 'acc',
  channel: 'ch',
  tier: 'tier',
  checkout: 'chk',
  payment: 'pay',
  subscription: 'sub',
  payout: 'po',
  batch: 'cb',
  swap: 'swp',
  transfer: 'ctx',
  invite: 'inv',
  ledgerTransaction: 'ltx',
  session: 'ses',
  promoCode: 'pc',
  webhookEndpoint: 'we',
  webhookEvent: 'evt',
  webhookDelivery: 'whd',
} as const;

export type PublicIdKind = keyof typeof PUBLIC_ID_PREFIXES;

/** Length of the encoded body: base64url of the 16 uuid bytes, unpadded. */
const BODY_LENGTH = 22;
const BODY_PATTERN = /^[A-Za-z0-9_-]{22}$/;
// RFC 9562 uuids only (variant 10xx, versions 1–8): gen_random_uuid() gives v4, the app may use v7.
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function isPublicIdKind(kind: unknown): kind is PublicIdKind {
  return typeof kind === 'string' && Object.hasOwn(PUBLIC_ID_PREFIXES, kind);
}

function invalidId(kind: unknown, reason: string, text?: unknown): PermanentError {
  return idError('invalid_id', `Invalid ${isPublicIdKind(kind) ? kind : 'public'} id: ${reason}`, {
    kind: isPublicIdKind(kind) ? kind : String(kind).slice(0, 32),
    ...(typeof text === 'string' ? { length: text.length } : { type: text === null ? 'null' : typeof text }),
  });
}

/**
 * The public form of a row id: `<prefix>_<22 base64url chars>`, e.g. `chk_Ehz5dX8hQSeMc0Q8m0Q2Xw`.
 * At most 27 characters and only `[A-Za-z0-9_-]`, so it fits a Telegram deep-link payload
 * (`[A-Za-z0-9_-]{1,64}`) with room for a short prefix of our own. The id carries no checksum:
 * it names a row, it grants nothing, and an altered id simply finds no row.
 *
 * @throws PermanentError `invalid_id` when `kind` is unknown or `uuid` is not an RFC 9562 uuid.
 */
export function formatPublicId(kind: PublicIdKind, uuid: string): string {
  if (!isPublicIdKind(kind)) throw invalidId(kind, 'unknown kind');
  const normalized = typeof uuid === 'string' ? uuid.toLowerCase() : '';
  if (!UUID_PATTERN.test(normalized)) throw invalidId(kind, 'not a uuid', uuid);
  const body = Buffer.from(normalized.replaceAll('-', ''), 'hex').toString('base64url');
  return `${PUBLIC_ID_PREFIXES[kind]}_${body}`;
}

/**
 * The uuid (lower-case, hyphenated) named by a public id of the given kind. Accepts exactly what
 * `formatPublicId` produces: the right prefix, 22 canonical base64url characters, an RFC 9562 uuid.
 * Never throws anything else, whatever `text` is.
 *
 * @throws PermanentError `invalid_id` for another kind's id, a malformed or non-canonical body, or a
 *   value that is not a string.
 */
export function parsePublicId(kind: PublicIdKind, text: unknown): string {
  if (!isPublicIdKind(kind)) throw invalidId(kind, 'unknown kind', text);
  if (typeof text !== 'string') throw invalidId(kind, 'not a string', text);
  const prefix = `${PUBLIC_ID_PREFIXES[kind]}_`;
  if (!text.startsWith(prefix)) throw invalidId(kind, `expected an id starting with ${prefix}`, text);
  const body = text.slice(prefix.length);
  if (body.length !== BODY_LENGTH || !BODY_PATTERN.test(body)) {
    throw invalidId(kind, `expected ${BODY_LENGTH} base64url characters after ${prefix}`, text);
  }
  const bytes = Buffer.from(body, 'base64url');
  // The last character carries 4 unused bits; only the canonical spelling (zeros) is accepted, so
  // one uuid has exactly one public id.
  if (bytes.length !== 16 || bytes.toString('base64url') !== body) throw invalidId(kind, 'not canonical', text);
  const hex = bytes.toString('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  if (!UUID_PATTERN.test(uuid)) throw invalidId(kind, 'not a uuid', text);
  return uuid;
}
