import { describe, expect, it } from 'vitest';
import { ROUNDINGS, type Rounding } from './rounding.js';
import { createSeededRandom } from '../testing/seeded-random.js';
import { MAX_UINT256, assertDecimals, assertPositive, formatUnits, parseUnits } from './units.js';

const moneyError = (code: string) => expect.objectContaining({ name: 'PermanentError', code });
const WEI_PER_ETH = 10n ** 18n;
const MAX_UINT256_ETH = '115792089237316195423570985008687907853269984665640564039457.584007913129639935';

describe('parseUnits', () => {
  it.each([
    ['1', 18, WEI_PER_ETH],
    ['1.', 18, WEI_PER_ETH],
    ['.5', 18, 5n * 10n ** 17n],
    ['0.5', 18, 5n * 10n ** 17n],
    ['+1.5', 6, 1_500_000n],
    ['-1.5', 6, -1_500_000n],
    ['001.500', 6, 1_500_000n],
    ['0001', 0, 1n],
    ['5', 0, 5n],
    ['12.5', 6, 12_500_000n],
    ['1.50000000', 6, 1_500_000n],
    ['0.100000000000000000000000', 18, 10n ** 17n],
    ['100e-2', 0, 1n],
    ['0.1e1', 0, 1n],
    ['123.456e-3', 6, 123_456n],
    ['12345678901234567890.123456789012345678', 18, 12345678901234567890123456789012345678n],
  ] as const)('reads %j at %i decimals as %s base units', (text, decimals, expected) => {
    expect(parseUnits(text, decimals)).toBe(expected);
  });

  it.each(['0', '-0', '+0', '0.0', '.0', '0.', '000', '0e0', '-0e-5', '0.000000000000000000000000000000'])(
    'reads %j as zero',
    (text) => {
      expect(parseUnits(text, 18)).toBe(0n);
    },
  );

  describe('at 18 decimals', () => {
    it.each([
      ['0.000000000000000001', 1n],
      ['-0.000000000000000001', -1n],
      ['0.000000000000000010', 10n],
      ['0.999999999999999999', WEI_PER_ETH - 1n],
      ['1.000000000000000001', WEI_PER_ETH + 1n],
      ['1.000000000000000000', WEI_PER_ETH],
      ['0.010000000000000000', 10n ** 16n],
      [MAX_UINT256_ETH, MAX_UINT256],
      [`-${MAX_UINT256_ETH}`, -MAX_UINT256],
    ] as const)('reads %j as %s wei', (text, expected) => {
      expect(parseUnits(text, 18)).toBe(expected);
    });
  });

  describe('exponent notation', () => {
    it.each([
      ['1e-7', 18, 100_000_000_000n],
      ['1E-7', 18, 100_000_000_000n],
      ['-1e-7', 18, -100_000_000_000n],
      ['1e-7', 7, 1n],
      ['1.5E+3', 6, 1_500_000_000n],
      ['1.5e3', 0, 1500n],
      ['1.5e+3', 0, 1500n],
      ['2.5e18', 0, 2_500_000_000_000_000_000n],
      ['2.5e18', 18, 25n * 10n ** 35n],
      ['1E-18', 18, 1n],
      ['1e-18', 18, 1n],
      ['1e0', 0, 1n],
      ['1e+0', 0, 1n],
      ['1e-0', 0, 1n],
      ['1e0003', 0, 1000n],
      ['1e000000000000000000005', 0, 100_000n],
      ['.5e1', 0, 5n],
      ['5.e-1', 1, 5n],
      ['1.5e-10', 18, 150_000_000n],
      ['3.0000000000000004e-1', 18, 300_000_000_000_000_040n],
      ['1e77', 0, 10n ** 77n],
      [`1${'0'.repeat(200)}e-200`, 0, 1n],
    ] as const)('reads %j at %i decimals as %s base units', (text, decimals, expected) => {
      expect(parseUnits(text, decimals)).toBe(expected);
    });

    it.each(['1e1001', '1e-1001', '1E+1001', '1e999999999', `1e${'9'.repeat(200)}`, '0e99999'])(
      'refuses the exponent of %j as out of range without doing the arithmetic',
      (text) => {
        expect(() => parseUnits(text, 18, 'floor')).toThrow(moneyError('amount_out_of_range'));
      },
    );

    it('accepts an exponent of exactly ±1000', () => {
      expect(parseUnits('1e-1000', 18, 'floor')).toBe(0n);
      expect(parseUnits('1e-1000', 18, 'ceil')).toBe(1n);
      expect(parseUnits(`1${'0'.repeat(200)}e-1000`, 0, 'up')).toBe(1n);
      expect(() => parseUnits('1e1000', 0)).toThrow(moneyError('amount_out_of_range'));
    });
  });

  describe('excess precision', () => {
    it.each([
      ['1e-19', 18],
      ['0.0000000000000000001', 18],
      ['1.0000000000000000001', 18],
      ['1.0000001', 6],
      ['0.005', 2],
      ['12.345', 2],
      ['0.5', 0],
      ['1.5e-1', 0],
      ['-0.001', 2],
    ] as const)('refuses %j at %i decimals unless a rounding direction is named', (text, decimals) => {
      expect(() => parseUnits(text, decimals)).toThrow(moneyError('too_many_decimals'));
    });

    it('rounds 1e-19 ETH down to 0 wei with floor and up to 1 wei with ceil', () => {
      expect(parseUnits('1e-19', 18, 'floor')).toBe(0n);
      expect(parseUnits('1e-19', 18, 'ceil')).toBe(1n);
    });

    it.each([
      ['12.345', { floor: 1234n, ceil: 1235n, down: 1234n, up: 1235n, 'half-up': 1235n, 'half-even': 1234n }],
      ['-12.345', { floor: -1235n, ceil: -1234n, down: -1234n, up: -1235n, 'half-up': -1235n, 'half-even': -1234n }],
      ['12.355', { floor: 1235n, ceil: 1236n, down: 1235n, up: 1236n, 'half-up': 1236n, 'half-even': 1236n }],
      ['-12.355', { floor: -1236n, ceil: -1235n, down: -1235n, up: -1236n, 'half-up': -1236n, 'half-even': -1236n }],
      ['12.3451', { floor: 1234n, ceil: 1235n, down: 1234n, up: 1235n, 'half-up': 1235n, 'half-even': 1235n }],
      ['-12.3449', { floor: -1235n, ceil: -1234n, down: -1234n, up: -1235n, 'half-up': -1234n, 'half-even': -1234n }],
      ['0.005', { floor: 0n, ceil: 1n, down: 0n, up: 1n, 'half-up': 1n, 'half-even': 0n }],
      ['-0.005', { floor: -1n, ceil: 0n, down: 0n, up: -1n, 'half-up': -1n, 'half-even': 0n }],
      ['-0.015', { floor: -2n, ceil: -1n, down: -1n, up: -2n, 'half-up': -2n, 'half-even': -2n }],
      ['-0.0001', { floor: -1n, ceil: 0n, down: 0n, up: -1n, 'half-up': 0n, 'half-even': 0n }],
      ['-1.5e-2', { floor: -2n, ceil: -1n, down: -1n, up: -2n, 'half-up': -2n, 'half-even': -2n }],
      ['2.5e-2', { floor: 2n, ceil: 3n, down: 2n, up: 3n, 'half-up': 3n, 'half-even': 2n }],
    ] as const)('rounds %j to cents in every direction', (text, expected) => {
      for (const rounding of ROUNDINGS) {
        expect(parseUnits(text, 2, rounding), rounding).toBe(expected[rounding]);
      }
    });

    it.each(ROUNDINGS)('ignores the %s rounding when the value is exact', (rounding) => {
      expect(parseUnits('-1.5', 6, rounding)).toBe(-1_500_000n);
    });
  });

  describe('rejections', () => {
    it.each([
      '',
      ' ',
      ' 1',
      '1 ',
      '\t1',
      '1\n',
      '1 000',
      'NaN',
      'nan',
      'Infinity',
      '-Infinity',
      'inf',
      '0x10',
      '0X10',
      '0b1',
      '0o7',
      '1,5',
      '1,000',
      '1_000',
      '1.2.3',
      '1..5',
      '..5',
      '1.5.',
      'e5',
      'E5',
      '1e',
      '1e+',
      '1e-',
      '1e5.5',
      '1e--5',
      '1e+-5',
      '1ee5',
      '.',
      '-',
      '+',
      '-.',
      '.e1',
      '-e1',
      '--1',
      '++1',
      '+-1',
      '-+1',
      '1-',
      '1+',
      '\u0661', // Arabic-Indic digit one
      '\uff11', // fullwidth digit one
      'abc',
      '$1',
      '1USD',
      '1n',
      '0.5e',
      '½',
    ])('refuses %j as an invalid amount', (text) => {
      expect(() => parseUnits(text, 18, 'floor')).toThrow(moneyError('invalid_amount'));
    });

    it('refuses a number written with more than 256 characters', () => {
      expect(() => parseUnits(`1${'0'.repeat(256)}`, 0)).toThrow(moneyError('invalid_amount'));
      expect(() => parseUnits(`0.${'0'.repeat(255)}`, 18)).toThrow(moneyError('invalid_amount'));
      expect(parseUnits(`0.${'0'.repeat(254)}`, 18)).toBe(0n);
    });

    it.each([1, 1n, null, undefined, {}, ['1']])('refuses the non-string %s from an untyped caller', (value) => {
      expect(() => parseUnits(value as unknown as string, 6)).toThrow(moneyError('invalid_amount'));
    });

    it('keeps at most 64 characters of the rejected text in the error context', () => {
      const text = `x${'1'.repeat(200)}`;
      try {
        parseUnits(text, 6);
        expect.unreachable();
      } catch (error) {
        const preview = (error as { context: { text: string } }).context.text;
        expect(preview.startsWith(text.slice(0, 64))).toBe(true);
        expect(preview.length).toBeLessThan(90);
      }
    });

    it('refuses an amount beyond 2^256 − 1 base units in either direction', () => {
      expect(parseUnits(MAX_UINT256.toString(), 0)).toBe(MAX_UINT256);
      expect(() => parseUnits((MAX_UINT256 + 1n).toString(), 0)).toThrow(moneyError('amount_out_of_range'));
      expect(() => parseUnits(`-${(MAX_UINT256 + 1n).toString()}`, 0)).toThrow(moneyError('amount_out_of_range'));
      expect(() => parseUnits('1e78', 0)).toThrow(moneyError('amount_out_of_range'));
      expect(() => parseUnits('115792089237316195423570985008687907853269984665640564039457.584007913129639936', 18)).toThrow(
        moneyError('amount_out_of_range'),
      );
    });

    it.each([-1, 1.5, 256, Number.NaN, Number.POSITIVE_INFINITY])('refuses %s decimals', (decimals) => {
      expect(() => parseUnits('1', decimals)).toThrow(moneyError('invalid_decimals'));
    });

    it('refuses an unknown rounding mode even when the value is exact', () => {
      expect(() => parseUnits('1', 6, 'nearest' as Rounding)).toThrow(moneyError('invalid_rounding'));
    });
  });
});

