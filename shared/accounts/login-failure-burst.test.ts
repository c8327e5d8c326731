import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryKeyValueStore } from '../kv/index.js';
import { createLogger } from '../logging/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import type { AccountDeps } from './account-deps.js';
import { logIn } from './login.js';
import { networkOf } from './login-failure-burst.js';
import { signUp } from './signup.js';

const KIND = 'auth.login_failures_burst';
const PASSWORD = 'correct horse battery';

describe('networkOf', () => {
  it.each([
    ['198.51.100.7', '198.51.100.0/24'],
    ['::ffff:198.51.100.200', '198.51.100.0/24'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
    [undefined, 'unknown'],
    ['not an address', 'unknown'],
  ])('%s is in %s', (ip, network) => {
    expect(networkOf(ip)).toBe(network);
  });
});

describe('auth.login_failures_burst', () => {
  let testDb: TestDatabase;
  let deps: AccountDeps;
  const lines: string[] = [];
  const clock = createFakeClock('2026-03-01T12:00:00Z');

  beforeAll(async () => {
    testDb = await createTestDatabase();
    deps = {
      db: testDb.db,
      clock,
      logger: createLogger({ write: (line) => lines.push(line) }),
      kv: createMemoryKeyValueStore({ clock }),
      accessTokens: { secret: 'DSCSjlz6b9GaJwDYoBbY/u6OZjdpu247KvTzbmV8wQ4=' },
      passwordParameters: { ln: 4, r: 8, p: 1 },
      bursts: { loginFailures: { maxEvents: 6, windowMinutes: 10, minActors: 3, coolDownMinutes: 60 } },
    };
    await signUp(deps, { email: 'owner@example.com', password: PASSWORD, origin: {} });
  });
  afterAll(() => testDb?.dispose());

  const failLogin = (email: string, ip: string) =>
    logIn(deps, { email, password: 'wrong password', origin: { ip } }).then(
      () => 'logged in',
      (error: { code?: string }) => error.code,
    );
  const alerts = async () =>
    (await testDb.db.query<{ subject_type: string; subject_id: string; message: string; details: Record<string, unknown> }>(
      'SELECT subject_type, subject_id, message, details FROM operator_alerts WHERE alert = $1 ORDER BY id',
      [KIND],
    )).rows;
  const criticalLines = () => lines.filter((line) => line.includes('"CRITICAL"') && line.includes(`"message":"${KIND}"`));

  it('raises nothing for many failures on one or two addresses, nor below the count', async () => {
    for (let i = 0; i < 10; i += 1) expect(await failLogin(i % 2 ? 'owner@example.com' : 'nobody@example.com', `198.51.100.${i + 1}`)).toBe('invalid_credentials');
    clock.advance(11 * 60_000);
    for (let i = 0; i < 6; i += 1) await failLogin(`person${i}@example.com`, `198.51.100.${i + 1}`);
    expect(await alerts()).toEqual([]);
    expect(criticalLines()).toEqual([]);
  });

  it('alerts once, naming the network and not the addresses, when failures for several addresses from one /24 exceed the count', async () => {
    clock.advance(11 * 60_000);
    const emails = ['alice@example.com', 'bob@example.com', 'owner@example.com', 'carol@example.com'];
    for (let i = 0; i < 6; i += 1) await failLogin(emails[i % 4]!, `203.0.113.${10 + i}`);
    // Another network's failures count apart.
    for (let i = 0; i < 6; i += 1) await failLogin(emails[i % 4]!, `203.0.114.${10 + i}`);
    expect(await alerts()).toEqual([]);

    expect(await failLogin('dave@example.com', '203.0.113.99')).toBe('invalid_credentials');
    const raised = await alerts();
    expect(raised).toEqual([
      {
        subject_type: 'network',
        subject_id: '203.0.113.0/24',
        message: expect.stringContaining('7 failed logins for 5 different addresses from network 203.0.113.0/24 within 10 minutes'),
        details: expect.objectContaining({ events: 7, actors: 5 }),
      },
    ]);
    expect(criticalLines()).toHaveLength(1);
    for (const text of [JSON.stringify(raised), ...criticalLines()]) {
      for (const email of [...emails, 'dave@example.com']) expect(text).not.toContain(email);
    }

    // A second burst from the network inside the cool-down raises nothing more.
    clock.advance(15 * 60_000);
    for (let i = 0; i < 10; i += 1) await failLogin(`spray${i}@example.com`, `203.0.113.${i + 1}`);
    expect(await alerts()).toHaveLength(1);
    expect(criticalLines()).toHaveLength(1);
    // The owner still logs in from that network (the alert blocks nothing).
    expect(await logIn(deps, { email: 'owner@example.com', password: PASSWORD, origin: { ip: '203.0.113.250' } })).toMatchObject({ accountId: expect.any(String) });
  });

  it('counts failures from one /64 that arrive at once, raising exactly one alert', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => failLogin(`crowd${i}@example.com`, `2001:db8:aa:bb::${(i + 1).toString(16)}`)));
    expect(answers.every((answer) => answer === 'invalid_credentials')).toBe(true);
    expect((await alerts()).map((alert) => alert.subject_id)).toEqual(['203.0.113.0/24', '2001:db8:aa:bb::/64']);
    expect(criticalLines()).toHaveLength(2);
  });
});
