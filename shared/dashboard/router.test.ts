import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ConfigError } from '../config/index.js';
import { createDashboardHarness, type DashboardHarness, refreshCookieOf, TEST_DASHBOARD_ORIGIN } from '../testing/dashboard-api.js';
import { createOriginPolicy } from './cors.js';
import { DEFAULT_RATE_LIMITS, effectiveRateLimits } from './rate-limits.js';
import { createDashboardRouter } from './router.js';
import { defineRoute, type RouteDefinition } from './route-definition.js';
import { dashboardRoutes } from './routes.js';
import { databaseError } from '../db/errors.js';

const LEAKY = 'SECRET-INTERNAL-DETAIL connection to 10.0.0.7 failed';

const testRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'POST',
    path: '/widgets/{widgetId}',
    operationId: 'updateWidget',
    summary: 'test',
    tags: ['test'],
    auth: 'none',
    params: z.object({ widgetId: z.string().regex(/^w_\d+$/, 'Use an id like w_1') }),
    query: z.object({ dryRun: z.enum(['true', 'false']).optional() }),
    body: z.object({ name: z.string().min(1, 'Enter a name'), size: z.number().int().positive() }),
    response: { status: 200, description: 'ok', schema: z.object({ id: z.string(), name: z.string() }) },
    rateLimits: [{ name: 'widget-ip', key: 'ip', limit: 3, windowSeconds: 60 }],
    handler: async ({ params, body }) => ({ body: { id: params.widgetId, name: body.name, internalNote: 'dropped' } as never }),
  }),
  defineRoute({
    method: 'GET',
    path: '/widgets/{widgetId}',
    operationId: 'retrieveWidget',
    summary: 'test',
    tags: ['test'],
    auth: 'none',
    response: { status: 200, description: 'ok', schema: z.object({ id: z.string() }) },
    handler: async () => ({ body: { id: 'w_1' } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/boom',
    operationId: 'boom',
    summary: 'throws an unknown error',
    tags: ['test'],
    auth: 'none',
    response: { status: 200, description: 'never' },
    handler: async () => {
      throw new Error(LEAKY);
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/echo-keys',
    operationId: 'echoKeys',
    summary: 'answers the body keys the handler received',
    tags: ['test'],
    auth: 'none',
    body: z.object({ name: z.string() }),
    response: { status: 200, description: 'ok', schema: z.object({ keys: z.array(z.string()) }) },
    handler: async ({ body }) => ({ body: { keys: Object.keys(body) } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/database-failure',
    operationId: 'databaseFailure',
    summary: 'throws what pg throws on a constraint violation',
    tags: ['test'],
    auth: 'none',
    response: { status: 200, description: 'never' },
    handler: async () => {
      throw Object.assign(new Error('duplicate key value violates unique constraint "accounts_email_key"'), {
        code: '23505',
        detail: 'Key (lower(email))=(victim@example.com) already exists.',
        table: 'accounts',
      });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/busy',
    operationId: 'busy',
    summary: 'throws a transient error',
    tags: ['test'],
    auth: 'none',
    response: { status: 200, description: 'never' },
    handler: async () => {
      throw databaseError('database_unavailable', LEAKY);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/wrong-shape',
    operationId: 'wrongShape',
    summary: 'answers against its schema',
    tags: ['test'],
    auth: 'none',
    response: { status: 200, description: 'never', schema: z.object({ count: z.number() }) },
    handler: async () => ({ body: { count: 'many' } as never }),
  }),
  defineRoute({
    method: 'GET',
    path: '/picture.svg',
    operationId: 'picture',
    summary: 'answers an SVG document',
    tags: ['test'],
    auth: 'none',
    response: { status: 200, description: 'ok', schema: z.string(), mediaType: 'image/svg+xml' },
    handler: async () => ({ body: '<svg xmlns="http://www.w3.org/2000/svg"/>', headers: { 'cache-control': 'private, max-age=60' } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/picture-object',
    operationId: 'pictureObject',
    summary: 'answers an object where its media type needs text',
    tags: ['test'],
    auth: 'none',
    response: { status: 200, description: 'never', schema: z.unknown(), mediaType: 'image/svg+xml' },
    handler: async () => ({ body: { svg: 'no' } }),
  }),
];

let h: DashboardHarness;
let full: DashboardHarness;

beforeAll(async () => {
  h = await createDashboardHarness({ routes: testRoutes, origins: [TEST_DASHBOARD_ORIGIN, 'http://localhost:5173'] });
  full = await createDashboardHarness();
});
afterAll(async () => {
  await h?.dispose();
  await full?.dispose();
});

function expectEnvelope(response: { json: any; headers: Record<string, unknown> }, code: string) {
  expect(response.json).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }), requestId: expect.any(String) });
  expect(response.headers['x-request-id']).toBe(response.json.requestId);
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
}

describe('routing', () => {
  it('validates and answers a matching route, dropping fields the response schema does not list', async () => {
    const response = await h.request('POST', '/widgets/w_7?dryRun=true', { body: { name: 'gear', size: 2 }, ip: '192.0.2.1' });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ id: 'w_7', name: 'gear' });
  });

  it('sends the text of a route with its own media type as is, with that content type and the headers it sets', async () => {
    const answer = await h.router.handle({ method: 'GET', url: '/api/v1/picture.svg', headers: {}, rawBody: undefined, ip: '192.0.2.2' });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('<svg xmlns="http://www.w3.org/2000/svg"/>');
    expect(answer.headers).toMatchObject({ 'content-type': 'image/svg+xml', 'cache-control': 'private, max-age=60', 'x-content-type-options': 'nosniff' });
  });

  it('refuses to send a body that is not text for such a route (500)', async () => {
    const response = await h.request('GET', '/picture-object');
    expect(response.status).toBe(500);
    expect(response.json.error.code).toBe('internal_error');
  });

  it('accepts a trailing slash', async () => {
    expect((await h.request('GET', '/widgets/w_1/')).status).toBe(200);
  });

  it.each([['/nope'], ['/widgets'], ['/widgets/w_1/extra']])('answers 404 in the envelope for %s', async (path) => {
    const response = await h.request('GET', path);
    expect(response.status).toBe(404);
    expectEnvelope(response, 'not_found');
  });

  it('answers 404 outside /api/v1', async () => {
    const answer = await h.router.handle({ method: 'GET', url: '/', headers: {}, rawBody: undefined, ip: undefined });
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body!).error.code).toBe('not_found');
  });

  it.each([['//%2F'], ['//example.com/api/v1/widgets/w_1'], ['//[::1/x']])(
    'answers 404, not 500, for the path %s, which a URL parser would read as another host',
    async (url) => {
      // Found by the fuzz suite: GET //%2F answered 500 (Invalid URL) and //host/api/v1/… was routed.
      const answer = await h.router.handle({ method: 'GET', url, headers: {}, rawBody: undefined, ip: undefined });
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.body!).error.code).toBe('not_found');
    },
  );

  it('answers 405 with Allow for a known path and another method', async () => {
    const response = await h.request('DELETE', '/widgets/w_1');
    expect(response.status).toBe(405);
    expectEnvelope(response, 'method_not_allowed');
    expect(response.headers.allow).toBe('POST, GET, OPTIONS');
  });
});

