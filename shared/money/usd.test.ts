import { describe, expect, it } from 'vitest';
import { formatUsd, formatUsdCents, parseUsdCents } from './usd.js';

const moneyError = (code: string) => expect.objectContaining({ name: 'PermanentError', code });

describe('parseUsdCents', () => {
  it.each([
    ['12.50', 1250n],
    ['12.5', 1250n],
    ['12', 1200n],
    ['0.01', 1n],
    ['.99', 99n],
    ['4.99', 499n],
    ['9999.99', 999_999n],
    ['-0.05', -5n],
    ['1e2', 10_000n],
    ['1.5e-1', 15n],
    ['0', 0n],
  ] as const)('reads $%s as %s cents', (text, cents) => {
    expect(parseUsdCents(text)).toBe(cents);
  });

  it('refuses fractions of a cent unless told how to round', () => {
    expect(() => parseUsdCents('12.345')).toThrow(moneyError('too_many_decimals'));
    expect(parseUsdCents('12.345', 'half-even')).toBe(1234n);
    expect(parseUsdCents('12.345', 'half-up')).toBe(1235n);
    expect(parseUsdCents('12.345', 'floor')).toBe(1234n);
  });

  it.each(['$12.50', '12,50', '1,234.56', ' 12', '15.0 USD', ''])('refuses %j', (text) => {
    expect(() => parseUsdCents(text)).toThrow(moneyError('invalid_amount'));
  });
});

describe('formatUsdCents', () => {
  it.each([
    [1250n, '12.50'],
    [1200n, '12.00'],
    [1n, '0.01'],
    [0n, '0.00'],
    [-5n, '-0.05'],
    [-1250n, '-12.50'],
    [123_456_789n, '1234567.89'],
  ] as const)('writes %s cents as %j with exactly two decimals', (cents, expected) => {
    expect(formatUsdCents(cents)).toBe(expected);
  });

  it('round-trips with parseUsdCents', () => {
    for (const cents of [0n, 1n, -1n, 99n, 100n, 1999n, -123_456_789n, 10n ** 30n]) {
      expect(parseUsdCents(formatUsdCents(cents))).toBe(cents);
    }
  });
});

describe('formatUsd', () => {
  it.each([
    [1250n, '$12.50'],
    [0n, '$0.00'],
    [5n, '$0.05'],
    [-5n, '-$0.05'],
    [99_999n, '$999.99'],
    [100_000n, '$1,000.00'],
    [123_456n, '$1,234.56'],
    [-123_456_789n, '-$1,234,567.89'],
    [100_000_000_000n, '$1,000,000,000.00'],
  ] as const)('shows %s cents as %j', (cents, expected) => {
    expect(formatUsd(cents)).toBe(expected);
  });
});
