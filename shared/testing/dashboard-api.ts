import type { Publisher } from '../bus/index.js';
import { accessTokenSettingsOf, type ScryptParameters, sendAccountMails } from '../accounts/index.js';
import type { ChannelServices } from '../channels/index.js';
import { AccountMailRequestedSchema } from '../messages/index.js';
import type { OwnerWebhookSettings } from '../owner-webhooks/index.js';
import { createDashboardRouter, createOriginPolicy, type DashboardDeps, type DashboardRouter, dashboardRoutes, type RouteDefinition } from '../dashboard/index.js';
import { createMemoryKeyValueStore, type KeyValueStore } from '../kv/index.js';
import { createLogger } from '../logging/index.js';
import { createMailOutbox, type MailOutbox } from '../mail/index.js';
import type { SecretReader } from '../secrets/index.js';
import { createFakeClock, type FakeClock } from './fakes/clock.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { FIXTURE_NOW } from './fixtures.js';

/** Cheap scrypt for tests (the real cost is 32 MiB and ~100 ms per hash). */
export const TEST_PASSWORD_PARAMETERS: ScryptParameters = { ln: 4, r: 8, p: 1 };
/** 32 random bytes, base64 (`openssl rand -base64 32`), as configuration requires of JWT_SECRET. */
export const TEST_JWT_SECRET = 'DSCSjlz6b9GaJwDYoBbY/u6OZjdpu247KvTzbmV8wQ4=';
/** 32 random bytes, base64, as configuration requires of OWNER_WEBHOOK_SIGNING_KEY. */
export const TEST_OWNER_WEBHOOK_SIGNING_KEY = 'vN1kq9Yc0m5sV2Jd7xR8uB3hT6wZ4pL1aE0fG9iK2oM=';
export const TEST_DASHBOARD_ORIGIN = 'https://dashboard.example.test';
export const TEST_PUBLIC_BASE_URL = 'https://pay.example.test';

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[]>;
  /** Parsed JSON body, or undefined when empty. */
  json: any;
  text: string | undefined;
}

export interface TestRequest {
  body?: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  /** Adds `Authorization: Bearer <token>`. */
  token?: string;
  ip?: string;
}

export interface DashboardHarness {
  testDb: TestDatabase;
  deps: DashboardDeps;
  clock: FakeClock;
  kv: KeyValueStore;
  outbox: MailOutbox;
  router: DashboardRouter;
  logLines: string[];
  request(method: string, path: string, options?: TestRequest): Promise<TestResponse>;
  /** Sends the account mails queued so far (what send-account-mail does after the relay). */
  deliverMails(): Promise<void>;
  dispose(): Promise<void>;
}

const noPublisher: Publisher = {
  publish: async () => {
    throw new Error('the dashboard harness does not publish; call deliverMails()');
  },
};

/**
 * The dashboard router over a throw-away database, an in-memory key-value store, a fake clock and a
 * mail outbox, called in-process (no HTTP): requests and answers are exactly what the function
 * sends and receives. `routes` defaults to the registry.
 */
export async function createDashboardHarness(
  options: {
    routes?: readonly RouteDefinition[];
    origins?: string[];
    telegramBotUsername?: string;
    channels?: ChannelServices;
    /** Where the JWT keys come from per request, as the function reads them (rotation tests); default the fixed TEST_JWT_SECRET. */
    jwtSecret?: SecretReader;
    /** Owner webhooks' settings (given as undefined: not configured); default the fixed TEST_OWNER_WEBHOOK_SIGNING_KEY with loopback receivers allowed. */
    ownerWebhooks?: OwnerWebhookSettings;
  } = {},
): Promise<DashboardHarness> {
  const testDb = await createTestDatabase();
  const clock = createFakeClock(FIXTURE_NOW);
  const kv = createMemoryKeyValueStore({ clock });
  const outbox = createMailOutbox({ clock });
  const logLines: string[] = [];
  const logger = createLogger({ write: (line) => logLines.push(line) });
  const deps: DashboardDeps = {
    db: testDb.db,
    kv,
    clock,
    logger,
    publisher: noPublisher,
    projectId: 'paygateprime-test',
    accessTokens: { secret: TEST_JWT_SECRET },
    passwordParameters: TEST_PASSWORD_PARAMETERS,
    telegramBotUsername: options.telegramBotUsername,
    channels: options.channels,
    ownerWebhooks: 'ownerWebhooks' in options ? options.ownerWebhooks : { signingKey: TEST_OWNER_WEBHOOK_SIGNING_KEY, allowLoopback: true },
  };
  const router = createDashboardRouter({
    routes: options.routes ?? dashboardRoutes,
    deps: async () => (options.jwtSecret ? { ...deps, accessTokens: await accessTokenSettingsOf(options.jwtSecret, clock.now(), logger) } : deps),
    originPolicy: createOriginPolicy(options.origins ?? [TEST_DASHBOARD_ORIGIN], { isOnCloudRun: false }),
  });
  let lastOutboxId = 0n;
  return {
    testDb,
    deps,
    clock,
    kv,
    outbox,
    router,
    logLines,
    async request(method, path, request = {}) {
      const headers: Record<string, string> = { ...(request.headers ?? {}) };
      if (request.token) headers.authorization = `Bearer ${request.token}`;
      let rawBody: Buffer | undefined;
      if (request.rawBody !== undefined) rawBody = Buffer.from(request.rawBody);
      else if (request.body !== undefined) {
        rawBody = Buffer.from(JSON.stringify(request.body));
        headers['content-type'] ??= 'application/json';
      }
      const answer = await router.handle({ method, url: `/api/v1${path}`, headers, rawBody, ip: request.ip ?? '203.0.113.10' });
      return { status: answer.status, headers: answer.headers, json: answer.body === undefined ? undefined : JSON.parse(answer.body), text: answer.body };
    },
    async deliverMails() {
      const { rows } = await testDb.db.query<{ id: bigint; payload: unknown }>(
        `SELECT id, payload FROM outbox WHERE topic = 'account-mail-requested' AND id > $1 ORDER BY id`,
        [lastOutboxId],
      );
      for (const row of rows) {
        lastOutboxId = BigInt(row.id);
        await sendAccountMails({ ...deps, mailer: outbox, publicBaseUrl: TEST_PUBLIC_BASE_URL }, AccountMailRequestedSchema.parse(row.payload));
      }
    },
    dispose: () => testDb.dispose(),
  };
}

/** The token in the newest mail to `address` (`…#token=<token>`). */
export function mailedToken(outbox: MailOutbox, address: string): string {
  const mail = outbox.latestTo(address);
  const token = mail && /#token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  if (!token) throw new Error(`no mail with a link to ${address}; mails: ${outbox.list().map((m) => `${m.to}: ${m.subject}`).join(' | ')}`);
  return token;
}

function cookieOf(response: TestResponse, name: string): string | undefined {
  const cookies = response.headers['set-cookie'];
  const list = Array.isArray(cookies) ? cookies : cookies ? [cookies] : [];
  const match = list.map((cookie) => new RegExp(`^${name}=([^;]*)`).exec(cookie)).find(Boolean);
  return match?.[1] || undefined;
}

/** The refresh token from a `set-cookie` answer header. */
export function refreshCookieOf(response: TestResponse): string | undefined {
  return cookieOf(response, '__Secure-pgp_refresh');
}

/** The device token from a `set-cookie` answer header (login, reset-password). */
export function deviceCookieOf(response: TestResponse): string | undefined {
  return cookieOf(response, '__Secure-pgp_device');
}
