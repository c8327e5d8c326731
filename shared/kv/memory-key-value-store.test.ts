import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createMemoryKeyValueStore } from './index.js';
import { describeKeyValueStoreContract } from '../testing/key-value-store-contract.js';

describeKeyValueStoreContract('createMemoryKeyValueStore (KeyValueStore contract)', async () => {
  const clock = createFakeClock();
  return { store: createMemoryKeyValueStore({ clock }), clock, dispose: async () => {} };
});

describe('createMemoryKeyValueStore', () => {
  it('evicts the least recently written entry once maxEntries live entries exist', async () => {
    const store = createMemoryKeyValueStore({ clock: createFakeClock(), maxEntries: 3 });
    await store.set('a', 1);
    await store.set('b', 2);
    await store.set('c', 3);
    await store.set('a', 10); // rewriting 'a' makes 'b' the oldest
    await store.set('d', 4);
    expect(await Promise.all(['a', 'b', 'c', 'd'].map((key) => store.get(key)))).toEqual([10, undefined, 3, 4]);
  });

  it('drops expired entries before evicting a live one', async () => {
    const clock = createFakeClock();
    const store = createMemoryKeyValueStore({ clock, maxEntries: 2 });
    await store.set('live', 1);
    await store.set('short', 2, { ttlSeconds: 1 });
    clock.advance(1_000);
    await store.set('new', 3);
    expect(await store.get('live')).toBe(1);
    expect(await store.get('new')).toBe(3);
  });

  it('stays within maxEntries when every key is distinct', async () => {
    const store = createMemoryKeyValueStore({ clock: createFakeClock(), maxEntries: 100 });
    for (let i = 0; i < 1_000; i++) await store.increment(`rate:${i}`, { windowSeconds: 60 });
    const present = await Promise.all(Array.from({ length: 1_000 }, (_, i) => store.get(`rate:${i}`)));
    expect(present.filter((count) => count !== undefined)).toHaveLength(100);
    expect(present.slice(900).every((count) => count === 1)).toBe(true);
  });

  it('rejects a maxEntries that is not a positive integer', () => {
    expect(() => createMemoryKeyValueStore({ maxEntries: 0 })).toThrow(/maxEntries/);
  });

  it('uses the system clock by default', async () => {
    const store = createMemoryKeyValueStore();
    const before = Date.now();
    const { resetAt } = await store.increment('rate', { windowSeconds: 1 });
    expect(resetAt.getTime()).toBeGreaterThanOrEqual(before + 1_000);
    expect(resetAt.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
  });
});
