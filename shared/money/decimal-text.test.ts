import { describe, expect, it } from 'vitest';
import { MAX_DECIMAL_EXPONENT, MAX_DECIMAL_TEXT_LENGTH, parseDecimalText } from './decimal-text.js';

const moneyError = (code: string) => expect.objectContaining({ name: 'PermanentError', code });

describe('parseDecimalText', () => {
  it.each([
    ['0', 0n, 0n],
    ['-0', 0n, 0n],
    ['12.50', 1250n, -2n],
    ['-12.50', -1250n, -2n],
    ['+.5', 5n, -1n],
    ['7.', 7n, 0n],
    ['1e-7', 1n, -7n],
    ['1.5E+3', 15n, 2n],
    ['-2.5e18', -25n, 17n],
    ['00012', 12n, 0n],
    ['3.0000000000000004e-1', 30000000000000004n, -17n],
  ] as const)('reads %j as %s × 10^%s', (text, coefficient, exponent) => {
    expect(parseDecimalText(text)).toEqual({ coefficient, exponent });
  });

  it('throws the code the caller names for malformed text', () => {
    expect(() => parseDecimalText('abc', 'invalid_rate')).toThrow(moneyError('invalid_rate'));
    expect(() => parseDecimalText('abc')).toThrow(moneyError('invalid_amount'));
  });

  it('states its limits as 256 characters and an exponent of ±1000', () => {
    expect(MAX_DECIMAL_TEXT_LENGTH).toBe(256);
    expect(MAX_DECIMAL_EXPONENT).toBe(1000n);
    expect(parseDecimalText('1e1000')).toEqual({ coefficient: 1n, exponent: 1000n });
    expect(parseDecimalText('1.5e-1000')).toEqual({ coefficient: 15n, exponent: -1001n });
    expect(() => parseDecimalText('1e1001')).toThrow(moneyError('amount_out_of_range'));
  });
});
