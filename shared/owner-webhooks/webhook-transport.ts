import type { LookupFunction } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { WebhookTarget } from './webhook-url.js';

/** The most of an endpoint's answer kept in the delivery log. */
export const MAX_LOGGED_RESPONSE_BYTES = 1024;

export type PostOutcome =
  | { statusCode: number; responseBody: string }
  | { errorClass: 'timeout' | 'connection' | 'tls'; detail: string };

/**
 * POSTs `body` to the target, connecting only to `target.address` (the address the SSRF guard
 * checked; TLS still verifies the certificate for the URL's host name). No redirect is followed (a
 * 3xx is the answer), no proxy is used, the whole exchange must end within `timeoutMs`, and at most
 * 1 KiB of the answer is read.
 */
export function postPinned(target: WebhookTarget, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostOutcome> {
  // Every lookup of this request answers the checked address: DNS is not asked again.
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (typeof options === 'object' && options !== null && (options as { all?: boolean }).all) {
      (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }]);
    } else callback(null, target.address, target.family);
  };
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let isSettled = false;
    const settle = (outcome: PostOutcome) => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const request = send(
      target.url,
      {
        method: 'POST',
        lookup,
        agent: false,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'PayGatePrime-Webhooks/1' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          response.destroy();
          settle({ statusCode: response.statusCode ?? 0, responseBody: truncateUtf8(Buffer.concat(chunks).toString('utf8'), MAX_LOGGED_RESPONSE_BYTES) });
        };
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_LOGGED_RESPONSE_BYTES) chunks.push(chunk);
          size += chunk.length;
          if (size >= MAX_LOGGED_RESPONSE_BYTES) finish();
        });
        response.on('end', finish);
        response.on('error', finish);
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      settle({ errorClass: 'timeout', detail: `no complete answer within ${timeoutMs} ms` });
    }, timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => {
      const isTls = typeof error.code === 'string' && /CERT|SSL|TLS|SELF_SIGNED/i.test(error.code);
      settle({ errorClass: isTls ? 'tls' : 'connection', detail: error.code ?? 'connection failed' });
    });
    request.end(body);
  });
}

/** At most `maxBytes` of UTF-8, cut at a character boundary. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