describe('formatUnits', () => {
  it.each([
    [1n, 18, undefined, '0.000000000000000001'],
    [-1n, 18, undefined, '-0.000000000000000001'],
    [WEI_PER_ETH, 18, undefined, '1'],
    [15n * 10n ** 17n, 18, undefined, '1.5'],
    [-2n * WEI_PER_ETH, 18, undefined, '-2'],
    [0n, 18, undefined, '0'],
    [0n, 2, 2, '0.00'],
    [1250n, 2, 2, '12.50'],
    [1250n, 2, undefined, '12.5'],
    [100n, 2, 1, '1.0'],
    [123n, 2, 4, '1.2300'],
    [5n, 0, undefined, '5'],
    [5n, 0, 2, '5.00'],
    [-5n, 1, undefined, '-0.5'],
    [12_500_000n, 6, undefined, '12.5'],
    [100_000_000_000n, 18, undefined, '0.0000001'],
    [MAX_UINT256, 18, undefined, MAX_UINT256_ETH],
    [-MAX_UINT256, 18, undefined, `-${MAX_UINT256_ETH}`],
    [MAX_UINT256, 0, undefined, MAX_UINT256.toString()],
    [10n ** 40n, 18, undefined, '10000000000000000000000'],
  ] as const)('writes %s base units at %i decimals (min fraction digits %s) as %j', (units, decimals, min, expected) => {
    expect(formatUnits(units, decimals, min === undefined ? undefined : { minFractionDigits: min })).toBe(expected);
  });

  it.each([-1, 2.5, 256])('refuses %s decimals', (decimals) => {
    expect(() => formatUnits(1n, decimals)).toThrow(moneyError('invalid_decimals'));
  });

  it.each([-1, 0.5])('refuses %s minimum fraction digits', (minFractionDigits) => {
    expect(() => formatUnits(1n, 2, { minFractionDigits })).toThrow(moneyError('invalid_decimals'));
  });
});

