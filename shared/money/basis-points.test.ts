import { describe, expect, it } from 'vitest';
import { BPS_PER_WHOLE, bpsOf, compareRatio, fractionToBps, isAtLeastFraction, splitFee, toBasisPoints } from './basis-points.js';
import { createSeededRandom } from '../testing/seeded-random.js';

const moneyError = (code: string) => expect.objectContaining({ name: 'PermanentError', code });
const WEI_PER_ETH = 10n ** 18n;

describe('toBasisPoints', () => {
  it.each([
    [0, 0n],
    [300, 300n],
    [9800, 9800n],
    [10_000, 10_000n],
    [300n, 300n],
  ] as const)('accepts %s', (bps, expected) => {
    expect(toBasisPoints(bps)).toBe(expected);
  });

  it.each([-1, 10_001, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -1n, 10_001n, '300'])('refuses %s', (bps) => {
    expect(() => toBasisPoints(bps as number)).toThrow(moneyError('invalid_basis_points'));
  });
});

describe('bpsOf', () => {
  it.each([
    [10_000n, 300, 'floor', 300n],
    [333n, 300, 'floor', 9n],
    [333n, 300, 'down', 9n],
    [333n, 300, 'ceil', 10n],
    [333n, 300, 'up', 10n],
    [333n, 300, 'half-up', 10n],
    [333n, 300, 'half-even', 10n],
    [-333n, 300, 'floor', -10n],
    [-333n, 300, 'down', -9n],
    [-333n, 300, 'ceil', -9n],
    [-333n, 300, 'up', -10n],
    [-333n, 300, 'half-up', -10n],
    [50n, 100, 'half-up', 1n],
    [50n, 100, 'half-even', 0n],
    [150n, 100, 'half-even', 2n],
    [-50n, 100, 'half-up', -1n],
    [-50n, 100, 'half-even', 0n],
    [WEI_PER_ETH, 300, 'floor', 3n * 10n ** 16n],
    [1n, 10_000, 'floor', 1n],
    [12_345n, 0, 'ceil', 0n],
    [12_345n, 10_000n, 'floor', 12_345n],
  ] as const)('takes %s × %s bps rounded %s as %s', (amount, bps, rounding, expected) => {
    expect(bpsOf(amount, bps, rounding)).toBe(expected);
  });

  it('refuses basis points above 10 000', () => {
    expect(() => bpsOf(100n, 10_001, 'floor')).toThrow(moneyError('invalid_basis_points'));
  });
});

describe('splitFee', () => {
  it.each([
    [333n, 300, 9n, 324n],
    [10_000n, 300, 300n, 9700n],
    [9_999n, 300, 299n, 9700n],
    [1n, 300, 0n, 1n],
    [33n, 300, 0n, 33n],
    [34n, 300, 1n, 33n],
    [0n, 300, 0n, 0n],
    [100n, 10_000, 100n, 0n],
    [100n, 0, 0n, 100n],
    [WEI_PER_ETH / 100n, 300, 3n * 10n ** 14n, 97n * 10n ** 14n],
    [40_312_400_000_000_001n, 300, 1_209_372_000_000_000n, 39_103_028_000_000_001n],
  ] as const)('splits %s at %s bps into fee %s (rounded down) and net %s', (gross, bps, fee, net) => {
    expect(splitFee(gross, bps)).toEqual({ fee, net });
  });

  it('never charges more than the stated rate, never a whole unit less, and always sums to the gross', () => {
    const random = createSeededRandom(300n);
    for (let i = 0; i < 3000; i += 1) {
      const gross = random.bigintUpToBits(256);
      const bps = random.below(BPS_PER_WHOLE + 1n);
      const { fee, net } = splitFee(gross, bps);
      expect(fee + net).toBe(gross);
      expect(fee * BPS_PER_WHOLE <= gross * bps).toBe(true);
      expect((fee + 1n) * BPS_PER_WHOLE > gross * bps).toBe(true);
      expect(net >= 0n && fee >= 0n).toBe(true);
    }
  });

  it('refuses a negative gross, because a refund negates the original split instead', () => {
    expect(() => splitFee(-1n, 300)).toThrow(moneyError('invalid_amount'));
  });

  it('refuses a fee rate outside 0..10 000 bps', () => {
    expect(() => splitFee(100n, -1)).toThrow(moneyError('invalid_basis_points'));
    expect(() => splitFee(100n, 3.5)).toThrow(moneyError('invalid_basis_points'));
  });
});

