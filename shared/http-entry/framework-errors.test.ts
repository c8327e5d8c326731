import http from 'node:http';
import { gzipSync } from 'node:zlib';
import * as ff from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorEnvelopeSchema } from '../dashboard/index.js';
import { type FunctionHost, startFunctionHost } from '../testing/sandbox/function-host.js';
import { answerFrameworkErrors } from './framework-errors.js';

const PROBE = 'framework-errors-probe';

// As a function module does: before the framework builds its Express app.
answerFrameworkErrors();
ff.http(PROBE, (req, res) => {
  res.status(200).json({ reached: true, body: req.body === undefined ? null : req.body });
});

function send(host: FunctionHost, request: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string }) {
  const url = new URL(host.url);
  return new Promise<{ status: number; contentType: string; text: string }>((resolve, reject) => {
    const outgoing = http.request({ host: url.hostname, port: url.port, method: request.method ?? 'POST', path: `/${PROBE}${request.path}`, headers: request.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type']), text: Buffer.concat(chunks).toString('utf8') }));
    });
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

describe('answerFrameworkErrors', () => {
  let host: FunctionHost;
  beforeAll(async () => {
    host = await startFunctionHost({ functions: [], preloaded: [PROBE] });
  });
  afterAll(() => host?.close());

  it.each<{ name: string; path: string; headers: Record<string, string>; body: string | undefined; status: number; code: string }>([
    { name: 'a path with a broken percent-escape', path: '/%E0%A4%A', headers: {}, body: undefined, status: 400, code: 'malformed_path' },
    { name: 'a JSON body in a charset we do not read', path: '/', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}', status: 415, code: 'unsupported_media_type' },
    { name: 'a text body in an unknown charset', path: '/', headers: { 'content-type': 'text/plain; charset=x-unknown' }, body: 'hi', status: 415, code: 'unsupported_media_type' },
    { name: 'an unknown Content-Encoding', path: '/', headers: { 'content-type': 'application/json', 'content-encoding': 'x-unknown' }, body: '{}', status: 415, code: 'unsupported_media_type' },
    { name: 'a "gzip" body that is not gzip', path: '/', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: '{"a":1}', status: 400, code: 'malformed_body' },
    {
      name: 'a form with too many fields',
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Array.from({ length: 1_100 }, (_, index) => `f${index}=1`).join('&'),
      status: 413,
      code: 'payload_too_large',
    },
  ])('answers $name with $status in the error envelope, without a stack trace', async ({ path, headers, body, status, code }) => {
    const response = await send(host, { path, headers, body });
    expect(response.status).toBe(status);
    expect(response.contentType).toMatch(/^application\/json/);
    const envelope = ErrorEnvelopeSchema.parse(JSON.parse(response.text));
    expect(envelope.error.code).toBe(code);
    expect(response.text).not.toMatch(/Error:|\bat \S+ \(|node_modules/);
  });

  it('keeps the connection usable: the next request on it reaches the function', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL(host.url);
    const once = (headers: Record<string, string>, body: string) =>
      new Promise<number>((resolve, reject) => {
        const outgoing = http.request({ host: url.hostname, port: url.port, method: 'POST', path: `/${PROBE}/`, headers, agent }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        });
        outgoing.on('error', reject);
        outgoing.end(body);
      });
    try {
      expect(await once({ 'content-type': 'application/json; charset=latin1' }, '{"unread": "body"}')).toBe(415);
      expect(await once({ 'content-type': 'application/json' }, '{"a":1}')).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it('still lets well-formed requests through, a real gzip body included, and hands malformed JSON to the function', async () => {
    const plain = await send(host, { path: '/', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(JSON.parse(plain.text)).toEqual({ reached: true, body: { a: 1 } });
    const gzipped = await send(host, { path: '/', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync('{"a":2}') });
    expect(JSON.parse(gzipped.text)).toEqual({ reached: true, body: { a: 2 } });
    const malformed = await send(host, { path: '/', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    expect(JSON.parse(malformed.text)).toEqual({ reached: true, body: null });
  });
});
