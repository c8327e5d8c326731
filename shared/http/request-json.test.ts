import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { createEmbeddedDatabase } from '../db/index.js';
import { createLogger } from '../logging/index.js';
import { requestJson, type RequestJsonOptions } from './request-json.js';

const API_KEY = 'np_live_key_0123456789abcdef';
const Schema = z.object({ ok: z.boolean() });

type Reply = Response | Error | 'hang';

/** A fetch that answers from a script, one entry per call, and records what it was sent. */
function scriptedFetch(replies: Reply[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchImpl = vi.fn(async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: String(url), init: init ?? {} });
    const reply = replies[Math.min(calls.length - 1, replies.length - 1)];
    if (reply === undefined) throw new Error('no scripted reply');
    if (reply === 'hang') {
      return new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    }
    if (reply instanceof Error) throw reply;
    return reply.clone();
  });
  return { fetch: fetchImpl as unknown as typeof fetch, calls };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function connectionRefused(): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
}

function capturingLogger() {
  const lines: string[] = [];
  return { logger: createLogger({ write: (line) => lines.push(line) }), lines };
}

function options(overrides: Partial<RequestJsonOptions<{ ok: boolean }>> & { fetch: typeof fetch }): RequestJsonOptions<{ ok: boolean }> {
  return {
    url: 'https://api.example.test/v1/thing',
    method: 'GET',
    headers: { 'x-api-key': API_KEY },
    schema: Schema,
    service: 'nowpayments',
    operation: 'read_thing',
    sleep: async () => {},
    random: () => 0.5,
    logger: capturingLogger().logger,
    ...overrides,
  };
}

const rejection = (promise: Promise<unknown>) => promise.then(() => expect.fail('expected a rejection'), (error: unknown) => error);

