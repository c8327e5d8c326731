import { bech32, bech32m } from 'bech32';

/**
 * Native segwit addresses (BIP-173 bech32 for witness version 0, BIP-350 bech32m for versions 1–16), decoded
 * without any network policy: callers decide which human-readable part, versions and program lengths they pay to.
 */
export type SegwitDecoded =
  | { isValid: true; hrp: string; version: number; program: Uint8Array; address: string }
  | { isValid: false; problem: SegwitProblem; badCharacterIndex?: number };

export type SegwitProblem =
  | 'mixed_case'
  | 'bad_character'
  | 'too_long'
  | 'bad_checksum'
  | 'wrong_checksum_variant'
  | 'bad_version'
  | 'bad_program_length';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
/** BIP-173: a whole address is at most 90 characters. */
const MAX_LENGTH = 90;

/**
 * Decodes a segwit address and checks what BIP-173/350 require of every network: one case throughout, bech32 for
 * version 0 and bech32m for 1–16, a version of at most 16, a program of 2–40 bytes (20 or 32 for version 0), and
 * zero padding of at most 4 bits. Returns the lowercase form.
 */
export function decodeSegwitAddress(text: string): SegwitDecoded {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return { isValid: false, problem: 'mixed_case' };
  if (text.length > MAX_LENGTH) return { isValid: false, problem: 'too_long' };
  const address = text.toLowerCase();
  const separator = address.lastIndexOf('1');
  for (let i = separator + 1; i < address.length; i += 1) {
    if (!CHARSET.includes(address.charAt(i))) return { isValid: false, problem: 'bad_character', badCharacterIndex: i };
  }
  const asBech32 = bech32.decodeUnsafe(address, MAX_LENGTH);
  const asBech32m = asBech32 === undefined ? bech32m.decodeUnsafe(address, MAX_LENGTH) : undefined;
  const decoded = asBech32 ?? asBech32m;
  if (decoded === undefined) return { isValid: false, problem: 'bad_checksum' };
  const [version, ...programWords] = decoded.words;
  if (version === undefined || version > 16) return { isValid: false, problem: 'bad_version' };
  // BIP-350: version 0 keeps the bech32 checksum, every later version uses bech32m.
  if ((version === 0) !== (asBech32 !== undefined)) return { isValid: false, problem: 'wrong_checksum_variant' };
  const program = bech32.fromWordsUnsafe(programWords);
  if (program === undefined || program.length < 2 || program.length > 40) return { isValid: false, problem: 'bad_program_length' };
  if (version === 0 && program.length !== 20 && program.length !== 32) return { isValid: false, problem: 'bad_program_length' };
  return { isValid: true, hrp: decoded.prefix, version, program: Uint8Array.from(program), address };
}
