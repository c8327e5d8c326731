import { describe, expect, it } from 'vitest';
import { PermanentError } from '../errors/index.js';
import { ROUNDINGS, assertRounding, divideRounded, isRounding, mulDiv, type Rounding } from './rounding.js';
import { createSeededRandom } from '../testing/seeded-random.js';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof PermanentError) return error.code;
    throw error;
  }
  return undefined;
}

// Each row is a value in tenths (25 = 2.5) and the expected integer for every mode.
const TENTHS_TABLE: ReadonlyArray<readonly [bigint, Record<Rounding, bigint>]> = [
  [25n, { floor: 2n, ceil: 3n, down: 2n, up: 3n, 'half-up': 3n, 'half-even': 2n }],
  [-25n, { floor: -3n, ceil: -2n, down: -2n, up: -3n, 'half-up': -3n, 'half-even': -2n }],
  [35n, { floor: 3n, ceil: 4n, down: 3n, up: 4n, 'half-up': 4n, 'half-even': 4n }],
  [-35n, { floor: -4n, ceil: -3n, down: -3n, up: -4n, 'half-up': -4n, 'half-even': -4n }],
  [24n, { floor: 2n, ceil: 3n, down: 2n, up: 3n, 'half-up': 2n, 'half-even': 2n }],
  [-24n, { floor: -3n, ceil: -2n, down: -2n, up: -3n, 'half-up': -2n, 'half-even': -2n }],
  [26n, { floor: 2n, ceil: 3n, down: 2n, up: 3n, 'half-up': 3n, 'half-even': 3n }],
  [-26n, { floor: -3n, ceil: -2n, down: -2n, up: -3n, 'half-up': -3n, 'half-even': -3n }],
  [5n, { floor: 0n, ceil: 1n, down: 0n, up: 1n, 'half-up': 1n, 'half-even': 0n }],
  [-5n, { floor: -1n, ceil: 0n, down: 0n, up: -1n, 'half-up': -1n, 'half-even': 0n }],
  [15n, { floor: 1n, ceil: 2n, down: 1n, up: 2n, 'half-up': 2n, 'half-even': 2n }],
  [-15n, { floor: -2n, ceil: -1n, down: -1n, up: -2n, 'half-up': -2n, 'half-even': -2n }],
  [1n, { floor: 0n, ceil: 1n, down: 0n, up: 1n, 'half-up': 0n, 'half-even': 0n }],
  [-1n, { floor: -1n, ceil: 0n, down: 0n, up: -1n, 'half-up': 0n, 'half-even': 0n }],
  [9n, { floor: 0n, ceil: 1n, down: 0n, up: 1n, 'half-up': 1n, 'half-even': 1n }],
  [-9n, { floor: -1n, ceil: 0n, down: 0n, up: -1n, 'half-up': -1n, 'half-even': -1n }],
  [30n, { floor: 3n, ceil: 3n, down: 3n, up: 3n, 'half-up': 3n, 'half-even': 3n }],
  [-30n, { floor: -3n, ceil: -3n, down: -3n, up: -3n, 'half-up': -3n, 'half-even': -3n }],
  [0n, { floor: 0n, ceil: 0n, down: 0n, up: 0n, 'half-up': 0n, 'half-even': 0n }],
];

const TENTHS_CASES = TENTHS_TABLE.flatMap(([tenths, expected]) =>
  ROUNDINGS.map((rounding) => [tenths, rounding, expected[rounding]] as const),
);

/** The defining inequalities of each mode, checked with multiplication only. */
function satisfiesRounding(n: bigint, d: bigint, q: bigint, rounding: Rounding): boolean {
  if (d < 0n) return satisfiesRounding(-n, -d, q, rounding);
  const lower = q * d <= n && n < (q + 1n) * d; // q = floor(n/d)
  const upper = (q - 1n) * d < n && n <= q * d; // q = ceil(n/d)
  const distanceTwice = (n - q * d < 0n ? q * d - n : n - q * d) * 2n;
  switch (rounding) {
    case 'floor':
      return lower;
    case 'ceil':
      return upper;
    case 'down':
      return n >= 0n ? lower : upper;
    case 'up':
      return n >= 0n ? upper : lower;
    case 'half-up':
      return distanceTwice < d || (distanceTwice === d && (n >= 0n ? upper : lower));
    case 'half-even':
      return distanceTwice < d || (distanceTwice === d && q % 2n === 0n);
  }
}

