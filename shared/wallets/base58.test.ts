import { decodeBase58 as ethersDecodeBase58, encodeBase58 as ethersEncodeBase58, sha256, getBytes } from 'ethers';
import { describe, expect, it } from 'vitest';
import {
  BITCOIN_BASE58_ALPHABET,
  XRP_BASE58_ALPHABET,
  base58Checksum,
  decodeBase58,
  decodeBase58Check,
  encodeBase58,
  encodeBase58Check,
} from './base58.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fromHex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

describe('decodeBase58', () => {
  it.each([
    ['', ''],
    ['1', '00'],
    ['11', '0000'],
    ['2', '01'],
    ['z', '39'],
    ['21', '3a'],
    ['5Q', 'ff'],
    ['1112', '00000001'],
    // Bitcoin's genesis address: version 0x00, hash160, checksum.
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', '0062e907b15cbf27d5425399ebf6f0fb50ebb88f18c29b7d93'],
  ])('decodes %j to %s', (text, bytes) => {
    const decoded = decodeBase58(text);
    expect(decoded.isValid && hex(decoded.bytes)).toBe(bytes);
  });

  it('keeps each leading 1 as a zero byte, which a bigint decoder would drop', () => {
    const decoded = decodeBase58('11111111111111111111111111111111');
    expect(decoded.isValid && decoded.bytes).toEqual(new Uint8Array(32));
  });

  it.each([
    ['0', 0],
    ['O', 0],
    ['I', 0],
    ['l', 0],
    ['abc0', 3],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN+', 33],
  ])('refuses %j at character index %i', (text, index) => {
    expect(decodeBase58(text)).toEqual({ isValid: false, badCharacterIndex: index });
  });

  it('reads the XRP alphabet, where r is zero', () => {
    const decoded = decodeBase58('rrrrrrrrrrrrrrrrrrrrrhoLvTp', XRP_BASE58_ALPHABET);
    expect(decoded.isValid && hex(decoded.bytes)).toBe(`${'00'.repeat(21)}${hex(base58Checksum(new Uint8Array(21)))}`);
  });

  it('agrees with ethers on byte strings without leading zeros', () => {
    for (const text of ['ff', '0102030405', 'deadbeefcafebabe', '62e907b15cbf27d5425399ebf6f0fb50ebb88f18c29b7d93']) {
      const encoded = ethersEncodeBase58(`0x${text}`);
      expect(encodeBase58(fromHex(text))).toBe(encoded);
      const decoded = decodeBase58(encoded);
      expect(decoded.isValid && BigInt(`0x${hex(decoded.bytes)}`)).toBe(ethersDecodeBase58(encoded));
    }
  });
});

describe('encodeBase58', () => {
  it('round-trips bytes with and without leading zeros, in both alphabets', () => {
    for (const text of ['', '00', '0000ff', '00010203', 'ff00', '41'.padEnd(42, '7')]) {
      for (const alphabet of [BITCOIN_BASE58_ALPHABET, XRP_BASE58_ALPHABET]) {
        const decoded = decodeBase58(encodeBase58(fromHex(text), alphabet), alphabet);
        expect(decoded.isValid && hex(decoded.bytes)).toBe(text);
      }
    }
  });
});

describe('base58Checksum', () => {
  it('is the first four bytes of SHA-256 twice', () => {
    const payload = fromHex('0062e907b15cbf27d5425399ebf6f0fb50ebb88f18');
    expect(hex(base58Checksum(payload))).toBe(sha256(sha256(payload)).slice(2, 10));
    expect(hex(base58Checksum(payload))).toBe('c29b7d93');
  });
});

describe('decodeBase58Check', () => {
  it('returns the payload with its version byte', () => {
    const decoded = decodeBase58Check('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa');
    expect(decoded.isValid && hex(decoded.payload)).toBe('0062e907b15cbf27d5425399ebf6f0fb50ebb88f18');
  });

  it('refuses a changed character as a bad checksum', () => {
    expect(decodeBase58Check('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb')).toEqual({ isValid: false, problem: 'bad_checksum' });
  });

  it('refuses text too short to hold a checksum', () => {
    expect(decodeBase58Check('1111')).toEqual({ isValid: false, problem: 'too_short' });
    expect(decodeBase58Check('')).toEqual({ isValid: false, problem: 'too_short' });
  });

  it('names the first character outside the alphabet', () => {
    expect(decodeBase58Check('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0')).toEqual({ isValid: false, problem: 'bad_character', badCharacterIndex: 33 });
  });

  it('round-trips with encodeBase58Check in both alphabets', () => {
    const payload = getBytes(`0x41${'a6'.repeat(20)}`);
    for (const alphabet of [BITCOIN_BASE58_ALPHABET, XRP_BASE58_ALPHABET]) {
      const decoded = decodeBase58Check(encodeBase58Check(payload, alphabet), alphabet);
      expect(decoded.isValid && decoded.payload).toEqual(payload);
    }
  });
});