describe('compareRatio', () => {
  it.each([
    [1n, 2n, 2n, 4n, 0],
    [1n, 3n, 333n, 1000n, 1],
    [333n, 1000n, 1n, 3n, -1],
    [0n, 5n, 0n, 7n, 0],
    [-1n, 2n, 1n, 2n, -1],
    [2n ** 256n - 1n, 2n ** 256n, 1n, 1n, -1],
    [2n ** 256n, 2n ** 256n - 1n, 1n, 1n, 1],
  ] as const)('compares %s/%s with %s/%s as %i', (a, b, c, d, expected) => {
    expect(compareRatio(a, b, c, d)).toBe(expected);
  });

  it('refuses a zero or negative denominator', () => {
    expect(() => compareRatio(1n, 0n, 1n, 1n)).toThrow(moneyError('division_by_zero'));
    expect(() => compareRatio(1n, 1n, 1n, 0n)).toThrow(moneyError('division_by_zero'));
    expect(() => compareRatio(1n, -2n, 1n, 1n)).toThrow(moneyError('invalid_amount'));
  });
});

describe('isAtLeastFraction', () => {
  it.each([
    ['exactly 98 %', 98n, 100n, 9800, true],
    ['98 % written in ten-thousandths', 9800n, 10_000n, 9800, true],
    ['97.99 %', 9799n, 10_000n, 9800, false],
    ['0.98 ETH of 1 ETH', 98n * 10n ** 16n, WEI_PER_ETH, 9800, true],
    ['one wei short of 0.98 ETH', 98n * 10n ** 16n - 1n, WEI_PER_ETH, 9800, false],
    ['98 % of 0.0403124 ETH', 39_506_152_000_000_000n, 40_312_400_000_000_000n, 9800, true],
    ['one wei short of 98 % of 0.0403124 ETH', 39_506_151_999_999_999n, 40_312_400_000_000_000n, 9800, false],
    ['98 % of 1 USDT micro-unit short', 979_999n, 1_000_000n, 9800n, false],
    ['an overpayment', 101n, 100n, 9800, true],
    ['nothing paid', 0n, 100n, 9800, false],
    ['nothing paid against a zero threshold', 0n, 100n, 0, true],
    ['the full amount against 100 %', 100n, 100n, 10_000, true],
    ['one unit short against 100 %', 99n, 100n, 10_000, false],
    ['a negative payment', -1n, 100n, 0, false],
  ] as const)('decides %s (%s / %s against %s bps) as %s', (_name, numerator, denominator, bps, expected) => {
    expect(isAtLeastFraction(numerator, denominator, bps)).toBe(expected);
  });

  it('treats a ratio of exactly 0.9799 as short of a 0.98 tolerance', () => {
    expect(isAtLeastFraction(fractionToBps('0.9799'), BPS_PER_WHOLE, fractionToBps('0.98'))).toBe(false);
    expect(isAtLeastFraction(fractionToBps('0.98'), BPS_PER_WHOLE, fractionToBps('0.98'))).toBe(true);
  });

  it('agrees with exact cross-multiplication on thousands of random uint256 amounts', () => {
    const random = createSeededRandom(9800n);
    for (let i = 0; i < 2000; i += 1) {
      const denominator = random.bigintUpToBits(256) + 1n;
      const numerator = random.pick([denominator, denominator - 1n, denominator + 1n, random.bigintUpToBits(256)]);
      const bps = random.below(BPS_PER_WHOLE + 1n);
      const threshold = (denominator * bps) / BPS_PER_WHOLE; // floor of the exact threshold
      const exactThresholdIsWhole = (denominator * bps) % BPS_PER_WHOLE === 0n;
      const expected = exactThresholdIsWhole ? numerator >= threshold : numerator > threshold;
      expect(isAtLeastFraction(numerator, denominator, bps)).toBe(expected);
    }
  });

  it('refuses a zero denominator instead of passing a payment of nothing against nothing', () => {
    expect(() => isAtLeastFraction(0n, 0n, 9800)).toThrow(moneyError('division_by_zero'));
  });

  it('refuses a threshold outside 0..10 000 bps', () => {
    expect(() => isAtLeastFraction(1n, 1n, 10_001)).toThrow(moneyError('invalid_basis_points'));
  });
});

describe('fractionToBps', () => {
  it.each([
    ['0.98', 9800n],
    ['.98', 9800n],
    ['0.980', 9800n],
    ['0.98000000', 9800n],
    ['9.8e-1', 9800n],
    ['0.9799', 9799n],
    ['0.03', 300n],
    ['0.0003', 3n],
    ['0.0001', 1n],
    ['1', 10_000n],
    ['1.0', 10_000n],
    ['0', 0n],
  ] as const)('reads %j as %s bps', (text, expected) => {
    expect(fractionToBps(text)).toBe(expected);
  });

  it.each(['0.98765', '0.00005', '1e-5', '0.97995'])('refuses %j, finer than one basis point', (text) => {
    expect(() => fractionToBps(text)).toThrow(moneyError('too_many_decimals'));
  });

  it.each(['1.0001', '2', '-0.1', '-0.0001'])('refuses %j, outside 0..1', (text) => {
    expect(() => fractionToBps(text)).toThrow(moneyError('invalid_basis_points'));
  });

  it.each(['98%', '', 'NaN', '0,98'])('refuses the malformed %j', (text) => {
    expect(() => fractionToBps(text)).toThrow(moneyError('invalid_amount'));
  });
});
