import type { IncomingHttpHeaders } from 'node:http';
import { type QueuedOutboxRow, trackQueuedMessages } from '../bus/index.js';
import type { ClientIpReader } from '../http-entry/index.js';
import type { DashboardRouter } from './router.js';

/** The parts of the Functions Framework's (Express) request the dashboard reads. */
export interface IncomingDashboardRequest {
  method?: string;
  originalUrl?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  /** Set by the Functions Framework's body parsers. */
  rawBody?: Buffer;
  socket?: { remoteAddress?: string };
}

/** The parts of a Node response the dashboard writes. */
export interface OutgoingDashboardResponse {
  statusCode: number;
  setHeader(name: string, value: string | string[]): unknown;
  end(body?: string): unknown;
}

const PREFIX = /^(?:\/[A-Za-z0-9._-]+)*$/;

/**
 * Serves one request through the router and then runs `afterResponse` with the outbox rows it queued (mails),
 * after the answer is written so its timing never depends on whether a mail was queued (an
 * enumeration signal). The client IP is read by `clientIp` (`clientIpReader`: the X-Forwarded-For
 * entry as many places from the right as there are trusted proxy hops). Locally the function host mounts functions under `/<name>` and says so in `X-Forwarded-Prefix`,
 * which is honoured only off Google Cloud (cookie paths must match what the browser sees).
 */
export async function serveDashboardRequest(
  router: DashboardRouter,
  request: IncomingDashboardRequest,
  response: OutgoingDashboardResponse,
  options: { isBehindGoogleFrontEnd: boolean; clientIp: ClientIpReader; afterResponse?: (queued: QueuedOutboxRow[]) => Promise<void> },
): Promise<void> {
  const forwardedPrefix = request.headers['x-forwarded-prefix'];
  const prefix = !options.isBehindGoogleFrontEnd && typeof forwardedPrefix === 'string' && PREFIX.test(forwardedPrefix) ? forwardedPrefix : '';
  const { result: answer, queued } = await trackQueuedMessages(() =>
    router.handle({
      method: (request.method ?? 'GET').toUpperCase(),
      url: request.originalUrl ?? request.url ?? '/',
      headers: request.headers,
      rawBody: request.rawBody,
      ip: options.clientIp(request),
      publicPathPrefix: prefix,
    }),
  );
  response.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
  response.end(answer.body);
  if (options.afterResponse && queued.length > 0) await options.afterResponse(queued);
}