describe('bodies', () => {
  it('refuses a body over 16 KiB with 413', async () => {
    const response = await h.request('POST', '/widgets/w_1', { body: { name: 'x'.repeat(17 * 1024), size: 1 } });
    expect(response.status).toBe(413);
    expectEnvelope(response, 'payload_too_large');
  });

  it('refuses a declared Content-Length over the limit before reading', async () => {
    const response = await h.request('POST', '/widgets/w_1', { rawBody: '{}', headers: { 'content-type': 'application/json', 'content-length': String(1024 * 1024) } });
    expect(response.status).toBe(413);
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/json; charset=latin1']])('refuses Content-Type %s with 415', async (type) => {
    const response = await h.request('POST', '/widgets/w_1', { rawBody: '{"name":"a","size":1}', headers: { 'content-type': type } });
    expect(response.status).toBe(415);
    expectEnvelope(response, 'unsupported_media_type');
  });

  it('refuses a missing Content-Type with 415', async () => {
    expect((await h.request('POST', '/widgets/w_1', { rawBody: '{}' })).status).toBe(415);
  });

  it.each([['{"name": "a",'], [''], ['{bad json}']])('answers malformed JSON %j with 400 in the envelope', async (text) => {
    const response = await h.request('POST', '/widgets/w_1', { rawBody: text, headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expectEnvelope(response, 'malformed_json');
  });

  it('lists every invalid field of path, query and body at once', async () => {
    const response = await h.request('POST', '/widgets/bad?dryRun=maybe', { body: { name: '', size: -1 } });
    expect(response.status).toBe(400);
    expectEnvelope(response, 'validation_failed');
    expect(response.json.error.fields).toEqual({
      'path.widgetId': 'Use an id like w_1',
      'query.dryRun': expect.any(String),
      name: 'Enter a name',
      size: expect.any(String),
    });
  });

  it('drops body fields the schema does not list: the handler never sees them, and they are not refused', async () => {
    const response = await h.request('POST', '/echo-keys', { body: { name: 'a', isAdmin: true, accountId: 'someone-else' } });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ keys: ['name'] });
  });

  it('refuses a JSON array or null where an object is expected', async () => {
    for (const text of ['[]', 'null', '"text"']) {
      const response = await h.request('POST', '/widgets/w_1', { rawBody: text, headers: { 'content-type': 'application/json' } });
      expect(response.status).toBe(400);
      expect(response.json.error.code).toBe('validation_failed');
    }
  });
});

