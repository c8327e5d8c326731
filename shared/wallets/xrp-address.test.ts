import { describe, expect, it } from 'vitest';
import { encodeBase58Check, XRP_BASE58_ALPHABET } from './base58.js';
import { parseXrpAddress } from './xrp-address.js';

const xrpAddress = (payload: number[]) => encodeBase58Check(Uint8Array.from(payload), XRP_BASE58_ALPHABET);

describe('parseXrpAddress', () => {
  it.each([
    // The genesis account, and accounts from the XRP Ledger documentation.
    'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh',
    'rf1BiGeXwwQoi8Z2ueFYTEXSwuJYfV2Jpn',
    'rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe',
    'rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh',
    xrpAddress([0, ...new Array<number>(20).fill(0x42)]),
  ])('accepts %s unchanged', (address) => {
    expect(parseXrpAddress(address)).toEqual({ isValid: true, address });
  });

  it.each([
    ['rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTj', /fails its checksum/, false],
    ['rHb9CJAWyB4rj91VRWn96DkukG4bwdtYTh', /fails its checksum/, false],
    ['rHb9CJAWyB4rj91VRWn96DkukG4bwdty0h', /Character 33 \('0'\) cannot appear/, true],
    // ACCOUNT_ZERO and ACCOUNT_ONE.
    ['rrrrrrrrrrrrrrrrrrrrrhoLvTp', /special XRP Ledger account/, false],
    ['rrrrrrrrrrrrrrrrrrrrBZbvji', /special XRP Ledger account/, false],
    // The XLS-5d example X-address, mainnet and testnet forms.
    ['X7AcgcsBL6XDcUb289X4mJ8djcdyKaB5hJDWMArnXr61cqZ', /X-address/, false],
    [xrpAddress([0x04, 0x93, ...new Array<number>(29).fill(3)]), /X-address/, false],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', /not an XRP Ledger address/, true],
    ['rHb9CJAWyB4rj91VRWn96DkukG4bwdtyThrHb9', /not an XRP Ledger address/, true],
    // A node public key, not an account.
    [xrpAddress([0x1c, ...new Array<number>(20).fill(7)]), /not an XRP Ledger address/, true],
    [xrpAddress([0x00, ...new Array<number>(21).fill(7)]), /not an XRP Ledger account address/, true],
  ])('refuses %s', (address, reason, isForeign) => {
    expect(parseXrpAddress(address)).toEqual({ isValid: false, isForeign, reason: expect.stringMatching(reason) });
  });
});
