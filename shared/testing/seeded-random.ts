/**
 * Test support only (nothing in production imports it): a deterministic bigint generator for property tests, so a
 * failing case reproduces on every run. SplitMix64, chosen because it is tiny and well mixed. It belongs in
 * `shared/testing/` and lives here only until that folder is open to this module.
 */
export type SeededRandom = {
  /** A uniformly random integer in 0..2^64 − 1. */
  next64(): bigint;
  /** A random integer in 0..max − 1 (`max` > 0). Slightly biased for huge `max`, which no test here cares about. */
  below(max: bigint): bigint;
  /** A random non-negative integer whose bit length is itself random in 0..maxBits, so small and huge values both occur. */
  bigintUpToBits(maxBits: number): bigint;
  /** Like {@link bigintUpToBits}, negative half of the time. */
  signedUpToBits(maxBits: number): bigint;
  /** Picks one element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
};

const MASK_64 = (1n << 64n) - 1n;

export function createSeededRandom(seed: bigint): SeededRandom {
  let state = seed & MASK_64;
  const next64 = (): bigint => {
    state = (state + 0x9e3779b97f4a7c15n) & MASK_64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK_64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK_64;
    return z ^ (z >> 31n);
  };
  const bits = (count: bigint): bigint => {
    let value = 0n;
    for (let filled = 0n; filled < count; filled += 64n) value = (value << 64n) | next64();
    return value & ((1n << count) - 1n);
  };
  const below = (max: bigint): bigint => bits(BigInt(max.toString(2).length) + 64n) % max;
  const bigintUpToBits = (maxBits: number): bigint => bits(below(BigInt(maxBits) + 1n));
  return {
    next64,
    below,
    bigintUpToBits,
    signedUpToBits: (maxBits) => (next64() & 1n ? -bigintUpToBits(maxBits) : bigintUpToBits(maxBits)),
    pick: (items) => {
      const item = items[Number(below(BigInt(items.length)))];
      if (item === undefined) throw new Error('pick needs a non-empty list');
      return item;
    },
  };
}
