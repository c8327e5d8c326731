import { bech32, bech32m } from 'bech32';
import { describe, expect, it } from 'vitest';
import { encodeBase58Check } from './base58.js';
import { BITCOIN, DOGECOIN, LITECOIN, parseUtxoAddress, type UtxoChain } from './utxo-address.js';

/** The hash160 of BIP-173's example key, reused to build each chain's address kinds. */
const HASH160 = Buffer.from('751e76e8199196d454941c45d1b3a323f1433bd6', 'hex');
const base58Address = (version: number, hash: Uint8Array = HASH160) => encodeBase58Check(Uint8Array.from([version, ...hash]));
const segwitAddress = (hrp: string, version: number, program: Uint8Array) =>
  (version === 0 ? bech32 : bech32m).encode(hrp, [version, ...bech32.toWords(program)]);

const accepts = (chain: UtxoChain, address: string, normalized = address) =>
  expect(parseUtxoAddress(address, chain)).toEqual({ isValid: true, address: normalized });
const refuses = (chain: UtxoChain, address: string, reason: RegExp, isForeign = false) =>
  expect(parseUtxoAddress(address, chain)).toEqual({ isValid: false, isForeign, reason: expect.stringMatching(reason) });

describe('parseUtxoAddress on Bitcoin', () => {
  it.each([
    // The genesis block's coinbase address.
    '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa',
    // Bitcoin wiki examples of P2PKH and P2SH.
    '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2',
    '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy',
    // The BIP-173 key as P2PKH, and a P2SH.
    '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH',
    '3LRW7jeCvQCRdPF8S3yUCfRAx4eqXFmdcr',
    // BIP-173 P2WPKH (42 characters) and P2WSH (62), BIP-350 Taproot (62).
    'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
    'bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3',
    'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0',
  ])('accepts %s', (address) => {
    accepts(BITCOIN, address);
  });

  it('accepts an all-uppercase bech32 address and returns it lowercase', () => {
    accepts(BITCOIN, 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
  });

  it.each([
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb', 'the last character changed'],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivFNa', 'a letter in the wrong case'],
    ['3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz', 'a P2SH with its last character changed'],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivaNf', 'two characters swapped'],
  ])('refuses %s (%s) as a bad checksum', (address) => {
    refuses(BITCOIN, address, /fails its checksum/);
  });

  it.each([
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5', /fails its checksum/],
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj1', /fails its checksum/],
    // BIP-350: v1 with a bech32 checksum, and v0 with a bech32m one.
    ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd', /fails its checksum/],
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh', /fails its checksum/],
    ['bc1qw508d6qejxtdg4y5r3zarvAry0c5xw7kv8f3t4', /mixes capital and small letters/],
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3ti', /Character 42 \('i'\) cannot appear/],
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3b4', /Character 41 \('b'\) cannot appear/],
    ['BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P', /length does not match/],
    ['bc1pw5dgrnzv', /length does not match/],
  ])('refuses the segwit address %s', (address, reason) => {
    refuses(BITCOIN, address, reason);
  });

  it.each([
    // BIP-350: version 1 with a 40-byte program, versions 2 and 16: valid on chain, unspendable today.
    'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y',
    'bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs',
    'BC1SW50QGDZ25J',
  ])('refuses %s: a segwit version other than 0 or Taproot', (address) => {
    refuses(BITCOIN, address, /segwit version that wallets cannot spend from yet/);
  });

  it.each([
    ['mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn', 'testnet P2PKH (m)'],
    [base58Address(0x6f), 'testnet P2PKH built from the BIP-173 key'],
    ['2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc', 'testnet P2SH (2)'],
    ['tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx', 'testnet P2WPKH'],
    ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', 'testnet P2WSH (BIP-173)'],
    ['tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c', 'testnet Taproot (BIP-350)'],
    [segwitAddress('bcrt', 0, HASH160), 'regtest'],
  ])('refuses %s (%s) for a mainnet payout', (address) => {
    refuses(BITCOIN, address, /test-network address/);
  });

  it.each([
    ['1111111111111111111114oLvT2', 'P2PKH of the all-zero hash'],
    [base58Address(0x05, new Uint8Array(20)), 'P2SH of the all-zero hash'],
    [segwitAddress('bc', 0, new Uint8Array(20)), 'P2WPKH of the all-zero hash'],
    [segwitAddress('bc', 1, new Uint8Array(32)), 'Taproot of the all-zero key'],
  ])('refuses %s (%s): nobody holds the key', (address) => {
    refuses(BITCOIN, address, /all-zero key that nobody holds/);
  });

  it.each([
    ['LVuDpNCSSj6pQ7t9Pv6d6sUkLKoqDEVUnJ', 'a Litecoin address'],
    ['DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L', 'a Dogecoin address'],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', 'an EVM address'],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7Div', 'too short'],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNaaa', 'too long'],
    [encodeBase58Check(Uint8Array.from([0x00, ...HASH160, 0x01])), 'a 21-byte hash'],
  ])('refuses %s (%s) as not a Bitcoin address', (address) => {
    refuses(BITCOIN, address, /not a Bitcoin address|not a complete Bitcoin address|cannot appear in a Bitcoin address/, true);
  });
});

