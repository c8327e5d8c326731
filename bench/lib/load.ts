/**
 * HTTP load with autocannon: a fixed number of connections for a fixed time, each request built
 * just before it is sent (so every request can carry a different body).
 */
import autocannon from 'autocannon';

export interface LoadRequest {
  body: string;
  headers: Record<string, string>;
}

export interface LoadFigures {
  /** 2xx answers per second over the whole run. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** 2xx answers. */
  ok: number;
  /** Answers with another status, by status. */
  otherStatuses: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  seconds: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  /** The next request's body and headers; called once per request, and once more per connection at the end (built, never sent). */
  next: () => LoadRequest;
  /** Stop after this many answers even before `seconds` (a pool of one-use bodies must not run dry). */
  maxRequests?: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    ...(options.maxRequests === undefined ? {} : { maxOverallRequests: Math.max(options.maxRequests, options.connections) }),
    requests: [
      {
        method: 'POST',
        path: '/',
        setupRequest: (request) => {
          const next = options.next();
          return { ...request, body: next.body, headers: next.headers };
        },
      },
    ],
  });
  const otherStatuses: Record<string, number> = {};
  let ok = 0;
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) {
    const count = stats.count ?? 0;
    if (status.startsWith('2')) ok += count;
    else otherStatuses[status] = count;
  }
  return {
    requestsPerSecond: result.duration > 0 ? ok / result.duration : 0,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok,
    otherStatuses,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
  };
}

/** '2,277 req/s' style summary of a load, for progress lines. */
export function describeLoad(figures: LoadFigures): string {
  const other = Object.entries(figures.otherStatuses)
    .map(([status, count]) => `${count}×${status}`)
    .join(' ');
  return `${figures.requestsPerSecond.toFixed(0)} req/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms${other ? `, other answers ${other}` : ''}${figures.errors ? `, ${figures.errors} errors` : ''}`;
}
