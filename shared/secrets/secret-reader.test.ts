import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { collectUnhandledRejections } from '../testing/unhandled-rejections.js';
import { type FakeSecretManager, secretManagerClientOptions, startFakeSecretManager } from '../testing/fakes/secret-manager-server.js';
import { acceptedVersions, createSecretManagerReader, createSecretManagerStore, keyIdOf, loadSecretReader, rotateInSecretManager, type SecretStore } from './index.js';

const PROJECT = 'pgp-secrets-test';
const V1 = 'iQnu/4klVj9Z9A5tYbXp6qumoIqGet8jSNtZ+71L+pY=';
const V2 = 'Vc_Nw498i0I3lSzKHIeJVFwZ4V43u0FRVSn4qCRZGpQ';

/** The official client on its REST transport against the local fake: the same calls production makes. */
let fake: FakeSecretManager;
let store: SecretStore;
beforeAll(async () => {
  fake = await startFakeSecretManager();
  store = createSecretManagerStore({ projectId: PROJECT, clientOptions: secretManagerClientOptions(fake) });
});
afterAll(() => fake?.close());

describe('createSecretManagerReader', () => {
  const clock = createFakeClock('2026-12-06T10:00:00Z');
  const lines: string[] = [];
  const reader = () => createSecretManagerReader({ store, secretId: 'jwt-secret', logger: createLogger({ write: (line) => lines.push(line) }) });
  beforeEach(() => {
    fake.seed(PROJECT, 'jwt-secret', [V1], { current: 1 });
    lines.length = 0;
  });

  it('reads the current alias once per cache period (5 minutes)', async () => {
    const secrets = reader();
    const before = { ...fake.requests };
    expect((await secrets.read(clock.now())).current.value).toBe(V1);
    for (let i = 0; i < 5; i++) await secrets.read(new Date(clock.now().getTime() + i * 59_000));
    expect((fake.requests.get ?? 0) - (before.get ?? 0)).toBe(1);
    expect((fake.requests.access ?? 0) - (before.access ?? 0)).toBe(1);
  });

  it('sees a rotation after the cache period, or at once on reload, with the previous value until its overlap ends', async () => {
    const secrets = reader();
    const t0 = clock.now();
    await secrets.read(t0);
    await rotateInSecretManager(store, { name: 'JWT_SECRET', value: V2, overlapSeconds: 3600, now: t0 });
    expect((await secrets.read(new Date(t0.getTime() + 60_000))).current.value).toBe(V1); // cached
    const reloaded = await secrets.reload(new Date(t0.getTime() + 60_000));
    expect(reloaded?.current).toEqual({ value: V2, kid: keyIdOf(V2) });
    expect(reloaded?.previous).toEqual({ value: V1, kid: keyIdOf(V1), until: new Date(t0.getTime() + 3_600_000) });
    // A second reload moments later asks nobody and reports no change.
    const calls = fake.requests.get;
    expect(await secrets.reload(new Date(t0.getTime() + 61_000))).toBeUndefined();
    expect(fake.requests.get).toBe(calls);
    // After the overlap the previous value is no longer read at all.
    const late = await secrets.read(new Date(t0.getTime() + 3_600_000 + 1));
    expect(late.previous).toBeUndefined();
    expect(lines.some((line) => line.includes('secrets.rotated') && line.includes(keyIdOf(V2)))).toBe(true);
    expect(lines.join('\n')).not.toContain(V1);
  });

  it('drops the previous value at once when its version is disabled (ending the overlap early)', async () => {
    const secrets = reader();
    const t0 = clock.now();
    await rotateInSecretManager(store, { name: 'JWT_SECRET', value: V2, overlapSeconds: 3600, now: t0 });
    expect((await secrets.read(t0)).previous?.value).toBe(V1);
    fake.secret(PROJECT, 'jwt-secret')!.versions[0]!.state = 'DISABLED';
    const after = await secrets.read(new Date(t0.getTime() + 300_000));
    expect(after.current.value).toBe(V2);
    expect(after.previous).toBeUndefined();
  });

  it('keeps serving what it has through an outage, and answers unavailable with nothing cached', async () => {
    const secrets = reader();
    const t0 = clock.now();
    await secrets.read(t0);
    fake.failNext(10);
    expect((await secrets.read(new Date(t0.getTime() + 301_000))).current.value).toBe(V1);
    expect(lines.some((line) => line.includes('secrets.refresh_failed'))).toBe(true);
    await expect(reader().read(t0)).rejects.toMatchObject({ code: 'secret_unavailable', isRetryable: true });
    fake.failNext(0);
  });

  it('refuses a secret without a current alias or whose value breaks the rule', async () => {
    fake.seed(PROJECT, 'jwt-secret', [V1]);
    await expect(reader().read(clock.now())).rejects.toMatchObject({ code: 'secret_unavailable', cause: expect.objectContaining({ code: 'secret_misconfigured' }) });
    fake.seed(PROJECT, 'jwt-secret', ['short'], { current: 1 });
    const strict = createSecretManagerReader({ store, secretId: 'jwt-secret', logger: createLogger({ write: () => undefined }), problemOf: (value) => (value.length < 32 ? 'too short' : undefined) });
    await expect(strict.read(clock.now())).rejects.toMatchObject({ code: 'secret_unavailable', cause: expect.objectContaining({ message: expect.stringContaining('too short') }) });
  });
});