describe('errors never leak', () => {
  it('turns an unknown exception into a generic 500 and logs it', async () => {
    const response = await h.request('GET', '/boom');
    expect(response.status).toBe(500);
    expectEnvelope(response, 'internal_error');
    expect(response.text).not.toContain('SECRET');
    expect(h.logLines.some((line) => line.includes('http.failed') && line.includes(response.json.requestId))).toBe(true);
  });

  it('logs a 500 with the error name, code and message, but never a Postgres detail (row values)', async () => {
    const response = await h.request('GET', '/database-failure');
    expect(response.status).toBe(500);
    const line = h.logLines.find((candidate) => candidate.includes('http.failed') && candidate.includes(response.json.requestId));
    expect(line).toBeDefined();
    expect(line).toContain('23505');
    expect(line).toContain('duplicate key value');
    expect(line).not.toContain('victim@example.com');
    expect(response.text).not.toContain('duplicate');
  });

  it('turns a transient error into 503 with Retry-After, without its message', async () => {
    const response = await h.request('GET', '/busy');
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.text).not.toContain('SECRET');
  });

  it('refuses to send a response that breaks its schema (500)', async () => {
    const response = await h.request('GET', '/wrong-shape');
    expect(response.status).toBe(500);
    expect(response.text).not.toContain('many');
  });

  it('answers 503 in the envelope when the services cannot be built', async () => {
    const router = createDashboardRouter({
      routes: testRoutes,
      originPolicy: createOriginPolicy([], { isOnCloudRun: false }),
      deps: async () => {
        throw new Error(LEAKY);
      },
    });
    const answer = await router.handle({ method: 'GET', url: '/api/v1/widgets/w_1', headers: {}, rawBody: undefined, ip: undefined });
    expect(answer.status).toBe(503);
    expect(answer.body).not.toContain('SECRET');
    expect(JSON.parse(answer.body!).error.code).toBe('service_unavailable');
  });
});

