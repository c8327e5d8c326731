import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What happens to one request on its way through the proxy:
 * - `pass`: forwarded, answered as the upstream answered;
 * - `fail_before`: answered 503 without reaching the upstream (an outage);
 * - `fail_after`: forwarded (the upstream acts), then answered 500 (it acted, we are told it failed);
 * - `drop_before`: the connection is closed without an answer and without reaching the upstream;
 * - `drop_after`: forwarded (the upstream acts), then the connection is closed: the answer is lost,
 *   like a timeout after the provider did the work.
 */
export type ProxyFault = 'pass' | 'fail_before' | 'fail_after' | 'drop_before' | 'drop_after';

export interface ProxiedRequest {
  method: string;
  /** Path and query, e.g. `/v2/exchange`. */
  path: string;
  /** The request body as text (JSON-RPC calls: the method names are in it). */
  body: string;
}

export interface FaultProxyOptions {
  /** Where requests go, e.g. `http://127.0.0.1:8545`. */
  target: string;
  /** Decides each request's fate; `pass` when absent or when the proxy is switched off. */
  decide?: (request: ProxiedRequest) => ProxyFault;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`; the proxied path is appended as is. */
  url: string;
  /** Counts of each fate so far. */
  readonly counts: Readonly<Record<ProxyFault, number>>;
  /** Stops injecting (every later request passes) or starts again. */
  setEnabled(isEnabled: boolean): void;
  close(): Promise<void>;
}

const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

/**
 * An HTTP proxy that injects provider faults in front of a simulator or a node (chaos tests): the
 * code under test talks to it through its ordinary URL setting and sees real refused connections,
 * 5xx answers and lost answers after the provider acted.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const counts: Record<ProxyFault, number> = { pass: 0, fail_before: 0, fail_after: 0, drop_before: 0, drop_after: 0 };
  let isEnabled = true;

  const readBody = (request: IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => resolve(Buffer.concat(chunks)));
      request.on('error', reject);
    });

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(request);
    const path = request.url ?? '/';
    const fate = isEnabled && options.decide ? options.decide({ method: request.method ?? 'GET', path, body: body.toString('utf8') }) : 'pass';
    counts[fate] += 1;
    if (fate === 'drop_before') return void request.socket.destroy();
    if (fate === 'fail_before') return void response.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"service_unavailable"}');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string' && !HOP_HEADERS.has(name)) headers[name] = value;
    }
    let upstream: Response;
    try {
      upstream = await fetch(`${options.target}${path}`, {
        method: request.method,
        headers,
        body: request.method === 'GET' || request.method === 'HEAD' ? undefined : body,
      });
    } catch {
      return void request.socket.destroy();
    }
    const answer = Buffer.from(await upstream.arrayBuffer());
    if (fate === 'drop_after') return void request.socket.destroy();
    if (fate === 'fail_after') return void response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal_error"}');
    response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(answer);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => request.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setEnabled: (value) => {
      isEnabled = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