describe('loadSecretReader', () => {
  const now = new Date('2026-12-06T10:00:00Z');

  it('reads the environment by default: the current value, and the previous one until its time', async () => {
    const secret = await loadSecretReader('JWT_SECRET', {}, { JWT_SECRET: V2, JWT_SECRET_PREVIOUS: V1, JWT_SECRET_PREVIOUS_UNTIL: '2026-12-06T11:00:00Z' }).read(now);
    expect(acceptedVersions(secret, now).map((version) => [version.role, version.value])).toEqual([
      ['current', V2],
      ['previous', V1],
    ]);
    expect(acceptedVersions(secret, new Date('2026-12-06T11:00:00Z'))).toHaveLength(1);
  });

  it.each([
    [{ JWT_SECRET: V2, JWT_SECRET_PREVIOUS: V1 }, 'JWT_SECRET_PREVIOUS_UNTIL: required while JWT_SECRET_PREVIOUS is set'],
    [{ JWT_SECRET: V2, JWT_SECRET_PREVIOUS: 'j'.repeat(32), JWT_SECRET_PREVIOUS_UNTIL: '2026-12-06T11:00:00Z' }, 'JWT_SECRET_PREVIOUS: must be at least 32 random bytes'],
    [{ JWT_SECRET: V2, JWT_SECRET_PREVIOUS: V1, JWT_SECRET_PREVIOUS_UNTIL: 'tomorrow' }, 'JWT_SECRET_PREVIOUS_UNTIL: must be an ISO-8601 time with a zone'],
    [{ JWT_SECRET: V2, JWT_SECRET_PREVIOUS: V1, JWT_SECRET_PREVIOUS_UNTIL: '2026-12-06T11:00:00' }, 'JWT_SECRET_PREVIOUS_UNTIL: must be an ISO-8601 time with a zone'],
    [{ SECRETS_SOURCE: 'vault', JWT_SECRET: V2 }, "SECRETS_SOURCE: must be 'env' or 'secret-manager'"],
    [{ SECRETS_SOURCE: 'secret-manager' }, 'GOOGLE_CLOUD_PROJECT: required'],
  ])('refuses %o naming the variable, never a value', (env, message) => {
    expect(() => loadSecretReader('JWT_SECRET', {}, env)).toThrow(message);
    try {
      loadSecretReader('JWT_SECRET', {}, env);
    } catch (error) {
      expect(String(error)).not.toContain(V1);
    }
  });

  it('accepts a previous value equal to the current one without a time (outside a rotation)', async () => {
    const secret = await loadSecretReader('TELEGRAM_WEBHOOK_SECRET', {}, { TELEGRAM_WEBHOOK_SECRET: 'e29f801a91697540bc6744d3d372068d09639da04c7a0a704fac2ce0f0316414', TELEGRAM_WEBHOOK_SECRET_PREVIOUS: 'e29f801a91697540bc6744d3d372068d09639da04c7a0a704fac2ce0f0316414' }).read(now);
    expect(secret.previous).toBeUndefined();
  });

  it('reads Secret Manager when SECRETS_SOURCE=secret-manager, through the aliases of the kebab-case secret', async () => {
    fake.seed(PROJECT, 'nowpayments-ipn-secret', ['np-old-ipn-secret', 'np-new-ipn-secret'], { current: 2, previous: 1 }, { 'previous-until': '2026-12-06T12:00:00Z' });
    const secret = await loadSecretReader('NOWPAYMENTS_IPN_SECRET', { store }, { SECRETS_SOURCE: 'secret-manager', GOOGLE_CLOUD_PROJECT: PROJECT }).read(now);
    expect(acceptedVersions(secret, now).map((version) => version.value)).toEqual(['np-new-ipn-secret', 'np-old-ipn-secret']);
  });
});

describe('createSecretManagerStore when the client cannot start (credentials)', () => {
  // gRPC to Google's endpoint with a key file that does not exist: starting the stub fails at once, offline.
  const withoutCredentials = { apiEndpoint: 'secretmanager.googleapis.com', keyFilename: path.join(tmpdir(), 'paygateprime-no-such-key.json') };
  const unhandled = collectUnhandledRejections();

  it('fails each read as unavailable (retried by the caller), starts over the next time, and leaves no unhandled rejection (a 500 on the running request)', async () => {
    const failing = createSecretManagerStore({ projectId: PROJECT, clientOptions: withoutCredentials });
    for (const attempt of [1, 2]) {
      const failure = await failing.access('jwt-secret', 1).catch((error: unknown) => error);
      expect(failure, `attempt ${attempt}`).toMatchObject({ code: 'secret_unavailable', isRetryable: true, context: { secretId: 'jwt-secret' } });
      // The cause is the credentials failure itself, not a stub kept from the first attempt.
      expect(String((failure as Error).cause)).toContain('no-such-key');
    }
    expect(await unhandled.settle()).toEqual([]);
  });
});
