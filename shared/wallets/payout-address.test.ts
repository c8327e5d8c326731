import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors/index.js';
import { BITCOIN_BASE58_ALPHABET, XRP_BASE58_ALPHABET } from './base58.js';
import { assertPayoutAddress, maskAddress, validatePayoutAddress, type PayoutDestination } from './payout-address.js';
import { SUPPORTED_PAYOUT_OPTIONS } from './payout-networks.js';

/** Real, public main-network addresses for every supported pair, with the form we store. */
const VALID: ReadonlyArray<[currency: string, network: string, address: string, normalized?: string]> = [
  ['ETH', 'ETH', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'],
  ['ETH', 'ETH', '0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359'],
  ['USDT', 'ETH', '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb'],
  ['USDC', 'ETH', '0xDBF03B407C01E7CD3CBEA99509D93F8DDDC8C6FB', '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB'],
  ['SHIB', 'ETH', '0x52908400098527886E0F7030069857D2E4169EE7'],
  ['ETH', 'BASE', '0x8617E340B3D01FA5F11F306F4090FD50E238070D'],
  ['USDC', 'BASE', '0xde709f2102306220921060314715629080e2fb77'],
  ['BNB', 'BSC', '0x27b1fdb04752bbc536007a920d24acb045561c26'],
  ['USDT', 'BSC', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'],
  ['BTC', 'BTC', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa'],
  ['BTC', 'BTC', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy'],
  ['BTC', 'BTC', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'],
  ['BTC', 'BTC', 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'],
  ['BTC', 'BTC', 'bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3'],
  ['BTC', 'BTC', 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0'],
  ['LTC', 'LTC', 'LVuDpNCSSj6pQ7t9Pv6d6sUkLKoqDEVUnJ'],
  ['LTC', 'LTC', 'MGxNPPB7eBoWPUaprtX9v9CXJZoD2465zN'],
  ['LTC', 'LTC', 'ltc1qhzjptwpym9afcdjhs7jcz6fd0jma0l0rc0e5yr'],
  ['DOGE', 'DOGE', 'DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L'],
  ['DOGE', 'DOGE', 'A8c3xNz2mqsDLFwv5KL5fpH12QEwDaoTXo'],
  ['TRX', 'TRX', 'TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7'],
  ['USDT', 'TRX', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t'],
  ['SOL', 'SOL', 'vines1vzrYbzLMRdu58ou5XTby4qAqVRLmqo36NKPTg'],
  ['USDT', 'SOL', 'Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB'],
  ['TON', 'TON', 'UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI'],
  ['TON', 'TON', '0:83DFD552E63729B472FCBCC8C45EBCC6691702558B68EC7527E1BA403A0F31A8', '0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8'],
  ['USDT', 'TON', 'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N'],
  ['XRP', 'XRP', 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh'],
];

/** The `channels.payout_wallet` CHECK in sql/003: anything we accept must also fit the column. */
const PAYOUT_WALLET_COLUMN = /^[A-Za-z0-9:_+/=-]{14,128}$/;

const check = (currency: string, network: string, address: string, extraId?: string | null) =>
  validatePayoutAddress({ currency, network, address, extraId });

const refusal = (code: string, reason: RegExp) => ({ isValid: false, code, reason: expect.stringMatching(reason) });

describe('validatePayoutAddress', () => {
  it.each(VALID)('accepts %s on %s to %s', (currency, network, address, normalized = address) => {
    expect(check(currency, network, address)).toEqual({ isValid: true, address: normalized, extraId: null });
    expect(normalized).toMatch(PAYOUT_WALLET_COLUMN);
  });

  it('has a valid address for every supported pair', () => {
    const covered = new Set(VALID.map(([currency, network]) => `${currency}/${network}`));
    expect(SUPPORTED_PAYOUT_OPTIONS.filter(({ currency, network }) => !covered.has(`${currency}/${network}`))).toEqual([]);
  });

  it('accepts the same EVM address on Ethereum, Base and BNB Smart Chain', () => {
    for (const [currency, network] of [['USDT', 'ETH'], ['USDC', 'BASE'], ['USDT', 'BSC']] as const) {
      expect(check(currency, network, '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed')).toMatchObject({ address: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' });
    }
  });

  describe('a single mistyped character', () => {
    // Every checksummed sample, each character replaced by every other character of its alphabet. Solana has no
    // checksum, so it is left out: a Solana typo that still decodes to 32 bytes cannot be caught by anyone.
    const isSegwit = (address: string) => /^(bc|ltc)1/i.test(address);
    const base58Samples = VALID.filter(([, network, address]) => ['BTC', 'LTC', 'DOGE', 'TRX'].includes(network) && !isSegwit(address));
    const bech32Samples = VALID.filter(([, , address]) => isSegwit(address) && address === address.toLowerCase());

    it.each(base58Samples)('is caught in every position of %s on %s: %s', (currency, network, address) => {
      expect(countAccepted(currency, network, address, BITCOIN_BASE58_ALPHABET)).toEqual([]);
    });

    it.each(bech32Samples)('is caught in every position of %s on %s: %s', (currency, network, address) => {
      expect(countAccepted(currency, network, address, 'qpzry9x8gf2tvdw0s3jn54khce6mua7l', address.indexOf('1') + 1)).toEqual([]);
    });

    it('is caught in every position of an XRP address', () => {
      expect(countAccepted('XRP', 'XRP', 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh', XRP_BASE58_ALPHABET)).toEqual([]);
    });

    it('is caught in every position of a TON address', () => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      // A 16-bit CRC could in principle miss a change; this pins that it catches every one in this address.
      expect(countAccepted('TON', 'TON', 'UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI', alphabet)).toEqual([]);
    });

    it('is caught in every position of a checksummed EVM address, digits and capitals alike', () => {
      expect(countAccepted('ETH', 'ETH', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0123456789abcdefABCDEF', 2)).toEqual([]);
      expect(countAccepted('USDT', 'BSC', '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb', '0123456789abcdefABCDEF', 2)).toEqual([]);
    });

    it('is caught for a letter whose case is flipped in a checksummed EVM address', () => {
      const address = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
      for (let i = 2; i < address.length; i += 1) {
        const char = address.charAt(i);
        const flipped = char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
        if (flipped === char) continue;
        expect(check('ETH', 'ETH', `${address.slice(0, i)}${flipped}${address.slice(i + 1)}`)).toMatchObject({ isValid: false });
      }
    });
  });

  it.each([
    ['BTC', 'BTC', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb', /fails its checksum/],
    ['BTC', 'BTC', 'mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn', /test-network address/],
    ['BTC', 'BTC', 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx', /test-network address/],
    ['ETH', 'ETH', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD', /EIP-55 checksum/],
    ['ETH', 'ETH', '0x0000000000000000000000000000000000000000', /zero address/],
    ['USDT', 'BSC', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe', /has 39/],
    ['USDT', 'TRX', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6', /has 33 characters/],
    ['SOL', 'SOL', '11111111111111111111111111111111', /System Program/],
    ['TON', 'TON', 'UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBJ', /fails its checksum/],
    ['XRP', 'XRP', 'X7AcgcsBL6XDcUb289X4mJ8djcdyKaB5hJDWMArnXr61cqZ', /X-address/],
    ['LTC', 'LTC', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', /old format that Bitcoin shares/],
  ])('refuses %s on %s to %s', (currency, network, address, reason) => {
    expect(check(currency, network, address)).toEqual(refusal('invalid_wallet_address', reason));
  });

  describe('an address of another network', () => {
    it.each([
      ['USDT', 'ETH', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', 'a TRON address', 'Ethereum'],
      ['USDT', 'TRX', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', 'an EVM address (Ethereum, Base, BNB Smart Chain)', 'TRON'],
      ['LTC', 'LTC', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'a Bitcoin address', 'Litecoin'],
      ['LTC', 'LTC', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 'a Bitcoin address', 'Litecoin'],
      ['BTC', 'BTC', 'LVuDpNCSSj6pQ7t9Pv6d6sUkLKoqDEVUnJ', 'a Litecoin address', 'Bitcoin'],
      ['BTC', 'BTC', 'DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L', 'a Dogecoin address', 'Bitcoin'],
      ['DOGE', 'DOGE', '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'a Bitcoin address', 'Dogecoin'],
      ['USDT', 'SOL', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', 'a TRON address', 'Solana'],
      ['USDT', 'TON', 'Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB', 'a Solana address', 'TON'],
      ['USDT', 'TRX', 'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N', 'a TON address', 'TRON'],
      ['XRP', 'XRP', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', 'an EVM address (Ethereum, Base, BNB Smart Chain)', 'XRP Ledger'],
      ['ETH', 'BASE', 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh', 'an XRP Ledger address', 'Base'],
    ])('refuses %s on %s to %s and says which network it belongs to', (currency, network, address, description, networkName) => {
      expect(check(currency, network, address)).toEqual({
        isValid: false,
        code: 'invalid_wallet_address',
        reason: `This is ${description}, but this payout is sent on ${networkName}. Choose the network your wallet uses, or paste your ${networkName} address.`,
      });
    });

    it('keeps the network\'s own reason when no other network recognises the text', () => {
      expect(check('ETH', 'ETH', 'hello-this-is-not-an-address')).toEqual(refusal('invalid_wallet_address', /^This is not a valid Ethereum address\. Ethereum addresses are 0x followed by 40 characters/));
    });
  });

  describe('paste mistakes', () => {
    const genesis = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa';
    it.each([
      [` ${genesis}`, /starts or ends with a space or line break/],
      [`${genesis} `, /starts or ends with a space or line break/],
      [`${genesis}\n`, /starts or ends with a space or line break/],
      [`\t${genesis}`, /starts or ends with a space or line break/],
      [`${genesis}\u00a0`, /starts or ends with a space or line break/],
      [`\ufeff${genesis}`, /starts or ends with a space or line break/],
      ['1A1zP1eP5QGefi2DM PTfTL5SLmv7DivfNa', /space or line break at character 18/],
      ['1A1zP1eP5QGefi2DM\nPTfTL5SLmv7DivfNa', /space or line break at character 18/],
      ['1A1zP1eP5QGefi2DM\u200bPTfTL5SLmv7DivfNa', /Character 18 of the address is not a plain letter or digit/],
      // Cyrillic "а" in place of the Latin "a".
      ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN\u0430', /Character 34 of the address is not a plain letter or digit/],
      ['', /^Enter a payout address\.$/],
      ['1'.repeat(129), /too long to be a wallet address \(129 characters\)/],
      [`bitcoin:${genesis}?amount=0.1`, /payment link \("bitcoin:…"\)/],
      [`BITCOIN:${genesis}`, /payment link/],
    ])('refuses %j', (address, reason) => {
      expect(check('BTC', 'BTC', address)).toEqual(refusal('invalid_wallet_address', reason));
    });

    it.each([
      ['ETH', 'ETH', 'ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1'],
      ['TON', 'TON', 'ton://transfer/UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI'],
      ['SOL', 'SOL', 'solana:vines1vzrYbzLMRdu58ou5XTby4qAqVRLmqo36NKPTg'],
    ])('refuses the %s payment link on %s', (currency, network, address) => {
      expect(check(currency, network, address)).toEqual(refusal('invalid_wallet_address', /payment link/));
    });

    it('refuses an address that is not a string at all', () => {
      expect(validatePayoutAddress({ currency: 'BTC', network: 'BTC', address: undefined as unknown as string })).toEqual(
        refusal('invalid_wallet_address', /Enter a payout address/),
      );
    });
  });

  describe('unsupported pairs', () => {
    it.each([
      ['USDT', 'BASE', /^Base payouts are available in ETH, USDC; "USDT" is not one of them/],
      ['BTC', 'ETH', /^Ethereum payouts are available in ETH, USDT, USDC, SHIB; "BTC" is not one of them/],
      ['usdt', 'TRX', /"usdt" is not one of them/],
      ['ETH', 'POLYGON', /^Payouts on the network "POLYGON" are not supported\. Choose one of: ETH, BASE, BSC, BTC, LTC, DOGE, TRX, SOL, TON, XRP\.$/],
      ['ETH', 'eth', /network "eth" are not supported/],
      ['XLM', 'XLM', /network "XLM" are not supported/],
      ['', '', /network "" are not supported/],
      ['ETH', `ARBITRUM${'X'.repeat(200)}`, /network "ARBITRUMXXXXXXXX…" are not supported/],
    ])('refuses %s on %s', (currency, network, reason) => {
      expect(check(currency, network, '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed')).toEqual(refusal('unsupported_payout_option', reason));
    });

    it('reports an unsupported pair before looking at the address', () => {
      expect(check('USDT', 'POLYGON', '')).toMatchObject({ code: 'unsupported_payout_option' });
    });
  });

  describe('memo and destination tag', () => {
    const ton = 'UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI';
    const xrp = 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh';

    it.each([
      ['TON', ton, '123456789'],
      ['TON', ton, 'deposit-7f3a Hello!'],
      ['TON', ton, 'x'.repeat(120)],
      ['XRP', xrp, '0'],
      ['XRP', xrp, '12345'],
      ['XRP', xrp, '4294967295'],
    ])('accepts on %s the tag %j', (network, address, extraId) => {
      expect(check(network, network, address, extraId)).toEqual({ isValid: true, address, extraId });
    });

    it.each([null, undefined, ''])('treats %j as no tag', (extraId) => {
      expect(check('XRP', 'XRP', xrp, extraId)).toEqual({ isValid: true, address: xrp, extraId: null });
      expect(check('BTC', 'BTC', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', extraId)).toMatchObject({ isValid: true, extraId: null });
    });

    it.each([
      ['TON', ton, ' 123', /memo starts or ends with a space/],
      ['TON', ton, '123\n', /memo starts or ends with a space/],
      ['TON', ton, 'x'.repeat(121), /memo is up to 120 plain characters/],
      ['TON', ton, 'мемо', /memo is up to 120 plain characters/],
      ['TON', ton, 'a\u0000b', /memo is up to 120 plain characters/],
      ['XRP', xrp, '4294967296', /destination tag is a whole number from 0 to 4294967295/],
      ['XRP', xrp, '-1', /whole number/],
      ['XRP', xrp, '007', /whole number/],
      ['XRP', xrp, '12a', /whole number/],
      ['XRP', xrp, '1.5', /whole number/],
      ['XRP', xrp, '1e3', /whole number/],
      ['XRP', xrp, '99999999999', /whole number/],
      ['XRP', xrp, ' 5', /destination tag starts or ends with a space/],
    ])('refuses on %s the tag %j', (network, address, extraId, reason) => {
      expect(check(network, network, address, extraId)).toEqual(refusal('invalid_payout_extra_id', reason));
    });

    it.each([
      ['ETH', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', 'Ethereum'],
      ['BTC', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'Bitcoin'],
      ['TRX', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', 'TRON'],
      ['SOL', 'vines1vzrYbzLMRdu58ou5XTby4qAqVRLmqo36NKPTg', 'Solana'],
    ])('refuses a tag on %s, which has none', (network, address, name) => {
      expect(check(network, network, address, '12345')).toEqual(refusal('invalid_payout_extra_id', new RegExp(`^${name} payouts take no memo or tag`)));
    });

    it('checks the address before the tag', () => {
      expect(check('XRP', 'XRP', 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTj', 'not-a-number')).toMatchObject({ code: 'invalid_wallet_address' });
    });
  });

  it('never repeats the address in a reason', () => {
    const attempts: PayoutDestination[] = [
      { currency: 'BTC', network: 'BTC', address: '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb' },
      { currency: 'BTC', network: 'BTC', address: ' 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa' },
      { currency: 'BTC', network: 'BTC', address: 'bitcoin:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa' },
      { currency: 'ETH', network: 'ETH', address: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD' },
      { currency: 'USDT', network: 'TRX', address: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' },
      { currency: 'TON', network: 'TON', address: 'UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBJ' },
      { currency: 'XRP', network: 'XRP', address: 'X7AcgcsBL6XDcUb289X4mJ8djcdyKaB5hJDWMArnXr61cqZ' },
      { currency: 'USDT', network: 'POLYGON', address: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' },
    ];
    for (const attempt of attempts) {
      const result = validatePayoutAddress(attempt);
      expect(result.isValid).toBe(false);
      if (!result.isValid) {
        expect(result.reason).not.toContain(attempt.address.trim().slice(0, 12));
        expect(result.reason).toMatch(/^[A-Z"].*\.$/);
      }
    }
  });
});

describe('assertPayoutAddress', () => {
  it('returns the normalized address', () => {
    expect(assertPayoutAddress({ currency: 'USDT', network: 'ETH', address: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed' })).toBe(
      '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    );
    expect(assertPayoutAddress({ currency: 'XRP', network: 'XRP', address: 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh', extraId: '42' })).toBe(
      'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh',
    );
  });

  it('throws invalid_wallet_address with the reason and a masked address', () => {
    const address = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD';
    const error = catchError(() => assertPayoutAddress({ currency: 'USDT', network: 'ETH', address }));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({
      code: 'invalid_wallet_address',
      isRetryable: false,
      message: expect.stringMatching(/EIP-55 checksum/),
      context: { currency: 'USDT', network: 'ETH', address: '0x5aAe…eAeD' },
    });
    expect(JSON.stringify({ message: (error as Error).message, context: (error as PermanentError).context })).not.toContain(address);
  });

  it('throws unsupported_payout_option for a pair we do not pay out', () => {
    expect(() => assertPayoutAddress({ currency: 'USDT', network: 'POLYGON', address: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' })).toThrow(
      expect.objectContaining({ name: 'PermanentError', code: 'unsupported_payout_option', context: expect.objectContaining({ network: 'POLYGON' }) }),
    );
  });

  it('throws invalid_payout_extra_id for a bad destination tag', () => {
    expect(() => assertPayoutAddress({ currency: 'XRP', network: 'XRP', address: 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh', extraId: 'abc' })).toThrow(
      expect.objectContaining({ code: 'invalid_payout_extra_id' }),
    );
  });

  it('clips an oversized currency or network in the context', () => {
    const error = catchError(() => assertPayoutAddress({ currency: 'C'.repeat(500), network: 'N'.repeat(500), address: 'x' }));
    expect(error).toMatchObject({ context: { currency: `${'C'.repeat(16)}…`, network: `${'N'.repeat(16)}…`, address: '(1 characters)' } });
  });
});

describe('maskAddress', () => {
  it.each([
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0x5aAe…eAed'],
    ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', '1A1zP1…vfNa'],
    ['UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI', 'UQCD39…qEBI'],
    ['rrrrrrrrrrrrr', 'rrrrrr…rrrr'],
    ['short-text12', '(12 characters)'],
    ['', '(0 characters)'],
  ])('shows %j as %j', (address, masked) => {
    expect(maskAddress(address)).toBe(masked);
  });

  it('names the type of a value that is not a string', () => {
    expect(maskAddress(undefined)).toBe('(undefined)');
    expect(maskAddress(42)).toBe('(number)');
  });
});

/** Every single-character substitution of `address` (from `start` on) that is still accepted. */
function countAccepted(currency: string, network: string, address: string, alphabet: string, start = 0): string[] {
  const accepted: string[] = [];
  for (let i = start; i < address.length; i += 1) {
    for (const replacement of alphabet) {
      if (replacement === address.charAt(i)) continue;
      const mutated = `${address.slice(0, i)}${replacement}${address.slice(i + 1)}`;
      if (validatePayoutAddress({ currency, network, address: mutated }).isValid) accepted.push(mutated);
    }
  }
  return accepted;
}

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
