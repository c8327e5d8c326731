import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET_TOKEN_HEADER } from '../../shared/bot/index.js';
import { ErrorEnvelopeSchema } from '../../shared/dashboard/index.js';
import { SECURITY_HEADERS } from '../../shared/http-entry/index.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

/**
 * The three public functions as the Functions Framework serves them (`getTestServer`, the local
 * runtime's function host): each limits its body before reading it, answers with the security
 * headers, and answers what Express refuses before it runs in the JSON envelope, whatever NODE_ENV
 * is (unset, Express shows a stack trace on its own error page).
 */

const PUBLIC = [
  { name: 'dashboard-api', path: '/api/v1/auth/login', maxBodyBytes: 32 * 1024 },
  { name: 'nowpayments-ipn', path: '/', maxBodyBytes: 64 * 1024 },
  { name: 'telegram-webhook', path: '/', maxBodyBytes: 1024 * 1024 },
] as const;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

interface Target {
  base: string;
  close(): Promise<void>;
}

function send(base: string, request: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; chunks?: Buffer[] }): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      { host: url.hostname, port: url.port, method: request.method ?? 'POST', path: `${url.pathname.replace(/\/$/, '')}${request.path}`, headers: request.headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    outgoing.on('error', reject);
    if (request.chunks) {
      for (const chunk of request.chunks) outgoing.write(chunk);
      outgoing.end();
    } else {
      outgoing.end(request.body);
    }
  });
}

/** Only the headers, declaring `length` bytes; the answer must come without any of the body. */
function sendHeadersOnly(base: string, path: string, length: number): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      { host: url.hostname, port: url.port, method: 'POST', path: `${url.pathname.replace(/\/$/, '')}${path}`, agent: false, headers: { 'content-type': 'application/json', 'content-length': String(length) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          outgoing.destroy();
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    outgoing.on('error', (error) => (outgoing.destroyed ? undefined : reject(error)));
    outgoing.flushHeaders();
    setTimeout(() => reject(new Error(`no answer to ${path} before its body was sent`)), 10_000).unref();
  });
}

