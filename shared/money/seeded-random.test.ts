import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../testing/seeded-random.js';

describe('createSeededRandom', () => {
  it('repeats the same sequence for the same seed', () => {
    const a = createSeededRandom(42n);
    const b = createSeededRandom(42n);
    for (let i = 0; i < 100; i += 1) expect(a.signedUpToBits(256)).toBe(b.signedUpToBits(256));
  });

  it('produces the published SplitMix64 output for seed 0', () => {
    expect(createSeededRandom(0n).next64()).toBe(0xe220a8397b1dcdafn);
  });

  it('stays within the requested bounds', () => {
    const random = createSeededRandom(7n);
    for (let i = 0; i < 1000; i += 1) {
      expect(random.below(10n) < 10n).toBe(true);
      const value = random.bigintUpToBits(256);
      expect(value >= 0n && value < 2n ** 256n).toBe(true);
    }
  });
});