describe('headers', () => {
  it('sends security headers and a request id with every answer', async () => {
    for (const response of [await h.request('GET', '/widgets/w_1'), await h.request('GET', '/nope')]) {
      expect(response.headers).toMatchObject({
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        'strict-transport-security': expect.stringContaining('max-age='),
        'x-request-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    }
  });
});

describe('CORS', () => {
  it('answers an allowed origin with exactly that origin, credentials and Vary: Origin', async () => {
    const response = await h.request('GET', '/widgets/w_1', { headers: { origin: TEST_DASHBOARD_ORIGIN } });
    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe(TEST_DASHBOARD_ORIGIN);
    expect(response.headers['access-control-allow-credentials']).toBe('true');
    expect(response.headers.vary).toBe('Origin');
  });

  it.each([['https://evil.example'], ['https://dashboard.example.test.evil.example'], ['null'], ['http://dashboard.example.test']])('refuses origin %s with 403 and no CORS headers', async (origin) => {
    const response = await h.request('GET', '/widgets/w_1', { headers: { origin } });
    expect(response.status).toBe(403);
    expectEnvelope(response, 'origin_not_allowed');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('never answers with a wildcard', async () => {
    for (const origin of [TEST_DASHBOARD_ORIGIN, 'http://localhost:5173', 'https://evil.example', undefined]) {
      const response = await h.request('GET', '/widgets/w_1', { headers: origin ? { origin } : {} });
      expect(response.headers['access-control-allow-origin']).not.toBe('*');
    }
  });

  it('answers a preflight from an allowed origin with the path methods', async () => {
    const response = await h.request('OPTIONS', '/widgets/w_1', { headers: { origin: TEST_DASHBOARD_ORIGIN, 'access-control-request-method': 'POST' } });
    expect(response.status).toBe(204);
    expect(response.headers).toMatchObject({
      'access-control-allow-origin': TEST_DASHBOARD_ORIGIN,
      'access-control-allow-methods': 'POST, GET, OPTIONS',
      'access-control-allow-headers': 'Authorization, Content-Type',
    });
  });

  it('refuses a preflight from another origin', async () => {
    const response = await h.request('OPTIONS', '/widgets/w_1', { headers: { origin: 'https://evil.example' } });
    expect(response.status).toBe(403);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses http:// origins on Cloud Run, and allows https ones', () => {
    expect(() => createOriginPolicy(['https://a.example', 'http://localhost:5173'], { isOnCloudRun: true })).toThrow(ConfigError);
    expect(createOriginPolicy(['https://a.example'], { isOnCloudRun: true }).isAllowed('https://a.example')).toBe(true);
    expect(createOriginPolicy(['http://localhost:5173'], { isOnCloudRun: false }).isAllowed('http://localhost:5173')).toBe(true);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After in the envelope, and lets the next window through', async () => {
    const statuses = [];
    let limited;
    for (let i = 0; i < 4; i++) {
      limited = await h.request('POST', '/widgets/w_1', { body: { name: 'a', size: 1 }, ip: '192.0.2.50' });
      statuses.push(limited.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expectEnvelope(limited!, 'rate_limited');
    expect(limited!.headers['retry-after']).toBe('60');
    expect((await h.request('POST', '/widgets/w_1', { body: { name: 'a', size: 1 }, ip: '192.0.2.51' })).status).toBe(200);
    h.clock.advance(60_000);
    expect((await h.request('POST', '/widgets/w_1', { body: { name: 'a', size: 1 }, ip: '192.0.2.50' })).status).toBe(200);
  });
});

describe('default rate limits', () => {
  it('limits a route that states no limit of its own: the default budget per client IP', async () => {
    const [rule] = DEFAULT_RATE_LIMITS.none;
    const statuses: number[] = [];
    for (let i = 0; i <= rule!.limit; i++) statuses.push((await h.request('GET', '/widgets/w_1', { ip: '192.0.2.77' })).status);
    expect(statuses.slice(0, -1).every((status) => status === 200)).toBe(true);
    const limited = await h.request('GET', '/widgets/w_1', { ip: '192.0.2.77' });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await h.request('GET', '/widgets/w_1', { ip: '192.0.2.78' })).status).toBe(200);
  });

  it('answers 503 with Retry-After, not 500, while the key-value store behind the limits is down', async () => {
    const increment = h.deps.kv.increment;
    h.deps.kv.increment = async () => {
      throw new Error('14 UNAVAILABLE: firestore.googleapis.com unreachable');
    };
    try {
      const response = await h.request('GET', '/widgets/w_1', { ip: '192.0.2.79' });
      expect(response.status).toBe(503);
      expect(response.headers['retry-after']).toBeDefined();
      expect(response.text).not.toContain('firestore');
    } finally {
      h.deps.kv.increment = increment;
    }
  });

  it('leaves no route of the API unlimited, except the two served from memory', () => {
    const unlimited = dashboardRoutes.filter((route) => effectiveRateLimits(route).length === 0).map((route) => route.operationId);
    expect(unlimited.sort()).toEqual(['checkHealth', 'retrieveOpenApiDocument']);
  });
});

describe('logging', () => {
  it('never writes a password, token or cookie into the logs', async () => {
    const password = 'Very-Unusual-Password-4711';
    const email = 'logcheck@example.com';
    await full.request('POST', '/auth/signup', { body: { email, password } });
    await full.deliverMails();
    const token = /#token=([A-Za-z0-9_-]+)/.exec(full.outbox.latestTo(email)!.text)![1]!;
    await full.request('POST', '/auth/verify-email', { body: { token } });
    const login = await full.request('POST', '/auth/login', { body: { email, password } });
    const refresh = refreshCookieOf(login)!;
    await full.request('POST', '/auth/session/refresh', { headers: { origin: TEST_DASHBOARD_ORIGIN, cookie: `__Secure-pgp_refresh=${refresh}` } });
    await full.request('POST', '/auth/login', { body: { email, password: 'wrong-password-123' } });
    const logs = full.logLines.join('\n');
    expect(full.logLines.length).toBeGreaterThan(3);
    for (const secret of [password, 'wrong-password-123', token, refresh, login.json.accessToken]) expect(logs).not.toContain(secret);
  });
});

describe('the registry', () => {
  it('has unique operation ids and method + path pairs', () => {
    expect(new Set(dashboardRoutes.map((route) => route.operationId)).size).toBe(dashboardRoutes.length);
    expect(new Set(dashboardRoutes.map((route) => `${route.method} ${route.path}`)).size).toBe(dashboardRoutes.length);
  });
});