function expectEnvelope(answer: Answer, status: number, code: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(ErrorEnvelopeSchema.parse(JSON.parse(answer.text)).error.code).toBe(code);
  expect(answer.text).not.toMatch(/Error:|\bat \S+ \(|node_modules|<html|<pre/i);
  expect(answer.headers).toMatchObject(SECURITY_HEADERS);
}

/** Each public function on its own server, built (as production builds it) while NODE_ENV is `env`. */
async function serveEach(env: string | undefined): Promise<Record<string, Target>> {
  const saved = process.env.NODE_ENV;
  if (env === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = env;
  try {
    const targets: Record<string, Target> = {};
    for (const { name } of PUBLIC) {
      const server = getTestServer(name);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      targets[name] = {
        base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        close: () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      };
    }
    return targets;
  } finally {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  }
}

describe('the public functions at their HTTP entry', () => {
  let gateway: TestGateway;
  const servers: Record<string, Record<string, Target>> = {};
  const ENVS = { unset: undefined, production: 'production', development: 'development' } as const;

  beforeAll(async () => {
    gateway = await startTestGateway();
    for (const [label, env] of Object.entries(ENVS)) servers[label] = await serveEach(env);
  }, 120_000);
  afterAll(async () => {
    for (const targets of Object.values(servers)) for (const target of Object.values(targets)) await target.close();
    await gateway?.stop();
  });

  const mounted = (name: string) => `${gateway.runtime.url}/${name}`;

  describe('body limits', () => {
    it.each(PUBLIC)('$name answers a declared body over its limit ($maxBodyBytes bytes) with 413 before reading it', async ({ name, path, maxBodyBytes }) => {
      expectEnvelope(await sendHeadersOnly(mounted(name), path, maxBodyBytes + 1), 413, 'payload_too_large');
      expectEnvelope(await sendHeadersOnly(mounted(name), path, 1024 * 1024 * 1024), 413, 'payload_too_large');
    });

    it.each(PUBLIC)('$name reads a chunked body only up to its limit, then answers 413', async ({ name, path, maxBodyBytes }) => {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const chunks = Array.from({ length: Math.ceil(maxBodyBytes / chunk.length) + 1 }, () => chunk);
      expectEnvelope(await send(mounted(name), { path, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks }), 413, 'payload_too_large');
    });

    it('telegram-webhook still takes an update of ordinary size', async () => {
      const update = { update_id: 991_000_001, message: { message_id: 1, date: 1, chat: { id: 5, type: 'private', first_name: 'A' }, from: { id: 5, is_bot: false, first_name: 'A' }, text: 'x'.repeat(4096) } };
      const answer = await send(mounted('telegram-webhook'), {
        path: '/',
        headers: { 'content-type': 'application/json', [SECRET_TOKEN_HEADER]: process.env.TELEGRAM_WEBHOOK_SECRET ?? '' },
        body: JSON.stringify(update),
      });
      expect(answer.status, answer.text).toBe(200);
    });
  });

  describe('security headers', () => {
    it.each([
      ['nowpayments-ipn', 'a forged signature', { path: '/', headers: { 'content-type': 'application/json', 'x-nowpayments-sig': 'ab'.repeat(64) }, body: '{"payment_id":1}' }, 401],
      ['nowpayments-ipn', 'a GET', { method: 'GET', path: '/' }, 405],
      ['telegram-webhook', 'a wrong secret token', { path: '/', headers: { 'content-type': 'application/json', [SECRET_TOKEN_HEADER]: 'wrong' }, body: '{"update_id":1}' }, 401],
      ['dashboard-api', 'the health check', { method: 'GET', path: '/api/v1/health' }, 200],
    ] as const)('%s answers %s with them', async (name, _what, request, status) => {
      const answer = await send(mounted(name), { ...request, headers: { ...('headers' in request ? request.headers : {}) } });
      expect(answer.status, answer.text).toBe(status);
      expect(answer.headers).toMatchObject(SECURITY_HEADERS);
    });

    it('telegram-webhook answers an update it handled with them', async () => {
      const answer = await send(mounted('telegram-webhook'), {
        path: '/',
        headers: { 'content-type': 'application/json', [SECRET_TOKEN_HEADER]: process.env.TELEGRAM_WEBHOOK_SECRET ?? '' },
        body: JSON.stringify({ update_id: 991_000_002, message: { message_id: 1, date: 1, chat: { id: 6, type: 'private', first_name: 'B' }, from: { id: 6, is_bot: false, first_name: 'B' }, text: 'hi' } }),
      });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.headers).toMatchObject(SECURITY_HEADERS);
    });
  });

  describe.each(Object.keys(ENVS))('what the framework refuses, NODE_ENV %s', (label) => {
    it.each(PUBLIC)('$name answers a latin1 charset with 415 in the envelope', async ({ name, path }) => {
      expectEnvelope(await send(servers[label]![name]!.base, { path, headers: { 'content-type': 'application/json; charset=latin1' }, body: '{"a":"\xe9"}' }), 415, 'unsupported_media_type');
    });

    it.each(PUBLIC)('$name answers Content-Encoding: br that is not brotli with 400 in the envelope', async ({ name, path }) => {
      expectEnvelope(await send(servers[label]![name]!.base, { path, headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, body: '{"a":1}' }), 400, 'malformed_body');
    });

    it.each(PUBLIC)('$name answers an unknown Content-Encoding with 415 in the envelope', async ({ name, path }) => {
      expectEnvelope(await send(servers[label]![name]!.base, { path, headers: { 'content-type': 'application/json', 'content-encoding': 'x-compress' }, body: '{"a":1}' }), 415, 'unsupported_media_type');
    });

    it.each(PUBLIC)('$name answers a broken percent-escape in the path with 400 in the envelope', async ({ name }) => {
      expectEnvelope(await send(servers[label]![name]!.base, { method: 'GET', path: '/%E0%A4%A' }), 400, 'malformed_path');
    });
  });
});
