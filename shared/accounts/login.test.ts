import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { createMemoryKeyValueStore, type KeyValueStore } from '../kv/index.js';
import { createLogger } from '../logging/index.js';
import type { AccountDeps } from './account-deps.js';
import { logIn } from './login.js';
import { signUp } from './signup.js';

/** Every scrypt run in this file, with its cost: a verification is one run with the account's parameters. */
const scryptRuns = vi.hoisted(() => [] as { N: number; r: number; p: number; keyLength: number }[]);
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const scrypt = (password: unknown, salt: unknown, keyLength: number, options: { N: number; r: number; p: number }, callback: unknown) => {
    scryptRuns.push({ N: options.N, r: options.r, p: options.p, keyLength });
    return (actual.scrypt as (...args: unknown[]) => void)(password, salt, keyLength, options, callback);
  };
  return { ...actual, default: { ...actual, scrypt }, scrypt };
});

const PARAMETERS = { ln: 4, r: 8, p: 1 };
const PASSWORD = 'correct horse battery';

/** The store port with every call written down: operation and the key's prefix (keys are hashed after it). */
function countingStore(inner: KeyValueStore, calls: string[]): KeyValueStore {
  const record = (operation: string, key: string) => calls.push(`${operation} ${key.slice(0, key.indexOf(':') + 1)}`);
  return {
    get: (key) => (record('get', key), inner.get(key)),
    set: (key, value, options) => (record('set', key), inner.set(key, value, options)),
    delete: (key) => (record('delete', key), inner.delete(key)),
    setIfAbsent: (key, value, options) => (record('setIfAbsent', key), inner.setIfAbsent(key, value, options)),
    increment: (key, options) => (record('increment', key), inner.increment(key, options)),
    update: (key, update, options) => (record('update', key), inner.update(key, update, options)),
  };
}

let testDb: TestDatabase;
let deps: AccountDeps;
let calls: string[];
const clock = createFakeClock('2026-03-01T12:00:00Z');

beforeAll(async () => {
  testDb = await createTestDatabase();
  calls = [];
  deps = {
    db: testDb.db,
    clock,
    logger: createLogger({ write: () => undefined }),
    kv: countingStore(createMemoryKeyValueStore({ clock }), calls),
    accessTokens: { secret: 'DSCSjlz6b9GaJwDYoBbY/u6OZjdpu247KvTzbmV8wQ4=' },
    passwordParameters: PARAMETERS,
  };
  await signUp(deps, { email: 'known@example.com', password: PASSWORD, origin: {} });
});
afterAll(() => testDb?.dispose());
beforeEach(() => {
  calls.length = 0;
  scryptRuns.length = 0;
});

/** The work one failed login did: store calls in order, scrypt runs, and the answer. */
async function failedLogin(email: string) {
  calls.length = 0;
  scryptRuns.length = 0;
  const error = await logIn(deps, { email, password: 'not the password', origin: { ip: '198.51.100.7' } }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  return { calls: [...calls], scryptRuns: [...scryptRuns], error: { code: (error as { code?: string })?.code, message: (error as Error)?.message } };
}

describe('logIn timing: a known and an unknown address do the same work', () => {
  it('performs the same key-value operations and one scrypt verification with the same cost', async () => {
    // The first unknown address of the process: a lazily built dummy hash would cost a second scrypt here.
    const unknown = await failedLogin('nobody@example.com');
    const known = await failedLogin('known@example.com');
    expect(known.error).toEqual({ code: 'invalid_credentials', message: expect.any(String) });
    expect(unknown.error).toEqual(known.error);
    expect(known.calls.length).toBeGreaterThan(0);
    expect(unknown.calls).toEqual(known.calls);
    expect(known.scryptRuns).toEqual([{ N: 2 ** PARAMETERS.ln, r: PARAMETERS.r, p: PARAMETERS.p, keyLength: 32 }]);
    expect(unknown.scryptRuns).toEqual(known.scryptRuns);
  });

  it('still does the same work once the address is refused from this IP', async () => {
    for (let i = 0; i < 12; i++) {
      await failedLogin('known@example.com');
      await failedLogin('nobody@example.com');
    }
    const unknown = await failedLogin('nobody@example.com');
    const known = await failedLogin('known@example.com');
    expect(unknown.calls).toEqual(known.calls);
    expect(unknown.scryptRuns).toEqual(known.scryptRuns);
    expect(unknown.error).toEqual(known.error);
  });
});