describe('parseUtxoAddress on Litecoin', () => {
  it.each([
    // The BIP-173 key as Litecoin P2PKH (L), as used in Litecoin's own address tests.
    'LVuDpNCSSj6pQ7t9Pv6d6sUkLKoqDEVUnJ',
    'LM2WMpR1Rp6j3Sa59cMXMs1SPzj9eXpGc1',
    // P2SH in the current M format.
    'MGxNPPB7eBoWPUaprtX9v9CXJZoD2465zN',
    base58Address(0x32),
    'ltc1qhzjptwpym9afcdjhs7jcz6fd0jma0l0rc0e5yr',
    segwitAddress('ltc', 0, HASH160),
    segwitAddress('ltc', 0, new Uint8Array(32).fill(7)),
    segwitAddress('ltc', 1, new Uint8Array(32).fill(7)),
  ])('accepts %s', (address) => {
    accepts(LITECOIN, address);
  });

  it('refuses the legacy 3 P2SH format that Bitcoin shares', () => {
    refuses(LITECOIN, '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', /starting with 3 use an old format that Bitcoin shares/);
    refuses(LITECOIN, base58Address(0x05), /starting with M or ltc1/);
  });

  it.each([
    [base58Address(0x6f), 'testnet P2PKH'],
    [base58Address(0x3a), 'testnet P2SH (Q)'],
    [base58Address(0xc4), 'old testnet P2SH (2)'],
    [segwitAddress('tltc', 0, HASH160), 'testnet segwit'],
    [segwitAddress('rltc', 0, HASH160), 'regtest segwit'],
  ])('refuses %s (%s)', (address) => {
    refuses(LITECOIN, address, /Litecoin test-network address/);
  });

  it('refuses MWEB addresses', () => {
    refuses(LITECOIN, `ltcmweb1${'q'.repeat(100)}`, /MWEB/);
  });

  it.each([
    ['LVuDpNCSSj6pQ7t9Pv6d6sUkLKoqDEVUnK', /fails its checksum/, false],
    [`${segwitAddress('ltc', 0, HASH160).slice(0, -1)}q`, /fails its checksum/, false],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', /not a Litecoin address/, true],
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', /not a Litecoin address/, true],
  ])('refuses %s', (address, reason, isForeign) => {
    refuses(LITECOIN, address, reason, isForeign);
  });
});

describe('parseUtxoAddress on Dogecoin', () => {
  it.each([
    // The Dogecoin Foundation's published donation address, and others seen on chain.
    'DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L',
    'DBXu2kgc3xtvCUWFcxFE3r9hEYgmuaaCyD',
    'A8c3xNz2mqsDLFwv5KL5fpH12QEwDaoTXo',
    base58Address(0x1e),
    base58Address(0x16),
    base58Address(0x16, new Uint8Array(20).fill(1)),
  ])('accepts %s', (address) => {
    accepts(DOGECOIN, address);
  });

  it('builds P2SH addresses starting with 9 or A', () => {
    expect(base58Address(0x16, new Uint8Array(20).fill(1))).toMatch(/^[9A]/);
  });

  it.each([base58Address(0x71), base58Address(0xc4)])('refuses the testnet address %s', (address) => {
    refuses(DOGECOIN, address, /Dogecoin test-network address/);
  });

  it.each([
    ['DH5yaieqoZN36fDVciNyRueRGvGLR3mr7M', /fails its checksum/, false],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', /not a Dogecoin address/, true],
    ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', /not a Dogecoin address/, true],
    [base58Address(0x1e, new Uint8Array(20)), /all-zero key/, false],
  ])('refuses %s', (address, reason, isForeign) => {
    refuses(DOGECOIN, address, reason, isForeign);
  });
});
