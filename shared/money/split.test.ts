import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../testing/seeded-random.js';
import { splitByLargestRemainder } from './split.js';

const moneyError = (code: string) => expect.objectContaining({ name: 'PermanentError', code });
const sum = (values: readonly bigint[]): bigint => values.reduce((total, value) => total + value, 0n);

describe('splitByLargestRemainder', () => {
  it.each([
    ['100 three ways', 100n, [1n, 1n, 1n], [34n, 33n, 33n]],
    ['the design example 48.50 USDT over $10/$15/$25', 4850n, [1000n, 1500n, 2500n], [970n, 1455n, 2425n]],
    ['1 unit three ways to the first', 1n, [1n, 1n, 1n], [1n, 0n, 0n]],
    ['2 units three ways to the first two', 2n, [1n, 1n, 1n], [1n, 1n, 0n]],
    ['10 units six ways, ties by index', 10n, [1n, 1n, 1n, 1n, 1n, 1n], [2n, 2n, 2n, 2n, 1n, 1n]],
    ['the leftover to the largest remainder, not the lowest index', 100n, [1n, 2n], [33n, 67n]],
    ['one unit to the heavier weight', 1n, [1n, 3n], [0n, 1n]],
    ['one unit to the heavier weight listed first', 1n, [3n, 1n], [1n, 0n]],
    ['around a zero weight', 5n, [0n, 1n], [0n, 5n]],
    ['everything to the only non-zero weight', 7n, [0n, 0n, 3n, 0n], [0n, 0n, 7n, 0n]],
    ['nothing', 0n, [1n, 2n, 3n], [0n, 0n, 0n]],
    ['to a single weight', 12_345n, [9n], [12_345n]],
    ['exactly when shares are whole', 600n, [1n, 2n, 3n], [100n, 200n, 300n]],
    ['with leftover reaching past a zero weight', 3n, [1n, 0n, 1n, 1n, 1n], [1n, 0n, 1n, 1n, 0n]],
    ['by huge weights, the largest remainder first and then by index', 2n, [10n ** 30n, 10n ** 30n + 1n, 10n ** 30n], [1n, 1n, 0n]],
  ] as const)('splits %s', (_name, total, weights, expected) => {
    const shares = splitByLargestRemainder(total, weights);
    expect(shares).toEqual(expected);
    expect(sum(shares)).toBe(total);
  });

  it('splits 2^256 − 1 three ways exactly', () => {
    const total = 2n ** 256n - 1n;
    const shares = splitByLargestRemainder(total, [1n, 1n, 1n]);
    expect(sum(shares)).toBe(total);
    expect(shares[0]).toBe(total / 3n);
  });

  it('sums exactly, stays within one unit of each exact quota and serves the largest remainders first, in 3000 random cases', () => {
    const random = createSeededRandom(0x1a26e5n);
    for (let i = 0; i < 3000; i += 1) {
      const total = random.bigintUpToBits(random.pick([8, 64, 256]));
      const count = Number(random.below(12n)) + 1;
      const weights = Array.from({ length: count }, () => (random.below(4n) === 0n ? 0n : random.bigintUpToBits(80)));
      if (sum(weights) === 0n) weights[0] = 1n;

      const shares = splitByLargestRemainder(total, weights);
      const weightSum = sum(weights);
      expect(sum(shares)).toBe(total);
      expect(shares).toHaveLength(count);

      const remainders = weights.map((weight) => (total * weight) % weightSum);
      const bumped = shares.map((share, index) => share - (total * (weights[index] ?? 0n)) / weightSum);
      for (const [index, bump] of bumped.entries()) {
        expect(bump === 0n || bump === 1n).toBe(true);
        if (weights[index] === 0n) expect(shares[index]).toBe(0n);
      }
      // Every bumped share outranks every share left alone: larger remainder, or equal and lower index.
      for (const [a, bumpA] of bumped.entries()) {
        for (const [b, bumpB] of bumped.entries()) {
          if (bumpA !== 1n || bumpB !== 0n) continue;
          const ra = remainders[a] ?? 0n;
          const rb = remainders[b] ?? 0n;
          expect(ra > rb || (ra === rb && a < b)).toBe(true);
        }
      }
    }
  });

  it('gives the same answer every time and leaves the weights untouched', () => {
    const weights = [5n, 3n, 3n, 0n, 7n] as const;
    const copy = [...weights];
    const first = splitByLargestRemainder(1001n, weights);
    expect(splitByLargestRemainder(1001n, weights)).toEqual(first);
    expect(weights).toEqual(copy);
  });

  it('refuses an empty list of weights', () => {
    expect(() => splitByLargestRemainder(100n, [])).toThrow(moneyError('invalid_weights'));
  });

  it('refuses a negative weight', () => {
    expect(() => splitByLargestRemainder(100n, [1n, -1n, 2n])).toThrow(moneyError('invalid_weights'));
  });

  it('refuses weights that are all zero', () => {
    expect(() => splitByLargestRemainder(100n, [0n, 0n])).toThrow(moneyError('invalid_weights'));
  });

  it('refuses a negative total', () => {
    expect(() => splitByLargestRemainder(-1n, [1n, 1n])).toThrow(moneyError('invalid_amount'));
  });
});
