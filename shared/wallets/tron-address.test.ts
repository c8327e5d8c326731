import { describe, expect, it } from 'vitest';
import { encodeBase58Check } from './base58.js';
import { parseTronAddress } from './tron-address.js';

const tronAddress = (version: number, hash: Uint8Array) => encodeBase58Check(Uint8Array.from([version, ...hash]));

describe('parseTronAddress', () => {
  it.each([
    // Tether USD's TRC-20 contract and USD Coin's.
    'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t',
    'TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8',
    'TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7',
    tronAddress(0x41, Buffer.from('751e76e8199196d454941c45d1b3a323f1433bd6', 'hex')),
  ])('accepts %s unchanged', (address) => {
    expect(parseTronAddress(address)).toEqual({ isValid: true, address });
  });

  it.each([
    ['TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u', /fails its checksum/, false],
    ['TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLJ6t', /fails its checksum/, false],
    ['TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6', /has 33 characters/, false],
    ['TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6tt', /has 35 characters/, false],
    ['TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj60', /Character 34 \('0'\) cannot appear in a TRON address/, true],
    // The zero address 0x41 + 20 zero bytes.
    ['T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb', /zero address/, false],
    ['41a614f803b6fd780986a42c78ec9c7f77e6ded13c', /hex form/, false],
    ['0x41a614f803b6fd780986a42c78ec9c7f77e6ded13c', /hex form/, false],
    ['0xa614f803b6fd780986a42c78ec9c7f77e6ded13c', /not a TRON address/, true],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', /not a TRON address/, true],
  ])('refuses %s', (address, reason, isForeign) => {
    expect(parseTronAddress(address)).toEqual({ isValid: false, isForeign, reason: expect.stringMatching(reason) });
  });

  it('refuses a T-address whose version byte is not 0x41', () => {
    // Version 0x42 also encodes to 34 characters starting with T.
    const address = tronAddress(0x42, new Uint8Array(20).fill(9));
    expect(address).toMatch(/^T.{33}$/);
    expect(parseTronAddress(address)).toMatchObject({ isValid: false, isForeign: true, reason: expect.stringMatching(/not a TRON address/) });
  });
});
