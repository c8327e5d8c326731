import { describe, expect, it } from 'vitest';
import { crc16Xmodem, parseTonAddress } from './ton-address.js';

/** Builds a user-friendly address: flags, workchain, 32-byte account id, CRC16-XMODEM. */
function friendlyAddress(tag: number, workchain: number, accountId: Uint8Array, encoding: 'base64url' | 'base64' = 'base64url'): string {
  const body = Uint8Array.from([tag, workchain & 0xff, ...accountId]);
  const crc = crc16Xmodem(body);
  return Buffer.from([...body, crc >> 8, crc & 0xff]).toString(encoding);
}

// The TON Foundation's wallet, whose raw form is 0:83dfd552…31a8.
const FOUNDATION_ID = Buffer.from('83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8', 'hex');

describe('crc16Xmodem', () => {
  it('gives the catalogue check value 0x31C3 for "123456789"', () => {
    expect(crc16Xmodem(new TextEncoder().encode('123456789'))).toBe(0x31c3);
  });
});

describe('parseTonAddress', () => {
  it.each([
    // The TON Foundation wallet, bounceable and non-bounceable.
    'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N',
    'UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI',
    // Tether USD's jetton master, with an underscore of base64url.
    'EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs',
    'EQDtFpEwcFAEcRe5mLVh2N6C0x-_hJEM7W61_JLnSF74p4q2',
    // The elector, on the masterchain (-1).
    'Ef8zMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM0vF',
  ])('accepts the user-friendly %s unchanged', (address) => {
    expect(parseTonAddress(address)).toEqual({ isValid: true, address });
  });

  it('builds the same Foundation addresses from the raw account id', () => {
    expect(friendlyAddress(0x11, 0, FOUNDATION_ID)).toBe('EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N');
    expect(friendlyAddress(0x51, 0, FOUNDATION_ID)).toBe('UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI');
  });

  it('accepts the standard base64 alphabet too', () => {
    const id = new Uint8Array(32).fill(0xfb);
    const address = friendlyAddress(0x51, 0, id, 'base64');
    expect(address).toMatch(/[+/]/);
    expect(parseTonAddress(address)).toEqual({ isValid: true, address });
  });

  it.each([
    ['0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8', '0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8'],
    ['0:83DFD552E63729B472FCBCC8C45EBCC6691702558B68EC7527E1BA403A0F31A8', '0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8'],
    ['-1:3333333333333333333333333333333333333333333333333333333333333333', '-1:3333333333333333333333333333333333333333333333333333333333333333'],
  ])('accepts the raw %s as %s', (address, normalized) => {
    expect(parseTonAddress(address)).toEqual({ isValid: true, address: normalized });
  });

  it.each([
    ['EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2M', /fails its checksum/],
    ['EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqb2N', /fails its checksum/],
    ['UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N', /fails its checksum/],
    [friendlyAddress(0x91, 0, FOUNDATION_ID), /testnet address/],
    [friendlyAddress(0xd1, 0, FOUNDATION_ID), /testnet address/],
    [friendlyAddress(0x12, 0, FOUNDATION_ID), /type byte is unknown/],
    [friendlyAddress(0x11, 1, FOUNDATION_ID), /workchain that cannot receive payouts/],
    [friendlyAddress(0x11, 0, new Uint8Array(32)), /zero address/],
    ['EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sD+', /mixes two encodings/],
    ['0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a', /raw TON address is 0:/],
    ['1:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8', /raw TON address is 0:/],
    ['0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31ag', /raw TON address is 0:/],
    [`0:${'0'.repeat(64)}`, /zero address/],
  ])('refuses %s', (address, reason) => {
    expect(parseTonAddress(address)).toEqual({ isValid: false, isForeign: false, reason: expect.stringMatching(reason) });
  });

  it.each([
    'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2',
    'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2NN',
    'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2=',
    '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
  ])('refuses %s as not a TON address', (address) => {
    expect(parseTonAddress(address)).toEqual({ isValid: false, isForeign: true, reason: expect.stringMatching(/not a TON address/) });
  });
});
