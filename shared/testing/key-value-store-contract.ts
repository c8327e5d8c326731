import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import type { FakeClock } from './fakes/clock.js';
import type { KeyValueStore } from '../kv/index.js';

/** A fresh, empty store whose expiry is decided by `clock`; `dispose` releases what `makeStore` created. */
export interface KeyValueStoreUnderTest {
  store: KeyValueStore;
  clock: FakeClock;
  dispose(): Promise<void>;
}

async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

/**
 * Concurrency tests on the Firestore emulator retry aborted transactions with the SDK's backoff
 * (≈1 s and growing), which takes seconds per burst: the emulator aborts contended transactions
 * where production Firestore mostly waits on locks.
 */
const CONCURRENCY_TIMEOUT_MS = 120_000;

/**
 * The behaviour every `KeyValueStore` adapter must show. Call it from an adapter's test file;
 * `makeStore` runs before each test and must return an empty store.
 */
export function describeKeyValueStoreContract(name: string, makeStore: () => Promise<KeyValueStoreUnderTest>): void {
  describe(name, () => {
    let store: KeyValueStore;
    let clock: FakeClock;
    let dispose: () => Promise<void>;

    beforeEach(async () => {
      ({ store, clock, dispose } = await makeStore());
    });
    afterEach(() => dispose());

    describe('get', () => {
      it('returns undefined for a key that was never set', async () => {
        expect(await store.get('missing')).toBeUndefined();
      });

      it('returns a copy, so mutating the result does not change the stored value', async () => {
        await store.set('profile', { tags: ['a'] });
        const first = await store.get<{ tags: string[] }>('profile');
        first?.tags.push('b');
        expect(await store.get('profile')).toEqual({ tags: ['a'] });
      });
    });

    describe('set', () => {
      it.each([
        ['an object', { chatId: 42, step: 'tier', nested: { ok: true, none: null } }],
        ['an array', [1, 'two', [3, [4]], { five: 5 }]],
        ['a string', 'hello'],
        ['an empty string', ''],
        ['an integer', 12_345],
        ['a negative fraction', -0.125],
        ['zero', 0],
        ['a boolean', false],
        ['null', null],
        ['unicode text', 'Grüße 👋 你好'],
      ])('round-trips %s', async (_label, value) => {
        await store.set('value', value);
        expect(await store.get('value')).toEqual(value);
      });

      it('overwrites an earlier value', async () => {
        await store.set('step', 'first');
        await store.set('step', { second: true });
        expect(await store.get('step')).toEqual({ second: true });
      });

      it('drops object properties that are undefined, as JSON does', async () => {
        await store.set('partial', { kept: 1, dropped: undefined });
        expect(await store.get('partial')).toStrictEqual({ kept: 1 });
      });

      it.each([
        ['a bigint', 10n],
        ['a nested bigint', { amount: { units: 1n } }],
        ['a function', () => 1],
        ['undefined', undefined],
        ['an undefined array element', [1, undefined]],
        ['NaN', Number.NaN],
        ['Infinity', Number.POSITIVE_INFINITY],
        ['a Date', new Date(0)],
        ['a Map', new Map([['a', 1]])],
        ['a class instance', new (class Session {})()],
        ['a symbol', Symbol('s')],
      ])('rejects %s with kv_value_invalid', async (_label, value) => {
        expect(await rejectionCode(store.set('bad', value))).toBe('kv_value_invalid');
        expect(await store.get('bad')).toBeUndefined();
      });

      it('rejects a cyclic object with kv_value_invalid', async () => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        expect(await rejectionCode(store.set('bad', cyclic))).toBe('kv_value_invalid');
      });

      it('names the path of the offending part in the error', async () => {
        await expect(store.set('bad', { payout: { amounts: [1, 2n] } })).rejects.toThrow('$.payout.amounts[1]');
      });

      it('rejects a value larger than 1,000,000 bytes as JSON with kv_value_too_large', async () => {
        expect(await rejectionCode(store.set('big', 'x'.repeat(1_000_000)))).toBe('kv_value_too_large');
      });

      it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, 11 * 366 * 24 * 3600])(
        'rejects ttlSeconds %s with kv_ttl_invalid',
        async (ttlSeconds) => {
          expect(await rejectionCode(store.set('ttl', 1, { ttlSeconds }))).toBe('kv_ttl_invalid');
        },
      );
    });

    describe('expiry', () => {
      it('keeps an entry until exactly ttlSeconds have passed, then reads it as absent', async () => {
        await store.set('code', '123456', { ttlSeconds: 60 });
        clock.advance(59_999);
        expect(await store.get('code')).toBe('123456');
        clock.advance(1);
        expect(await store.get('code')).toBeUndefined();
      });

      it('never expires an entry written without ttlSeconds', async () => {
        await store.set('forever', 1);
        clock.advance(5 * 365 * 24 * 3600 * 1000);
        expect(await store.get('forever')).toBe(1);
      });

      it('replaces the expiry on every write: a later set without ttlSeconds makes the entry permanent', async () => {
        await store.set('entry', 1, { ttlSeconds: 10 });
        await store.set('entry', 2);
        clock.advance(60_000);
        expect(await store.get('entry')).toBe(2);
      });

      it('restarts the ttl on overwrite', async () => {
        await store.set('entry', 1, { ttlSeconds: 10 });
        clock.advance(8_000);
        await store.set('entry', 2, { ttlSeconds: 10 });
        clock.advance(8_000);
        expect(await store.get('entry')).toBe(2);
      });
    });

    describe('delete', () => {
      it('removes a key', async () => {
        await store.set('gone', 'soon');
        await store.delete('gone');
        expect(await store.get('gone')).toBeUndefined();
      });

      it('accepts a key that does not exist', async () => {
        await expect(store.delete('never-set')).resolves.toBeUndefined();
      });
    });

    describe('setIfAbsent', () => {
      it('stores and returns true the first time, then returns false and keeps the first value', async () => {
        expect(await store.setIfAbsent('update:1001', 'first')).toBe(true);
        expect(await store.setIfAbsent('update:1001', 'second')).toBe(false);
        expect(await store.get('update:1001')).toBe('first');
      });

      it('stores again once the earlier entry has expired', async () => {
        expect(await store.setIfAbsent('otp', 'a', { ttlSeconds: 30 })).toBe(true);
        clock.advance(29_999);
        expect(await store.setIfAbsent('otp', 'b', { ttlSeconds: 30 })).toBe(false);
        clock.advance(1);
        expect(await store.setIfAbsent('otp', 'c', { ttlSeconds: 30 })).toBe(true);
        expect(await store.get('otp')).toBe('c');
        clock.advance(30_000);
        expect(await store.get('otp')).toBeUndefined();
      });

      it('stores again after a delete', async () => {
        await store.setIfAbsent('once', 1);
        await store.delete('once');
        expect(await store.setIfAbsent('once', 2)).toBe(true);
      });

      it('lets exactly one of 10 concurrent calls store the value', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, caller) => store.setIfAbsent('race', { caller })),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.get('race')).toEqual({ caller: results.indexOf(true) });
      }, CONCURRENCY_TIMEOUT_MS);

      it('validates the value even when the key is already present', async () => {
        await store.setIfAbsent('present', 1);
        expect(await rejectionCode(store.setIfAbsent('present', 1n))).toBe('kv_value_invalid');
      });
    });

    describe('increment', () => {
      it('counts hits within one window and reports when it resets', async () => {
        const resetAt = new Date(clock.now().getTime() + 60_000);
        expect(await store.increment('rate:ip', { windowSeconds: 60 })).toEqual({ count: 1, resetAt });
        clock.advance(30_000);
        expect(await store.increment('rate:ip', { windowSeconds: 60 })).toEqual({ count: 2, resetAt });
        clock.advance(29_999);
        expect(await store.increment('rate:ip', { windowSeconds: 60 })).toEqual({ count: 3, resetAt });
        expect(await store.get('rate:ip')).toBe(3);
      });

      it('starts a new window at 1 once the window has passed', async () => {
        await store.increment('rate:ip', { windowSeconds: 60 });
        await store.increment('rate:ip', { windowSeconds: 60 });
        clock.advance(60_000);
        const result = await store.increment('rate:ip', { windowSeconds: 60 });
        expect(result).toEqual({ count: 1, resetAt: new Date(clock.now().getTime() + 60_000) });
      });

      it('keeps separate counts per key', async () => {
        await store.increment('rate:a', { windowSeconds: 10 });
        await store.increment('rate:a', { windowSeconds: 10 });
        expect((await store.increment('rate:b', { windowSeconds: 10 })).count).toBe(1);
      });

      it('gives 20 concurrent hits the counts 1 to 20, each exactly once', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.increment('rate:burst', { windowSeconds: 60 })),
        );
        expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(new Set(results.map((r) => r.resetAt.getTime())).size).toBe(1);
        expect(await store.get('rate:burst')).toBe(20);
      }, CONCURRENCY_TIMEOUT_MS);

      it('refuses to count a key that holds another kind of value', async () => {
        await store.set('session:1', { step: 'start' });
        expect(await rejectionCode(store.increment('session:1', { windowSeconds: 60 }))).toBe('kv_not_a_counter');
        expect(await store.get('session:1')).toEqual({ step: 'start' });
      });

      it.each([0, -5, Number.NaN])('rejects windowSeconds %s with kv_ttl_invalid', async (windowSeconds) => {
        expect(await rejectionCode(store.increment('rate:x', { windowSeconds }))).toBe('kv_ttl_invalid');
      });
    });

    describe('update', () => {
      it('passes undefined for an absent key and stores what the function returns', async () => {
        const seen: unknown[] = [];
        const result = await store.update<{ step: string }>('session:7', (current) => {
          seen.push(current);
          return { step: 'choose_tier' };
        });
        expect(seen.at(-1)).toBeUndefined();
        expect(result).toEqual({ step: 'choose_tier' });
        expect(await store.get('session:7')).toEqual({ step: 'choose_tier' });
      });

      it('transforms the current value', async () => {
        await store.set('session:7', { step: 'choose_tier', visits: 1 });
        const result = await store.update<{ step: string; visits: number }>('session:7', (current) => ({
          step: 'pay',
          visits: (current?.visits ?? 0) + 1,
        }));
        expect(result).toEqual({ step: 'pay', visits: 2 });
        expect(await store.get('session:7')).toEqual({ step: 'pay', visits: 2 });
      });

      it('deletes the key when the function returns undefined', async () => {
        await store.set('session:7', { step: 'done' });
        expect(await store.update('session:7', () => undefined)).toBeUndefined();
        expect(await store.get('session:7')).toBeUndefined();
        expect(await store.setIfAbsent('session:7', 'fresh')).toBe(true);
      });

      it('accepts undefined for a key that does not exist', async () => {
        expect(await store.update('session:none', () => undefined)).toBeUndefined();
        expect(await store.get('session:none')).toBeUndefined();
      });

      it('passes undefined for an expired entry and applies ttlSeconds to the new value', async () => {
        await store.set('session:7', { step: 'old' }, { ttlSeconds: 5 });
        clock.advance(5_000);
        const seen: unknown[] = [];
        await store.update('session:7', (current) => {
          seen.push(current);
          return { step: 'new' };
        }, { ttlSeconds: 5 });
        expect(seen.at(-1)).toBeUndefined();
        clock.advance(4_999);
        expect(await store.get('session:7')).toEqual({ step: 'new' });
        clock.advance(1);
        expect(await store.get('session:7')).toBeUndefined();
      });

      it('applies 20 concurrent increments without losing any', async () => {
        await Promise.all(
          Array.from({ length: 20 }, () => store.update<number>('counter', (current) => (current ?? 0) + 1)),
        );
        expect(await store.get('counter')).toBe(20);
      }, CONCURRENCY_TIMEOUT_MS);

      it('writes nothing and rethrows unchanged when the function throws', async () => {
        await store.set('session:7', 'kept');
        const failure = new Error('handler failed');
        await expect(
          store.update('session:7', () => {
            throw failure;
          }),
        ).rejects.toBe(failure);
        expect(await store.get('session:7')).toBe('kept');
      });

      it('rejects a non-JSON result with kv_value_invalid and keeps the old value', async () => {
        await store.set('session:7', 'kept');
        expect(await rejectionCode(store.update<unknown>('session:7', () => new Date()))).toBe('kv_value_invalid');
        expect(await store.get('session:7')).toBe('kept');
      });
    });

    describe('keys', () => {
      const longKey = 'k'.repeat(500);
      it.each([
        ['slashes', 'chat/42/session'],
        ['a lone slash', '/'],
        ['dots', '..'],
        ['a reserved-looking name', '__name__'],
        ['unicode', 'sitzung:Grüße:👋:你好'],
        ['whitespace', ' spaced key\n'],
        ['500 characters', longKey],
      ])('stores keys with %s', async (_label, key) => {
        await store.set(key, key);
        expect(await store.get(key)).toBe(key);
        expect(await store.setIfAbsent(key, 'other')).toBe(false);
        await store.delete(key);
        expect(await store.get(key)).toBeUndefined();
      });

      it('keeps keys apart that differ only by a separator or case', async () => {
        const keys = ['a/b', 'a_b', 'a-b', 'ab', 'A/B', `${longKey.slice(1)}x`];
        for (const key of keys) await store.set(key, key);
        for (const key of keys) expect(await store.get(key)).toBe(key);
      });

      it.each([
        ['an empty key', ''],
        ['a key of 501 characters', 'k'.repeat(501)],
        ['a lone surrogate', 'bad\uD800key'],
      ])('rejects %s with kv_key_invalid in every operation', async (_label, key) => {
        const codes = await Promise.all([
          rejectionCode(store.get(key)),
          rejectionCode(store.set(key, 1)),
          rejectionCode(store.delete(key)),
          rejectionCode(store.setIfAbsent(key, 1)),
          rejectionCode(store.increment(key, { windowSeconds: 1 })),
          rejectionCode(store.update(key, () => 1)),
        ]);
        expect(codes).toEqual(Array(6).fill('kv_key_invalid'));
      });
    });
  });
}
