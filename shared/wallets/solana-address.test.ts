import { describe, expect, it } from 'vitest';
import { encodeBase58 } from './base58.js';
import { parseSolanaAddress } from './solana-address.js';

describe('parseSolanaAddress', () => {
  it.each([
    // Wrapped SOL, the SPL Token program, and the USDT and USDC mints.
    'So11111111111111111111111111111111111111112',
    'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA',
    'Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB',
    'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v',
    // The vanity address of Solana's own docs.
    'vines1vzrYbzLMRdu58ou5XTby4qAqVRLmqo36NKPTg',
    // 32 bytes with leading zeros: fewer characters.
    encodeBase58(Uint8Array.from([0, 0, 0, ...new Array<number>(29).fill(200)])),
    encodeBase58(new Uint8Array(32).fill(255)),
  ])('accepts %s unchanged', (address) => {
    expect(parseSolanaAddress(address)).toEqual({ isValid: true, address });
  });

  it('decodes the System Program address to 32 zero bytes, and refuses it as a payout destination', () => {
    expect(parseSolanaAddress('11111111111111111111111111111111')).toEqual({
      isValid: false,
      isForeign: false,
      reason: expect.stringMatching(/System Program address, not a wallet/),
    });
  });

  it.each([
    ['So1111111111111111111111111111111111111111O', /Character 43 \('O'\) cannot appear in a Solana address/],
    ['0o11111111111111111111111111111111111111112', /Character 1 \('0'\)/],
    // 31 and 33 bytes.
    [encodeBase58(new Uint8Array(31).fill(255)), /does not encode a 32-byte key/],
    [encodeBase58(new Uint8Array(33).fill(255)), /not a Solana address/],
    [encodeBase58(Uint8Array.from([1, ...new Array<number>(32).fill(0)])), /does not encode a 32-byte key/],
    ['1111111111111111111111111111111', /not a Solana address/],
    ['So111111111111111111111111111111111111111122', /does not encode a 32-byte key/],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', /does not encode a 32-byte key/],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', /Character 1 \('0'\)/],
  ])('refuses %s', (address, reason) => {
    expect(parseSolanaAddress(address)).toEqual({ isValid: false, isForeign: true, reason: expect.stringMatching(reason) });
  });
});