describe('parseUnits and formatUnits', () => {
  const random = createSeededRandom(0x5eed_0001n);
  const decimalsChoices = [0, 1, 2, 6, 8, 18, 30, 77] as const;
  const cases = Array.from({ length: 2000 }, () => {
    let units = random.signedUpToBits(256);
    if (units > MAX_UINT256) units = MAX_UINT256;
    if (units < -MAX_UINT256) units = -MAX_UINT256;
    return { units, decimals: random.pick(decimalsChoices), min: Number(random.below(5n)) };
  });

  it('round-trips 2000 random amounts up to 2^256 − 1 through the canonical text', () => {
    for (const { units, decimals, min } of cases) {
      const text = formatUnits(units, decimals, { minFractionDigits: min });
      expect(parseUnits(text, decimals), text).toBe(units);
      expect(formatUnits(parseUnits(formatUnits(units, decimals), decimals), decimals)).toBe(formatUnits(units, decimals));
    }
  });

  it('round-trips 2000 random amounts written in exponent form', () => {
    for (const { units, decimals } of cases) {
      expect(parseUnits(`${units}e-${decimals}`, decimals)).toBe(units);
      expect(parseUnits(`${units}E-${decimals + 3}`, decimals + 3)).toBe(units);
    }
  });

  it('writes canonical text with no trailing fraction zeros and no leading zeros', () => {
    for (const { units, decimals } of cases) {
      const text = formatUnits(units, decimals);
      expect(text).toMatch(/^-?(0|[1-9]\d*)(\.\d*[1-9])?$/);
    }
  });
});

describe('assertDecimals', () => {
  it.each([0, 2, 6, 18, 255])('accepts %i decimals', (decimals) => {
    expect(() => assertDecimals(decimals)).not.toThrow();
  });
});

describe('assertPositive', () => {
  it('accepts one base unit', () => {
    expect(() => assertPositive(1n)).not.toThrow();
  });

  it.each([0n, -1n, -MAX_UINT256])('refuses %s and names the field', (units) => {
    expect(() => assertPositive(units, 'payAmount')).toThrow(
      expect.objectContaining({ code: 'amount_not_positive', context: { field: 'payAmount', units: units.toString() } }),
    );
  });
});