describe('requestJson', () => {
  it('returns the parsed answer of a 2xx response and sends headers and body as given', async () => {
    const { fetch, calls } = scriptedFetch([json(201, { ok: true })]);
    await expect(requestJson(options({ fetch, method: 'POST', body: '{"price_amount":19.99}' }))).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(1);
    const init = calls[0]!.init;
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"price_amount":19.99}');
    expect(init.redirect).toBe('manual');
    expect(init.headers).toMatchObject({ 'x-api-key': API_KEY, 'content-type': 'application/json', accept: 'application/json' });
  });

  it('serialises a non-string body as JSON', async () => {
    const { fetch, calls } = scriptedFetch([json(200, { ok: true })]);
    await requestJson(options({ fetch, method: 'POST', body: { a: 1 } }));
    expect(calls[0]!.init.body).toBe('{"a":1}');
  });

  it('uses the given body parser', async () => {
    const { fetch } = scriptedFetch([json(200, '{"ok":"yes"}')]);
    const parseBody = (text: string) => ({ ok: (JSON.parse(text) as { ok: string }).ok === 'yes' });
    await expect(requestJson(options({ fetch, parseBody }))).resolves.toEqual({ ok: true });
  });

  it('retries a GET answered 503 and returns the later success, waiting a backoff between', async () => {
    const { fetch, calls } = scriptedFetch([json(503, { message: 'down' }), json(200, { ok: true })]);
    const sleep = vi.fn(async () => {});
    const { logger, lines } = capturingLogger();
    await expect(requestJson(options({ fetch, sleep, logger }))).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(2);
    expect(sleep).toHaveBeenCalledWith(188);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ severity: 'WARNING', message: 'http.retry', service: 'nowpayments', status: 503, attempt: 1 });
  });

  it('gives up after maxAttempts with a transient nowpayments_unavailable', async () => {
    const { fetch, calls } = scriptedFetch([json(502, { message: 'bad gateway' })]);
    const error = await rejection(requestJson(options({ fetch, maxAttempts: 3 })));
    expect(calls).toHaveLength(3);
    expect(error).toMatchObject({ name: 'TransientError', code: 'nowpayments_unavailable', context: { status: 502, attempts: 3 } });
  });

  it('does not repeat a POST answered 503 unless it is marked retry-safe', async () => {
    const first = scriptedFetch([json(503, {}), json(200, { ok: true })]);
    await expect(requestJson(options({ fetch: first.fetch, method: 'POST', body: '{}' }))).rejects.toMatchObject({
      code: 'nowpayments_unavailable',
    });
    expect(first.calls).toHaveLength(1);

    const second = scriptedFetch([json(503, {}), json(200, { ok: true })]);
    await expect(requestJson(options({ fetch: second.fetch, method: 'POST', body: '{}', isRetrySafe: true }))).resolves.toEqual({ ok: true });
    expect(second.calls).toHaveLength(2);
  });

  it('honours Retry-After on a 429', async () => {
    const { fetch, calls } = scriptedFetch([json(429, { message: 'slow down' }, { 'retry-after': '2' }), json(200, { ok: true })]);
    const sleep = vi.fn(async () => {});
    await expect(requestJson(options({ fetch, sleep, method: 'POST', body: '{}' }))).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(2);
    expect(sleep).toHaveBeenCalledWith(2000);
  });

  it('gives up at once when Retry-After asks for more than 30 seconds', async () => {
    const { fetch, calls } = scriptedFetch([json(429, {}, { 'retry-after': '120' })]);
    await expect(requestJson(options({ fetch }))).rejects.toMatchObject({
      name: 'TransientError',
      code: 'nowpayments_unavailable',
      context: { status: 429, retryAfterSeconds: 120 },
    });
    expect(calls).toHaveLength(1);
  });

  it('retries a GET after a network error and reports the code when it keeps failing', async () => {
    const { fetch, calls } = scriptedFetch([connectionRefused()]);
    const error = await rejection(requestJson(options({ fetch })));
    expect(calls).toHaveLength(3);
    expect(error).toMatchObject({
      name: 'TransientError',
      code: 'nowpayments_unavailable',
      context: { attempts: 3, timedOut: false, networkErrorCode: 'ECONNREFUSED' },
    });
  });

  it('aborts an attempt that takes longer than timeoutMs and retries it', async () => {
    const { fetch, calls } = scriptedFetch(['hang', json(200, { ok: true })]);
    await expect(requestJson(options({ fetch, timeoutMs: 20 }))).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(2);
    expect(calls[0]!.init.signal?.aborted).toBe(true);
  });

  it('reports a timeout as transient once attempts run out', async () => {
    const { fetch } = scriptedFetch(['hang']);
    await expect(requestJson(options({ fetch, timeoutMs: 10, maxAttempts: 2 }))).rejects.toMatchObject({
      code: 'nowpayments_unavailable',
      context: { timedOut: true, attempts: 2 },
    });
  });

  it('does not retry a 400 and keeps the provider code and message, not the body', async () => {
    const body = { status: false, statusCode: 400, code: 'INVALID_REQUEST_PARAMS', message: 'success_url must be a valid uri', debug: 'internal' };
    const { fetch, calls } = scriptedFetch([json(400, body)]);
    const error = await rejection(requestJson(options({ fetch, method: 'POST', body: '{}', isRetrySafe: true })));
    expect(calls).toHaveLength(1);
    expect(error).toMatchObject({
      name: 'PermanentError',
      code: 'nowpayments_rejected',
      context: { status: 400, providerCode: 'INVALID_REQUEST_PARAMS', providerMessage: 'success_url must be a valid uri', attempts: 1 },
    });
    expect(JSON.stringify(error)).not.toContain('internal');
    expect((error as Error).message).not.toContain('internal');
  });

  it('keeps an echoed API key out of a 401 error and out of the logs', async () => {
    const echoed = { code: 'INVALID_API_KEY', message: `Invalid api key ${API_KEY} for this endpoint` };
    const { fetch } = scriptedFetch([json(401, echoed)]);
    const { logger, lines } = capturingLogger();
    const error = await rejection(requestJson(options({ fetch, logger })));
    expect(error).toMatchObject({ name: 'PermanentError', code: 'nowpayments_rejected', context: { status: 401, providerCode: 'INVALID_API_KEY' } });
    const { message, context } = error as { message: string; context: Record<string, unknown> };
    expect(message).toMatch(/Check the API key/);
    expect(message).not.toContain(API_KEY);
    expect(JSON.stringify(context)).not.toContain(API_KEY);
    expect(context.providerMessage).toBe('Invalid api key [REDACTED] for this endpoint');
    logger.error('test.failed', { error });
    expect(lines.join('\n')).not.toContain(API_KEY);
  });

  it('cuts a long provider message', async () => {
    const { fetch } = scriptedFetch([json(404, { message: 'x'.repeat(5000) })]);
    const error = (await rejection(requestJson(options({ fetch })))) as { context: { providerMessage: string } };
    expect(error.context.providerMessage.length).toBeLessThanOrEqual(201);
  });

  it('never logs the URL or request headers while retrying', async () => {
    const { fetch } = scriptedFetch([json(500, {}), json(500, {}), json(200, { ok: true })]);
    const { logger, lines } = capturingLogger();
    await requestJson(options({ fetch, logger, url: 'https://api.telegram.org/bot123456:SECRETTOKENSECRETTOKENSECRETTOKEN1/getMe' }));
    expect(lines).toHaveLength(2);
    const text = lines.join('\n');
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('SECRETTOKEN');
    expect(text).not.toContain('api.telegram.org');
  });

  it('treats a 2xx body that fails the schema as a transient bad response', async () => {
    const { fetch, calls } = scriptedFetch([json(200, { ok: 'yes', secretish: 'value' })]);
    const error = await rejection(requestJson(options({ fetch })));
    expect(calls).toHaveLength(1);
    expect(error).toMatchObject({ name: 'TransientError', code: 'nowpayments_bad_response', context: { status: 200, issues: [{ path: 'ok' }] } });
    expect(JSON.stringify(error)).not.toContain('value');
  });

  it('treats a 2xx body that is not JSON as a transient bad response', async () => {
    const { fetch } = scriptedFetch([new Response('<html>maintenance</html>', { status: 200 })]);
    await expect(requestJson(options({ fetch }))).rejects.toMatchObject({ code: 'nowpayments_bad_response' });
  });

  it('refuses a redirect instead of following it with the API key', async () => {
    const { fetch, calls } = scriptedFetch([new Response(null, { status: 302, headers: { location: 'https://elsewhere.test/' } })]);
    await expect(requestJson(options({ fetch }))).rejects.toMatchObject({ name: 'PermanentError', code: 'nowpayments_rejected', context: { status: 302 } });
    expect(calls).toHaveLength(1);
  });

  it.each([0, 11, 2.5, Number.NaN])('refuses maxAttempts %s without sending anything', async (maxAttempts) => {
    const { fetch, calls } = scriptedFetch([json(200, { ok: true })]);
    await expect(requestJson(options({ fetch, maxAttempts }))).rejects.toMatchObject({ code: 'invalid_request_options' });
    expect(calls).toHaveLength(0);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses timeoutMs %s without sending anything', async (timeoutMs) => {
    const { fetch, calls } = scriptedFetch([json(200, { ok: true })]);
    await expect(requestJson(options({ fetch, timeoutMs }))).rejects.toMatchObject({ code: 'invalid_request_options' });
    expect(calls).toHaveLength(0);
  });

  it('refuses to run inside a database transaction', async () => {
    const db = await createEmbeddedDatabase();
    try {
      const { fetch, calls } = scriptedFetch([json(200, { ok: true })]);
      await expect(db.transaction(() => requestJson(options({ fetch })))).rejects.toThrow(/must not run inside a database transaction/);
      expect(calls).toHaveLength(0);
      await expect(requestJson(options({ fetch }))).resolves.toEqual({ ok: true });
    } finally {
      await db.close();
    }
  });
});
