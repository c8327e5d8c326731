import { sha256 } from '@noble/hashes/sha256';

/**
 * Base58 and Base58Check (version byte(s) + payload + the first 4 bytes of SHA-256(SHA-256(...))), as used by
 * Bitcoin, Litecoin, Dogecoin, TRON and (with its own alphabet) the XRP Ledger.
 *
 * Ours rather than ethers' `decodeBase58`, which returns a bigint and so loses the leading zero bytes that carry a
 * version byte of 0x00 (Bitcoin P2PKH, XRP), and knows only the Bitcoin alphabet.
 */

/** Bitcoin's alphabet: no 0, O, I or l. */
export const BITCOIN_BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** The XRP Ledger's alphabet, the same 58 characters in another order (so `r` encodes zero). */
export const XRP_BASE58_ALPHABET = 'rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz';

const CHECKSUM_BYTES = 4;

export type Base58Decoded = { isValid: true; bytes: Uint8Array } | { isValid: false; badCharacterIndex: number };

/**
 * Decodes base58 text. Each leading "zero" character (`1`, or `r` for XRP) is one leading zero byte. Fails with the
 * index of the first character outside the alphabet. The empty string decodes to no bytes.
 */
export function decodeBase58(text: string, alphabet: string = BITCOIN_BASE58_ALPHABET): Base58Decoded {
  let value = 0n;
  let leadingZeros = 0;
  let isLeading = true;
  for (let i = 0; i < text.length; i += 1) {
    const digit = alphabet.indexOf(text.charAt(i));
    if (digit < 0) return { isValid: false, badCharacterIndex: i };
    if (isLeading && digit === 0) leadingZeros += 1;
    else isLeading = false;
    value = value * 58n + BigInt(digit);
  }
  const body: number[] = [];
  while (value > 0n) {
    body.push(Number(value & 0xffn));
    value >>= 8n;
  }
  const bytes = new Uint8Array(leadingZeros + body.length);
  body.reverse().forEach((byte, i) => {
    bytes[leadingZeros + i] = byte;
  });
  return { isValid: true, bytes };
}

/** Encodes bytes as base58; the inverse of `decodeBase58`. */
export function encodeBase58(bytes: Uint8Array, alphabet: string = BITCOIN_BASE58_ALPHABET): string {
  let leadingZeros = 0;
  while (leadingZeros < bytes.length && bytes[leadingZeros] === 0) leadingZeros += 1;
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let body = '';
  while (value > 0n) {
    body = alphabet.charAt(Number(value % 58n)) + body;
    value /= 58n;
  }
  return alphabet.charAt(0).repeat(leadingZeros) + body;
}

/** The first four bytes of SHA-256(SHA-256(data)). */
export function base58Checksum(data: Uint8Array): Uint8Array {
  return sha256(sha256(data)).slice(0, CHECKSUM_BYTES);
}

export type Base58CheckDecoded =
  | { isValid: true; payload: Uint8Array }
  | { isValid: false; problem: 'bad_character'; badCharacterIndex: number }
  | { isValid: false; problem: 'too_short' | 'bad_checksum' };

/**
 * Decodes Base58Check text into its payload (version bytes included, checksum removed). A payload of any length is
 * returned; callers check the length and version their network expects.
 */
export function decodeBase58Check(text: string, alphabet: string = BITCOIN_BASE58_ALPHABET): Base58CheckDecoded {
  const decoded = decodeBase58(text, alphabet);
  if (!decoded.isValid) return { isValid: false, problem: 'bad_character', badCharacterIndex: decoded.badCharacterIndex };
  const { bytes } = decoded;
  if (bytes.length <= CHECKSUM_BYTES) return { isValid: false, problem: 'too_short' };
  const payload = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  const expected = base58Checksum(payload);
  const actual = bytes.subarray(bytes.length - CHECKSUM_BYTES);
  if (!expected.every((byte, i) => byte === actual[i])) return { isValid: false, problem: 'bad_checksum' };
  return { isValid: true, payload: new Uint8Array(payload) };
}

/** Encodes a payload (version bytes included) as Base58Check; the inverse of `decodeBase58Check`. */
export function encodeBase58Check(payload: Uint8Array, alphabet: string = BITCOIN_BASE58_ALPHABET): string {
  const checksum = base58Checksum(payload);
  const full = new Uint8Array(payload.length + CHECKSUM_BYTES);
  full.set(payload);
  full.set(checksum, payload.length);
  return encodeBase58(full, alphabet);
}
