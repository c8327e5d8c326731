import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadTopology } from '../../shared/bus/topology.js';
import { systemClock } from '../../shared/clock/index.js';
import { createMemoryKeyValueStore } from '../../shared/kv/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { createMailOutbox, provideMailer } from '../../shared/mail/index.js';
import { provideServices, resetServices } from '../../shared/runtime/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { type FunctionHost, startFunctionHost } from '../../shared/testing/sandbox/function-host.js';
import { createHttpInvoker, createInProcessBus, type InProcessBus } from '../../shared/testing/fakes/in-process-bus.js';

/**
 * The dashboard API as deployed: the dashboard-api and send-account-mail functions served by the
 * Functions Framework, mails queued through the outbox and delivered by the in-process bus (twice
 * each, as Pub/Sub may), into the sandbox mail outbox.
 */
const ORIGIN = 'http://localhost:5173';
const PASSWORD = 'an end-to-end passphrase';
const outbox = createMailOutbox();
let testDb: TestDatabase;
let host: FunctionHost;
let bus: InProcessBus;
let api: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  Object.assign(process.env, {
    JWT_SECRET: '383023a3821e149cb8fc1e9f2492ad3b813ae4cb8de73115d68588ba8da2310e',
    DASHBOARD_CORS_ORIGINS: ORIGIN,
    TELEGRAM_BOT_USERNAME: 'PayGatePrimeE2eBot',
    PUBLIC_BASE_URL: 'http://localhost:5173',
  });
  delete process.env.SMTP_URL;
  let hostUrl = '';
  bus = createInProcessBus({ topology: loadTopology(), invoke: (name, request) => createHttpInvoker(hostUrl)(name, request), backoffScale: 0, deliverTwice: true });
  const logger = createLogger({ write: () => undefined });
  provideServices({ db: testDb.db, kv: createMemoryKeyValueStore(), publisher: bus, logger, clock: systemClock, projectId: 'paygateprime-test' });
  provideMailer(outbox);
  host = await startFunctionHost({ functions: ['dashboard-api', 'send-account-mail'] });
  hostUrl = host.url;
  api = `${host.url}/dashboard-api/api/v1`;
});

afterAll(async () => {
  await host?.close();
  await bus?.close();
  await testDb?.dispose();
  provideMailer(undefined);
  resetServices();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: ORIGIN, ...headers }, body: JSON.stringify(body) });
}

function tokenIn(text: string | undefined): string {
  const token = text && /#token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
  if (!token) throw new Error('no link in the mail');
  return token;
}

describe('dashboard-api over HTTP', () => {
  it('signs up, mails exactly one verification link through the bus, verifies, logs in, refreshes by cookie and reads /me', async () => {
    const email = 'e2e.owner@example.com';
    const signup = await post('/auth/signup', { email, password: PASSWORD });
    expect(signup.status).toBe(202);
    expect(signup.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(signup.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // The function publishes after answering (so timing reveals nothing); wait for the mail.
    const mailsTo = () => outbox.list().filter((mail) => mail.to === email);
    await vi.waitFor(
      async () => {
        await bus.drain();
        expect(mailsTo()).toHaveLength(1);
      },
      { timeout: 10_000, interval: 20 },
    );
    await bus.drain();
    const mails = mailsTo();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain('http://localhost:5173/verify-email#token=');

    expect((await post('/auth/verify-email', { token: tokenIn(mails[0]!.text) })).status).toBe(200);
    const login = await post('/auth/login', { email, password: PASSWORD });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie') ?? '';
    // Mounted under /dashboard-api locally: the cookie path follows what the browser sees.
    expect(cookie).toContain('Path=/dashboard-api/api/v1/auth/session;');
    const refreshToken = /__Secure-pgp_refresh=([^;]+)/.exec(cookie)?.[1];
    const refreshed = await fetch(`${api}/auth/session/refresh`, { method: 'POST', headers: { origin: ORIGIN, cookie: `__Secure-pgp_refresh=${refreshToken}` } });
    expect(refreshed.status).toBe(200);
    const { accessToken } = (await refreshed.json()) as { accessToken: string };
    const me = await fetch(`${api}/me`, { headers: { authorization: `Bearer ${accessToken}`, origin: ORIGIN } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { email: string }).email).toBe(email);

    const link = await fetch(`${api}/me/telegram-link`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
    expect(((await link.json()) as { deepLink: string }).deepLink).toMatch(/^https:\/\/t\.me\/PayGatePrimeE2eBot\?start=link_[A-Za-z0-9_-]+$/);
  });

  it('answers bad input in the envelope over HTTP: 415, 413, 404, 405 and a refused origin', async () => {
    const text = await fetch(`${api}/auth/login`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'email=a' });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
    const large = await post('/auth/login', { email: 'a@example.com', password: 'x'.repeat(20_000) });
    expect(large.status).toBe(413);
    const missing = await fetch(`${api}/nothing-here`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/json');
    const wrongMethod = await fetch(`${api}/auth/login`);
    expect(wrongMethod.status).toBe(405);
    const foreign = await post('/auth/login', { email: 'a@example.com', password: PASSWORD }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a CORS preflight for an allowed origin', async () => {
    const preflight = await fetch(`${api}/auth/login`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
  });
});
