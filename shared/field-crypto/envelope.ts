import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fieldCryptoError } from './errors.js';

/**
 * Envelope encryption of one text value. A fresh 256-bit data key encrypts the value (AES-256-GCM);
 * the key-encryption key (KEK) named by `kid` wraps the data key (AES-256-GCM too). Stored as
 *
 *   v1.<kid>.<wrappedKey>.<iv>.<ciphertext>.<tag>      (base64url parts; wrappedKey = iv|key|tag)
 *
 * The value's AAD is its `context` (`email:<accountId>`, `payout-destination:<accountId>`): a
 * ciphertext pasted into another account's row does not open. The context names a purpose and an
 * owner, not a table and row, so a stage may copy a channel's destination into a payout row without
 * holding a key. The wrap's AAD adds the version and kid, so re-wrapping under a new KEK
 * (`rewrapField`) leaves the value's iv, ciphertext and tag untouched.
 */
export interface KeyRing {
  /** Key id new values are wrapped with (the first of FIELD_ENCRYPTION_KEYS). */
  currentKid: string;
  /** Every KEK this instance may unwrap with, by key id; each 32 bytes. */
  keys: ReadonlyMap<string, Buffer>;
}

export const FIELD_FORMAT_VERSION = 'v1';
/** What every stored value looks like; the migrations' CHECKs use the same pattern. */
export const ENCRYPTED_FIELD_PATTERN = /^v1\.[a-z0-9]{1,16}\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/;

const IV_BYTES = 12;
const KEY_BYTES = 32;

function seal(key: Buffer, plain: Buffer, aad: string): { iv: Buffer; data: Buffer; tag: Buffer } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { iv, data, tag: cipher.getAuthTag() };
}

function open(key: Buffer, iv: Buffer, data: Buffer, tag: Buffer, aad: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

function wrapAad(kid: string, context: string): string {
  return `${FIELD_FORMAT_VERSION}.${kid}|${context}`;
}

function kekOf(ring: KeyRing, kid: string): Buffer {
  const kek = ring.keys.get(kid);
  if (!kek) throw fieldCryptoError('field_key_unknown', `no field encryption key with id ${kid} is configured`, { kid });
  return kek;
}

function wrap(ring: KeyRing, dataKey: Buffer, context: string): string {
  const sealed = seal(kekOf(ring, ring.currentKid), dataKey, wrapAad(ring.currentKid, context));
  return Buffer.concat([sealed.iv, sealed.data, sealed.tag]).toString('base64url');
}

interface Parsed {
  kid: string;
  wrapped: Buffer;
  iv: Buffer;
  data: Buffer;
  tag: Buffer;
}

function parse(stored: string): Parsed {
  if (!ENCRYPTED_FIELD_PATTERN.test(stored)) throw fieldCryptoError('field_decryption_failed', 'stored value is not an encrypted field', {});
  const [, kid = '', wrapped = '', iv = '', data = '', tag = ''] = stored.split('.');
  const b = (part: string) => Buffer.from(part, 'base64url');
  return { kid, wrapped: b(wrapped), iv: b(iv), data: b(data), tag: b(tag) };
}

function unwrap(ring: KeyRing, parsed: Parsed, context: string): Buffer {
  const kek = kekOf(ring, parsed.kid);
  const w = parsed.wrapped;
  try {
    return open(kek, w.subarray(0, IV_BYTES), w.subarray(IV_BYTES, IV_BYTES + KEY_BYTES), w.subarray(IV_BYTES + KEY_BYTES), wrapAad(parsed.kid, context));
  } catch (cause) {
    throw fieldCryptoError('field_decryption_failed', 'the data key did not unwrap (wrong key or context)', { kid: parsed.kid }, cause);
  }
}

/** Encrypts `value` for `context` under the ring's current key. Every call gives a different ciphertext. */
export function encryptField(ring: KeyRing, value: string, context: string): string {
  const dataKey = randomBytes(KEY_BYTES);
  const sealed = seal(dataKey, Buffer.from(value, 'utf8'), context);
  const parts = [FIELD_FORMAT_VERSION, ring.currentKid, wrap(ring, dataKey, context), sealed.iv.toString('base64url'), sealed.data.toString('base64url'), sealed.tag.toString('base64url')];
  return parts.join('.');
}

/** The value `encryptField` sealed for `context`; `field_decryption_failed` for any other context, key or a tampered value. */
export function decryptField(ring: KeyRing, stored: string, context: string): string {
  const parsed = parse(stored);
  const dataKey = unwrap(ring, parsed, context);
  try {
    return open(dataKey, parsed.iv, parsed.data, parsed.tag, context).toString('utf8');
  } catch (cause) {
    throw fieldCryptoError('field_decryption_failed', 'the value did not decrypt (tampered or moved to another context)', { kid: parsed.kid }, cause);
  }
}

/** The key id a stored value is wrapped with. */
export function keyIdOfField(stored: string): string {
  return parse(stored).kid;
}

/**
 * The same value with its data key re-wrapped under the current KEK (key rotation); the value's
 * own ciphertext is kept. Returns `stored` unchanged when it already uses the current key.
 */
export function rewrapField(ring: KeyRing, stored: string, context: string): string {
  const parsed = parse(stored);
  if (parsed.kid === ring.currentKid) return stored;
  const dataKey = unwrap(ring, parsed, context);
  // Checks the value opens too, so a rotation never re-seals a broken value under the new key.
  try {
    open(dataKey, parsed.iv, parsed.data, parsed.tag, context);
  } catch (cause) {
    throw fieldCryptoError('field_decryption_failed', 'the value did not decrypt (tampered or moved to another context)', { kid: parsed.kid }, cause);
  }
  const parts = [FIELD_FORMAT_VERSION, ring.currentKid, wrap(ring, dataKey, context), parsed.iv.toString('base64url'), parsed.data.toString('base64url'), parsed.tag.toString('base64url')];
  return parts.join('.');
}
