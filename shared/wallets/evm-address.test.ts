import { getAddress } from 'ethers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eip55Checksummed, parseEvmAddress } from './evm-address.js';

const valid = (address: string) => ({ isValid: true, address });

describe('parseEvmAddress', () => {
  // EIP-55's own examples: all caps, all lower, and mixed-case checksummed addresses.
  it.each([
    '0x52908400098527886E0F7030069857D2E4169EE7',
    '0x8617E340B3D01FA5F11F306F4090FD50E238070D',
    '0xde709f2102306220921060314715629080e2fb77',
    '0x27b1fdb04752bbc536007a920d24acb045561c26',
    '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
    '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
    '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
    // Well-known contracts: Tether USD and USD Coin on Ethereum.
    '0xdAC17F958D2ee523a2206206994597C13D831ec7',
    '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
  ])('accepts the EIP-55 vector %s unchanged', (address) => {
    expect(parseEvmAddress(address, 'Ethereum')).toEqual(valid(address));
  });

  it.each([
    ['0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'],
    ['0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'],
    ['0xdac17f958d2ee523a2206206994597c13d831ec7', '0xdAC17F958D2ee523a2206206994597C13D831ec7'],
    ['0xFB6916095CA1DF60BB79CE92CE3EA74C37C5D359', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359'],
  ])('accepts the single-case %s and returns its checksummed form', (address, checksummed) => {
    expect(parseEvmAddress(address, 'Ethereum')).toEqual(valid(checksummed));
  });

  it.each([
    // One letter's case flipped.
    '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD',
    '0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    '0xdAC17F958D2ee523a2206206994597C13D831eC7',
    // One digit changed, the capitals kept.
    '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAee',
    '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d358',
  ])('refuses %s: mixed case that fails EIP-55', (address) => {
    expect(parseEvmAddress(address, 'Ethereum')).toMatchObject({ isValid: false, isForeign: false, reason: expect.stringMatching(/EIP-55 checksum/) });
  });

  it.each([
    ['0x0000000000000000000000000000000000000000', /zero address/],
    ['0x000000000000000000000000000000000000dead', /burn address/],
    ['0x000000000000000000000000000000000000dEaD', /burn address/],
  ])('refuses %s, which nobody can spend from', (address, reason) => {
    expect(parseEvmAddress(address, 'Base')).toMatchObject({ isValid: false, reason: expect.stringMatching(reason) });
  });

  it.each([
    ['5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', /lacks the 0x prefix/, false],
    ['0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', /lowercase 0x/, false],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe', /has 39/, false],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0', /has 41/, false],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg', /Character 42 \('g'\)/, false],
    ['0x', /has 0/, false],
    // ICAP, which ethers' getAddress would accept.
    ['XE7338O073KYGTWWZN0F2WZ0R8PX5ZPPZS', /not a valid BNB Smart Chain address/, true],
    ['TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', /not a valid BNB Smart Chain address/, true],
  ])('refuses %s', (address, reason, isForeign) => {
    expect(parseEvmAddress(address, 'BNB Smart Chain')).toMatchObject({ isValid: false, isForeign, reason: expect.stringMatching(reason) });
  });

  it('names the network it was given', () => {
    expect(parseEvmAddress('0x0000000000000000000000000000000000000000', 'Base')).toMatchObject({ reason: expect.stringMatching(/^This is the Base zero address/) });
  });
});

describe('eip55Checksummed', () => {
  it('agrees with ethers for every address, whatever case it arrives in', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.boolean(), (bytes, isUpper) => {
        const hex = Buffer.from(bytes).toString('hex');
        const expected = getAddress(`0x${hex}`);
        expect(eip55Checksummed(isUpper ? hex.toUpperCase() : hex)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the EIP-55 examples', () => {
    for (const address of ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359', '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB', '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb']) {
      expect(eip55Checksummed(address.slice(2))).toBe(address);
    }
  });
});
