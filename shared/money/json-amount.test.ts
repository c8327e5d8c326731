import { describe, expect, it } from 'vitest';
import { parseAmountJson } from './json-amount.js';

const moneyError = (code: string) => expect.objectContaining({ name: 'PermanentError', code });

describe('parseAmountJson', () => {
  it.each([
    ['"0.0000001"', 18, 100_000_000_000n],
    ['"1e-7"', 18, 100_000_000_000n],
    ['1e-7', 18, 100_000_000_000n],
    ['0.0000001', 18, 100_000_000_000n],
    ['1.5e-10', 18, 150_000_000n],
    ['0.00123456', 18, 1_234_560_000_000_000n],
    ['12.5', 6, 12_500_000n],
    ['12.50', 2, 1250n],
    ['1E2', 2, 10_000n],
    ['-3.25', 2, -325n],
    ['0', 18, 0n],
    ['-0', 18, 0n],
    ['9007199254740991', 0, 9_007_199_254_740_991n],
    ['0.30000000000000004', 18, 300_000_000_000_000_040n],
    ['123456.789012', 6, 123_456_789_012n],
  ] as const)('reads the JSON %s at %i decimals as %s base units', (json, decimals, expected) => {
    expect(parseAmountJson(JSON.parse(json), decimals)).toBe(expected);
  });

  it('reads a JSON number small enough to print in exponent form (1e-7) exactly', () => {
    const value: unknown = JSON.parse('{"actually_paid": 1e-7}').actually_paid;
    expect(String(value)).toBe('1e-7');
    expect(parseAmountJson(value, 18)).toBe(100_000_000_000n);
  });

  describe('0.1 + 0.2 computed by a provider in doubles', () => {
    const value = 0.1 + 0.2;

    it('arrives as the exact double 0.30000000000000004, not as 0.3', () => {
      expect(parseAmountJson(value, 18)).toBe(300_000_000_000_000_040n);
    });

    it('is too precise for USDT unless the caller names a rounding direction', () => {
      expect(() => parseAmountJson(value, 6)).toThrow(moneyError('too_many_decimals'));
      expect(parseAmountJson(value, 6, 'half-even')).toBe(300_000n);
      expect(parseAmountJson(value, 6, 'ceil')).toBe(300_001n);
    });
  });

  it('reads a number written with 15 significant digits exactly as written', () => {
    expect(parseAmountJson(JSON.parse('0.123456789012345'), 18)).toBe(123_456_789_012_345_000n);
    expect(parseAmountJson(JSON.parse('123456789.012345'), 6)).toBe(123_456_789_012_345n);
  });

  it('cannot detect digits lost from a long fraction, which is why providers should send strings', () => {
    // The JSON text has 20 significant digits; the double keeps 17 and we read those.
    expect(parseAmountJson(JSON.parse('0.12345678901234567891'), 18, 'floor')).toBe(123_456_789_012_345_680n);
    expect(parseAmountJson('0.12345678901234567891', 18, 'floor')).toBe(123_456_789_012_345_678n);
  });

  it.each(['9007199254740992', '9007199254740993', '1000000000000000001', '-1e21', '1e300'])(
    'refuses the JSON number %s because it may have lost digits beyond 2^53',
    (json) => {
      expect(() => parseAmountJson(JSON.parse(json), 0)).toThrow(moneyError('amount_precision_lost'));
    },
  );

  it('accepts the same large integer sent as a string', () => {
    expect(parseAmountJson('1000000000000000001', 0)).toBe(1_000_000_000_000_000_001n);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('refuses the non-finite number %s', (value) => {
    expect(() => parseAmountJson(value, 18)).toThrow(moneyError('invalid_amount'));
  });

  it.each([null, undefined, true, false, {}, [], ['1'], { amount: '1' }, 1n])('refuses %s, which is no amount', (value) => {
    expect(() => parseAmountJson(value, 18)).toThrow(moneyError('invalid_amount'));
  });

  it.each(['', ' 1', 'NaN', '0x10', '1,5'])('refuses the malformed string %j like parseUnits', (value) => {
    expect(() => parseAmountJson(value, 18)).toThrow(moneyError('invalid_amount'));
  });

  it('refuses a string with too many decimals unless told how to round', () => {
    expect(() => parseAmountJson('1e-19', 18)).toThrow(moneyError('too_many_decimals'));
    expect(parseAmountJson('1e-19', 18, 'ceil')).toBe(1n);
  });
});
