import { describe, expect, it } from 'vitest';
import { canonicalAmount, isEchoedAmount } from './decimal-amount.js';

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

describe('isEchoedAmount', () => {
  it.each([
    ['0.0097', '0.0097'],
    ['0.00970', '0.0097'],
    ['9.7e-3', '0.0097'],
    // A JSON number read as a double: 0.123456789012345678 prints as 0.12345678901234568.
    ['0.12345678901234568', '0.123456789012345678'],
    ['1', '1.000000000000000001'],
    // Cut or rounded to 8 decimals or more.
    ['0.12345678', '0.123456789012345678'],
    ['0.12345679', '0.123456789012345678'],
    ['0.1234567890', '0.123456789012345678'],
  ])('takes %s for the %s sent', (echoed, sent) => {
    expect(isEchoedAmount(echoed, sent)).toBe(true);
  });

  it.each([
    ['0.0098', '0.0097'],
    ['0.0097', '0.00975'], // 4 decimals are too few to stand for ours
    ['0.1234', '0.123456789012345678'],
    ['0.12345677', '0.123456789012345678'],
    ['0.1234568', '0.123456789012345678'], // 7 decimals
    ['123456789012345678', '0.123456789012345678'],
    ['0', '0.0097'],
  ])('refuses %s for the %s sent', (echoed, sent) => {
    expect(isEchoedAmount(echoed, sent)).toBe(false);
  });
});
