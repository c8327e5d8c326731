import { describe, expect, it } from 'vitest';
import { convertByRate, rescaleUnits } from './conversion.js';
import { ROUNDINGS, type Rounding } from './rounding.js';
import { createSeededRandom } from '../testing/seeded-random.js';

const moneyError = (code: string) => expect.objectContaining({ name: 'PermanentError', code });
const WEI_PER_ETH = 10n ** 18n;

describe('rescaleUnits', () => {
  it.each([
    [12_500_000n, 6, 2, 'floor', 1250n],
    [12_345_678n, 6, 2, 'floor', 1234n],
    [12_345_678n, 6, 2, 'ceil', 1235n],
    [12_345_678n, 6, 2, 'down', 1234n],
    [12_345_678n, 6, 2, 'half-up', 1235n],
    [-12_345_678n, 6, 2, 'floor', -1235n],
    [-12_345_678n, 6, 2, 'ceil', -1234n],
    [-12_345_678n, 6, 2, 'down', -1234n],
    [-12_345_678n, 6, 2, 'up', -1235n],
    [12_345_000n, 6, 2, 'half-even', 1234n],
    [12_355_000n, 6, 2, 'half-even', 1236n],
    [-12_345_000n, 6, 2, 'half-up', -1235n],
    [1n, 18, 6, 'floor', 0n],
    [1n, 18, 6, 'ceil', 1n],
    [1250n, 2, 6, 'floor', 12_500_000n],
    [1n, 6, 18, 'floor', 1_000_000_000_000n],
    [-7n, 0, 18, 'ceil', -7n * WEI_PER_ETH],
    [123n, 6, 6, 'up', 123n],
  ] as const)('moves %s units from %i to %i decimals rounded %s as %s', (units, from, to, rounding, expected) => {
    expect(rescaleUnits(units, from, to, rounding)).toBe(expected);
  });

  it('returns to the same units after scaling up and back down in every mode', () => {
    const random = createSeededRandom(618n);
    for (let i = 0; i < 500; i += 1) {
      const units = random.signedUpToBits(256);
      const rounding = random.pick(ROUNDINGS);
      expect(rescaleUnits(rescaleUnits(units, 6, 18, rounding), 18, 6, rounding)).toBe(units);
    }
  });

  it('refuses invalid decimals and rounding', () => {
    expect(() => rescaleUnits(1n, -1, 2, 'floor')).toThrow(moneyError('invalid_decimals'));
    expect(() => rescaleUnits(1n, 2, 256, 'floor')).toThrow(moneyError('invalid_decimals'));
    expect(() => rescaleUnits(1n, 2, 6, 'nearest' as Rounding)).toThrow(moneyError('invalid_rounding'));
  });
});

describe('convertByRate', () => {
  it.each([
    ['1 ETH to USD cents at 3150.25', WEI_PER_ETH, 18, 2, '3150.25', 'floor', 315_025n],
    ['-1 ETH to USD cents at 3150.25', -WEI_PER_ETH, 18, 2, '3150.25', 'floor', -315_025n],
    ['0.01 ETH to USD cents at 3150.255 (floor)', 10n ** 16n, 18, 2, '3150.255', 'floor', 3150n],
    ['0.01 ETH to USD cents at 3150.255 (ceil)', 10n ** 16n, 18, 2, '3150.255', 'ceil', 3151n],
    ['100 USDT to wei at 0.000317435', 100_000_000n, 6, 18, '0.000317435', 'floor', 31_743_500_000_000_000n],
    ['100 USDT to wei at 3.17435e-4', 100_000_000n, 6, 18, '3.17435e-4', 'floor', 31_743_500_000_000_000n],
    ['1 ETH to USDT at 3.15025E+3', WEI_PER_ETH, 18, 6, '3.15025E+3', 'floor', 3_150_250_000n],
    ['12.345678 USDT to USD cents at par', 12_345_678n, 6, 2, '1', 'floor', 1234n],
    ['12.345678 USDT to USD cents at par, half-up', 12_345_678n, 6, 2, '1', 'half-up', 1235n],
    ['one USDT micro-unit at 5000 (half a cent), half-even', 1n, 6, 2, '5000', 'half-even', 0n],
    ['one USDT micro-unit at 5000 (half a cent), half-up', 1n, 6, 2, '5000', 'half-up', 1n],
    ['three USDT micro-units at 5000 (1.5 cents), half-even', 3n, 6, 2, '5000', 'half-even', 2n],
    ['one wei to cents at 3150.25 (floor)', 1n, 18, 2, '3150.25', 'floor', 0n],
    ['one wei to cents at 3150.25 (ceil)', 1n, 18, 2, '3150.25', 'ceil', 1n],
    ['a whole-number rate with a trailing point', 200n, 2, 2, '3.', 'floor', 600n],
  ] as const)('converts %s', (_name, units, from, to, rate, rounding, expected) => {
    expect(convertByRate(units, from, to, rate, rounding)).toBe(expected);
  });

  it('brackets the exact product in every mode on random amounts and rates', () => {
    const random = createSeededRandom(3150n);
    for (let i = 0; i < 1500; i += 1) {
      const units = random.signedUpToBits(200);
      const coefficient = random.bigintUpToBits(60) + 1n;
      const shift = random.below(30n);
      const rate = `${coefficient}e-${shift}`;
      const [from, to] = random.pick([
        [18, 2],
        [6, 2],
        [2, 18],
        [18, 6],
        [6, 18],
      ] as const);
      const rounding = random.pick(ROUNDINGS);
      const result = convertByRate(units, from, to, rate, rounding);
      // exact value = units × coefficient × 10^(to − from − shift) = numerator / denominator
      const power = BigInt(to - from) - shift;
      const numerator = units * coefficient * (power > 0n ? 10n ** power : 1n);
      const denominator = power < 0n ? 10n ** -power : 1n;
      const below = result * denominator <= numerator;
      const above = result * denominator >= numerator;
      const within = (result - 1n) * denominator < numerator && numerator < (result + 1n) * denominator;
      expect(within).toBe(true);
      if (rounding === 'floor') expect(below).toBe(true);
      if (rounding === 'ceil') expect(above).toBe(true);
      if (rounding === 'down') expect(units >= 0n ? below : above).toBe(true);
      if (rounding === 'up') expect(units >= 0n ? above : below).toBe(true);
    }
  });

  it.each(['0', '0.000', '-1', '-0.5', '+0e5'])('refuses the rate %j, which is not above zero', (rate) => {
    expect(() => convertByRate(1n, 18, 2, rate, 'floor')).toThrow(moneyError('invalid_rate'));
  });

  it.each(['', 'abc', ' 1', '1,5', 'NaN', 'Infinity', '0x10', '1/3'])('refuses the malformed rate %j', (rate) => {
    expect(() => convertByRate(1n, 18, 2, rate, 'floor')).toThrow(moneyError('invalid_rate'));
  });

  it('refuses a rate exponent beyond ±1000', () => {
    expect(() => convertByRate(1n, 18, 2, '1e999999', 'floor')).toThrow(moneyError('amount_out_of_range'));
  });

  it('refuses invalid decimals and rounding', () => {
    expect(() => convertByRate(1n, 18, -2, '1', 'floor')).toThrow(moneyError('invalid_decimals'));
    expect(() => convertByRate(1n, 18, 2, '1', 'round' as Rounding)).toThrow(moneyError('invalid_rounding'));
  });
});