describe('Rounding', () => {
  it.each(ROUNDINGS)('recognises %s as a rounding mode', (rounding) => {
    expect(isRounding(rounding)).toBe(true);
  });

  it.each(['HALF_UP', 'round', '', 'halfEven', null, 1])('rejects %j as a rounding mode', (value) => {
    expect(isRounding(value)).toBe(false);
    expect(codeOf(() => assertRounding(value))).toBe('invalid_rounding');
  });
});

describe('divideRounded', () => {
  it.each(TENTHS_CASES)('rounds %i tenths with %s to %i', (tenths, rounding, expected) => {
    expect(divideRounded(tenths, 10n, rounding)).toBe(expected);
  });

  it.each(TENTHS_CASES)('rounds %i tenths over a negative divisor with %s like the negated value', (tenths, rounding, expected) => {
    expect(divideRounded(-tenths, -10n, rounding)).toBe(expected);
  });

  it('satisfies the defining inequality of every mode for every small dividend and divisor', () => {
    for (let n = -60n; n <= 60n; n += 1n) {
      for (const d of [1n, 2n, 3n, 4n, 5n, 6n, 7n, 10n, -1n, -2n, -3n, -7n]) {
        for (const rounding of ROUNDINGS) {
          const q = divideRounded(n, d, rounding);
          expect(satisfiesRounding(n, d, q, rounding), `${n}/${d} ${rounding} -> ${q}`).toBe(true);
        }
      }
    }
  });

  it('satisfies the defining inequality of every mode for thousands of random uint256-sized operands', () => {
    const random = createSeededRandom(20240601n);
    for (let i = 0; i < 3000; i += 1) {
      const n = random.signedUpToBits(300);
      let d = random.signedUpToBits(140);
      if (d === 0n) d = 1n;
      const rounding = random.pick(ROUNDINGS);
      const q = divideRounded(n, d, rounding);
      expect(satisfiesRounding(n, d, q, rounding), `${n}/${d} ${rounding} -> ${q}`).toBe(true);
    }
  });

  it('refuses to divide by zero', () => {
    expect(codeOf(() => divideRounded(5n, 0n, 'floor'))).toBe('division_by_zero');
  });

  it('refuses an unknown rounding mode from an untyped caller', () => {
    expect(codeOf(() => divideRounded(5n, 2n, 'nearest' as Rounding))).toBe('invalid_rounding');
  });
});

describe('mulDiv', () => {
  it.each([
    [1000n, 1n, 3n, 'floor', 333n],
    [1000n, 1n, 3n, 'ceil', 334n],
    [1000n, 2n, 3n, 'half-up', 667n],
    [-1000n, 1n, 3n, 'floor', -334n],
    [-1000n, 1n, 3n, 'down', -333n],
    [-1000n, 1n, 3n, 'up', -334n],
    [-1000n, 1n, 3n, 'ceil', -333n],
    [5n, 1n, 2n, 'half-even', 2n],
    [7n, 1n, 2n, 'half-even', 4n],
    [-5n, 1n, 2n, 'half-even', -2n],
    [-5n, 1n, 2n, 'half-up', -3n],
    [10n ** 18n, 300n, 10_000n, 'floor', 3n * 10n ** 16n],
  ] as const)('computes %i × %i / %i rounded %s as %i', (value, numerator, denominator, rounding, expected) => {
    expect(mulDiv(value, numerator, denominator, rounding)).toBe(expected);
  });

  it('keeps full precision when the product is far beyond 2^256', () => {
    const big = 2n ** 256n - 1n;
    expect(mulDiv(big, big, big, 'floor')).toBe(big);
    expect(mulDiv(big, 3n, 2n ** 256n, 'ceil')).toBe(3n);
    expect(mulDiv(big, 3n, 2n ** 256n, 'floor')).toBe(2n);
  });

  it('refuses a zero denominator', () => {
    expect(codeOf(() => mulDiv(1n, 1n, 0n, 'floor'))).toBe('division_by_zero');
  });
});
