import { describe, expect, it } from 'vitest';
import { canonicalAmount } from './decimal-amount.js';

describe('canonicalAmount', () => {
  it.each([
    ['0.0097', '0.0097'],
    ['3000.50', '3000.5'],
    ['1e-7', '0.0000001'],
    ['1.5E3', '1500'],
    ['0', '0'],
    ['0.012345678901234567', '0.012345678901234567'],
    ['123456789012345678901234567890.1', '123456789012345678901234567890.1'],
  ])('writes %s as %s', (text, canonical) => {
    expect(canonicalAmount(text)).toBe(canonical);
  });

  it.each(['', 'abc', '-1', '1,5', '0x10', 'NaN'])('refuses %j', (text) => {
    expect(() => canonicalAmount(text)).toThrow();
  });
});
