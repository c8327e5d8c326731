import http from 'node:http';
import { gzipSync } from 'node:zlib';
import * as ff from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorEnvelopeSchema } from '../dashboard/index.js';
import { type FunctionHost, startFunctionHost } from '../testing/sandbox/function-host.js';
import { publicHttpFunction } from './public-function.js';
import { SECURITY_HEADERS } from './security-headers.js';

const LIMITED = 'public-function-probe';
const UNLIMITED = 'public-function-unlimited-probe';
const LIMIT = 1024;
let reached = 0;

// As a function module does: before the framework builds its Express app.
ff.http(
  LIMITED,
  publicHttpFunction({ maxBodyBytes: LIMIT }, (req, res) => {
    reached++;
    res.status(200).json({ bytes: (req as { rawBody?: Buffer }).rawBody?.length ?? 0 });
  }),
);
// Another function in the same process (the local runtime serves all of them in one): not limited by the first.
ff.http(UNLIMITED, (req, res) => {
  res.status(200).json({ bytes: (req as { rawBody?: Buffer }).rawBody?.length ?? 0 });
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function send(host: FunctionHost, name: string, request: { headers?: Record<string, string>; body?: Buffer | string; chunks?: Buffer[]; agent?: http.Agent }): Promise<Answer> {
  const url = new URL(host.url);
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: url.hostname, port: url.port, method: 'POST', path: `/${name}/`, headers: request.headers, agent: request.agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('error', reject);
    if (request.chunks) {
      for (const chunk of request.chunks) outgoing.write(chunk);
      outgoing.end();
    } else {
      outgoing.end(request.body);
    }
  });
}

/** Sends only the headers, declaring `length` bytes, and waits for an answer without sending any of them. */
function sendHeadersOnly(host: FunctionHost, name: string, length: number): Promise<Answer> {
  const url = new URL(host.url);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      { host: url.hostname, port: url.port, method: 'POST', path: `/${name}/`, headers: { 'content-type': 'application/json', 'content-length': String(length) } },
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
    setTimeout(() => reject(new Error('no answer before the body was sent')), 5_000).unref();
  });
}

function expectTooLarge(answer: Answer): void {
  expect(answer.status).toBe(413);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(ErrorEnvelopeSchema.parse(JSON.parse(answer.text)).error.code).toBe('payload_too_large');
  expect(answer.headers).toMatchObject(SECURITY_HEADERS);
}

const json = (bytes: number) => JSON.stringify({ pad: 'x'.repeat(bytes - 10) });

describe('publicHttpFunction', () => {
  let host: FunctionHost;
  beforeAll(async () => {
    host = await startFunctionHost({ functions: [], preloaded: [LIMITED, UNLIMITED] });
  });
  afterAll(() => host?.close());

  it('answers a declared Content-Length over the limit with 413 in the envelope before any of the body is sent', async () => {
    const before = reached;
    expectTooLarge(await sendHeadersOnly(host, LIMITED, 1024 * 1024 * 1024));
    expectTooLarge(await sendHeadersOnly(host, LIMITED, LIMIT + 1));
    expect(reached).toBe(before);
  });

  it('reads a chunked body only up to the limit: 413, the function never runs', async () => {
    const before = reached;
    const chunks = Array.from({ length: 8 }, () => Buffer.from('x'.repeat(512)));
    expectTooLarge(await send(host, LIMITED, { headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, chunks }));
    expectTooLarge(await send(host, LIMITED, { headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' }, chunks }));
    expect(reached).toBe(before);
  });

  it('counts a compressed body as it inflates: a small gzip of a large body is 413', async () => {
    const bomb = gzipSync(json(64 * 1024));
    expect(bomb.length).toBeLessThan(LIMIT);
    expectTooLarge(await send(host, LIMITED, { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb }));
  });

  it('passes a body of exactly the limit to the function, with the security headers on its answer', async () => {
    const answer = await send(host, LIMITED, { headers: { 'content-type': 'application/json' }, body: json(LIMIT) });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ bytes: LIMIT });
    expect(answer.headers).toMatchObject(SECURITY_HEADERS);
  });

  it('keeps a keep-alive connection usable after refusing a body a little over the limit', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expectTooLarge(await send(host, LIMITED, { headers: { 'content-type': 'application/json' }, body: json(LIMIT * 4), agent }));
      const next = await send(host, LIMITED, { headers: { 'content-type': 'application/json' }, body: '{"a":1}', agent });
      expect(next.status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it('limits only the function it was given: another function in the process reads larger bodies', async () => {
    const answer = await send(host, UNLIMITED, { headers: { 'content-type': 'application/json' }, body: json(64 * 1024) });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ bytes: 64 * 1024 });
  });

  it('puts the security headers on what the framework refuses before the function', async () => {
    const answer = await send(host, LIMITED, { headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}' });
    expect(answer.status).toBe(415);
    expect(answer.headers).toMatchObject(SECURITY_HEADERS);
  });
});
