import { appendFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import http from 'node:http';
import * as fc from 'fast-check';
import type { Db } from '../../shared/db/index.js';
import { ErrorEnvelopeSchema } from '../../shared/dashboard/index.js';
import { createFakeClock, type FakeClock } from '../../shared/testing/fakes/clock.js';
import { startTestGateway, type TestGateway } from '../e2e/gateway-harness.js';

/**
 * The fuzz suites' shared machinery: a gateway on a fake clock, raw HTTP (any method, header and
 * byte), the properties every answer must have, the row-write probe, and a seeded fast-check run
 * that reports what it sent and saw.
 *
 * Settings (environment): `FUZZ_RUNS` requests per entry point (default 300, `npm run fuzz` 10,000),
 * `FUZZ_SEED` and `FUZZ_PATH` to replay a run or one counterexample (fast-check's seed and path),
 * `FUZZ_REPORT` a file each suite appends its figures to as one JSON line (`npm run fuzz` prints them).
 */

export interface FuzzSettings {
  runs: number;
  seed: number;
  path: string | undefined;
  reportFile: string | undefined;
}

export const DEFAULT_FUZZ_RUNS = 300;

export function fuzzSettings(env: NodeJS.ProcessEnv = process.env): FuzzSettings {
  const runs = env.FUZZ_RUNS ? Number(env.FUZZ_RUNS) : DEFAULT_FUZZ_RUNS;
  const seed = env.FUZZ_SEED ? Number(env.FUZZ_SEED) : randomInt(2 ** 31);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS must be a whole number ≥ 1, got ${env.FUZZ_RUNS}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${env.FUZZ_SEED}`);
  return { runs, seed, path: env.FUZZ_PATH || undefined, reportFile: env.FUZZ_REPORT || undefined };
}

/** Time a suite may take: a slow machine needs far more than a fast one, so this only stops a hang. */
export function fuzzTimeoutMs(settings: FuzzSettings): number {
  return 120_000 + settings.runs * 1_000;
}

// ---- the gateway ----

export interface FuzzGateway {
  gateway: TestGateway;
  clock: FakeClock;
  /** Values no answer may ever contain. */
  secrets: string[];
  /** Tables the row-write probe watches: every table of the schema. */
  tables: string[];
  stop(): Promise<void>;
}

/**
 * Every request batch moves the clock this far ahead: rate-limit windows (at most an hour) start
 * afresh, so later requests still reach the handlers instead of all answering 429.
 */
export const BATCH_SIZE = 100;
const BATCH_CLOCK_STEP_MS = 61 * 60_000;

/** The whole gateway on a fake clock, each message delivered once (the fuzz is about the HTTP edge). */
export async function startFuzzGateway(): Promise<FuzzGateway> {
  const clock = createFakeClock(new Date());
  const gateway = await startTestGateway({ deliverTwice: false, clock });
  const secretNames = ['JWT_SECRET', 'NOWPAYMENTS_IPN_SECRET', 'NOWPAYMENTS_API_KEY', 'TELEGRAM_WEBHOOK_SECRET', 'TELEGRAM_BOT_TOKEN', 'CHANGENOW_API_KEY', 'HOST_WALLET_PRIVATE_KEY'];
  const secrets = secretNames.map((name) => process.env[name] ?? '').filter((value) => value.length >= 8);
  if (gateway.testDb.url) secrets.push(gateway.testDb.url);
  const { rows } = await gateway.testDb.db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  return { gateway, clock, secrets, tables: rows.map((row) => row.name), stop: () => gateway.stop() };
}

/**
 * Waits until nothing runs behind the last answer: outbox rows published (dashboard-api relays
 * after answering) and every bus delivery and Telegram update finished. Bounded: a row no relay
 * can publish must not stall the suite (it changes no count either).
 */
export async function quiesce(gateway: TestGateway): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    // Counted before draining: the in-process bus registers a delivery before the relay marks its
    // row published, so once nothing is unpublished, the drain below waits for every delivery.
    const { rows } = await gateway.testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
    await gateway.settle();
    if ((rows[0]?.n ?? 0) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// ---- raw HTTP ----

export interface FuzzRequest {
  method: string;
  /** Path and query below the function's mount (`/api/v1/me?x=1`); bytes 0x21–0xff only, as Node sends them. */
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Loopback address the request leaves from: its client IP. */
  localAddress: string;
  /** False when it carries no valid credential for what it asks: then it must write no row. */
  isAuthenticated: boolean;
  /** What the generator meant it to be, for reports. */
  label: string;
}

export interface FuzzResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Why no answer came (status 0). */
  failure?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Sends `request` to `/<mount><path>` on the gateway, bytes as given; never rejects (status 0 = no
 * answer). A request that fails with ECONNRESET on a reused keep-alive socket is sent once more on a
 * new one: the server closed the idle socket as the request left (Node's documented race), which
 * says nothing about the function.
 */
export async function sendRaw(baseUrl: string, mount: string, request: FuzzRequest): Promise<FuzzResponse> {
  const first = await sendOnce(baseUrl, mount, request);
  return first.isStaleSocket ? sendOnce(baseUrl, mount, request) : first;
}

function sendOnce(baseUrl: string, mount: string, request: FuzzRequest): Promise<FuzzResponse & { isStaleSocket?: boolean }> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (response: FuzzResponse & { isStaleSocket?: boolean }) => {
      if (!settled) {
        settled = true;
        resolve(response);
      }
    };
    let outgoing: http.ClientRequest;
    try {
      // Node's client frames a GET or DELETE body only with an explicit Content-Length; without one the
      // server would read the body as the next request.
      const headers = request.body === undefined ? request.headers : { ...request.headers, 'content-length': String(request.body.length) };
      outgoing = http.request(
        { host: url.hostname, port: url.port, method: request.method, path: `/${mount}${request.path}`, headers, localAddress: request.localAddress, agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => finish({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', (error) => finish({ status: 0, headers: {}, body: '', failure: String(error) }));
        },
      );
    } catch (error) {
      // Node refused to send it (a header or path no client can put on the wire): a generator bug.
      finish({ status: 0, headers: {}, body: '', failure: `not sendable: ${String(error)}` });
      return;
    }
    outgoing.setTimeout(REQUEST_TIMEOUT_MS, () => outgoing.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    outgoing.on('error', (error: NodeJS.ErrnoException) =>
      finish({ status: 0, headers: {}, body: '', failure: String(error), isStaleSocket: outgoing.reusedSocket && error.code === 'ECONNRESET' }),
    );
    outgoing.end(request.body);
  });
}

// ---- properties of every answer ----

/**
 * What an answer must never show. A match the request itself contains (a title echoed back) is
 * not a leak; a secret is, whatever the request held.
 */
const LEAK_PATTERNS: readonly (readonly [string, RegExp])[] = [
  ['a stack trace', /\bat (?:async )?[\w$.<>[\] ]+ \((?:[^()\s]+):\d+:\d+\)|\bat (?:[^()\s]+):\d+:\d+|node:internal|node_modules\//g],
  [
    'SQL text or a database error',
    /\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM)\b[^"]{0,200}\b(?:FROM|VALUES|SET|WHERE)\b|syntax error at or near|violates [\w -]*constraint|duplicate key value|relation "[^"]*"|column "[^"]*"|invalid input syntax for|out of range for type|value too long for type|invalid byte sequence for encoding|unsupported Unicode escape sequence|date\/time field value out of range|SQLSTATE/g,
  ],
  ['exception text', /\b[A-Z]\w*Error\b:|\bError: |Cannot read propert|is not a function|is not defined|Unexpected token|in JSON at position|Maximum call stack/g],
];

/**
 * The Functions Framework answers these paths (and anything below them, any case, as Express
 * mounts match) itself with 404 and no body, before any function runs.
 */
const FRAMEWORK_IGNORED_PATH = /^\/(?:favicon\.ico|robots\.txt)(?:\/|$)/i;

function requestText(request: FuzzRequest): string {
  let path = request.path;
  try {
    path += ` ${decodeURIComponent(request.path)}`;
  } catch {
    // A path with broken escapes is compared as sent.
  }
  return `${path}\n${JSON.stringify(request.headers)}\n${request.body?.toString('utf8') ?? ''}\n${request.body?.toString('latin1') ?? ''}`;
}

/** Every property `response` breaks, as sentences (empty when it is fine). */
export function responseViolations(request: FuzzRequest, response: FuzzResponse, secrets: readonly string[]): string[] {
  if (response.status === 0) return [`no HTTP answer (${response.failure})`];
  const violations: string[] = [];
  if (response.status >= 500) violations.push(`answered ${response.status}`);
  const shown = `${response.body}\n${JSON.stringify(response.headers)}`;
  for (const secret of secrets) if (shown.includes(secret)) violations.push('the answer contains a secret');
  const sent = requestText(request);
  for (const [what, pattern] of LEAK_PATTERNS) {
    const leaked = [...response.body.matchAll(pattern)].map((match) => match[0]).filter((text) => !sent.includes(text));
    if (leaked.length > 0) violations.push(`the body shows ${what}: ${JSON.stringify(leaked[0])}`);
  }
  // As the function sees it: the local host resolves dot segments before handing the path on.
  let pathname = request.path.split('?')[0]!;
  try {
    pathname = new URL(`http://host${request.path.startsWith('/') ? request.path : `/${request.path}`}`).pathname;
  } catch {
    // Not parseable as a URL: the host would not have resolved anything either.
  }
  const isBodyless = request.method === 'HEAD' || FRAMEWORK_IGNORED_PATH.test(pathname);
  if (response.status >= 400 && !isBodyless) {
    const contentType = String(response.headers['content-type'] ?? '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      parsed = undefined;
    }
    const envelope = ErrorEnvelopeSchema.safeParse(parsed);
    if (!/^application\/json\b/.test(contentType) || !envelope.success) {
      violations.push(`a ${response.status} without the error envelope (content-type ${contentType || 'none'}): ${JSON.stringify(response.body.slice(0, 200))}`);
    } else if (!/^[a-z][a-z0-9_]*$/.test(envelope.data.error.code)) {
      violations.push(`error code ${JSON.stringify(envelope.data.error.code)} is not snake_case`);
    }
  }
  if ((response.status === 429 || response.status === 503) && !/^[1-9]\d*$/.test(String(response.headers['retry-after'] ?? ''))) {
    violations.push(`a ${response.status} without Retry-After`);
  }
  return violations;
}

// ---- row writes ----

/** Row counts per table and the transaction-id mark at one moment. */
export interface WriteProbe {
  mark: bigint;
  counts: Map<string, number>;
}

function countsQuery(tables: readonly string[]): string {
  // xmin of a row is the id of the transaction that wrote (inserted or updated) it: rows written
  // after the mark have xmin >= mark (32-bit ids; a fresh database is far from wrapping).
  return tables
    .map((table) => `SELECT '${table}' AS name, count(*)::int AS total, count(*) FILTER (WHERE (xmin::text)::bigint >= $1)::int AS written FROM "${table}"`)
    .join(' UNION ALL ');
}

export async function probeWrites(db: Db, tables: readonly string[]): Promise<WriteProbe> {
  const { rows: marks } = await db.query<{ mark: string }>('SELECT (pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296)::text AS mark');
  const mark = BigInt(marks[0]!.mark);
  const { rows } = await db.query<{ name: string; total: number }>(countsQuery(tables), [mark.toString()]);
  return { mark, counts: new Map(rows.map((row) => [row.name, row.total])) };
}

/** Tables with a row inserted, updated or deleted since `before`, as `table (+n inserted, m written)`. */
export async function writesSince(db: Db, tables: readonly string[], before: WriteProbe): Promise<string[]> {
  const { rows } = await db.query<{ name: string; total: number; written: number }>(countsQuery(tables), [before.mark.toString()]);
  return rows
    .filter((row) => row.written > 0 || row.total !== before.counts.get(row.name))
    .map((row) => `${row.name} (${row.total - (before.counts.get(row.name) ?? 0)} rows more, ${row.written} written)`);
}

// ---- the run ----

export interface FuzzReport {
  entryPoint: string;
  database: 'postgres' | 'pglite';
  seed: number;
  path: string | null;
  requests: number;
  statuses: Record<string, number>;
  violations: number;
  durationMs: number;
}

export interface FuzzOutcome {
  violations: string[];
  request: FuzzRequest;
  response: FuzzResponse;
}

function describeRequest(request: FuzzRequest, response: FuzzResponse): string {
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `  ${name}: ${value.length > 120 ? `${value.slice(0, 120)}… (${value.length} chars)` : value}`)
    .join('\n');
  const body = request.body ? request.body.toString('utf8') : '(no body)';
  return [
    `${request.label}: ${request.method} ${request.path.length > 300 ? `${request.path.slice(0, 300)}…` : request.path} from ${request.localAddress}`,
    headers,
    `  body: ${body.length > 600 ? `${body.slice(0, 600)}… (${request.body?.length} bytes)` : body}`,
    `answer: ${response.status} ${response.body.slice(0, 600)}`,
  ].join('\n');
}

/**
 * Runs `settings.runs` generated requests through `execute` (which sends one and checks it) with
 * fast-check, seeded: the seed is printed, and `FUZZ_SEED` (+ `FUZZ_PATH` for one counterexample)
 * replays it. A violation fails the run after fast-check shrank it to a small request; the error
 * names the request, what it broke and how to replay it.
 */
export async function runFuzz<T>(options: {
  entryPoint: string;
  testFile: string;
  database: 'postgres' | 'pglite';
  settings: FuzzSettings;
  plans: fc.Arbitrary<T>;
  execute: (plan: T) => Promise<FuzzOutcome>;
}): Promise<FuzzReport> {
  const { settings, entryPoint } = options;
  const replay = `FUZZ_SEED=${settings.seed}${settings.path ? ` FUZZ_PATH=${settings.path}` : ''} npx vitest run ${options.testFile}`;
  console.log(`[fuzz] ${entryPoint}: ${settings.path ? `the request at path ${settings.path}` : `${settings.runs} requests`}, seed ${settings.seed} (replay: ${replay})`);
  const statuses: Record<string, number> = {};
  let requests = 0;
  let violations = 0;
  let lastFailure: string | undefined;
  const started = performance.now();
  const property = fc.asyncProperty(options.plans, async (plan) => {
    const outcome = await options.execute(plan);
    requests++;
    statuses[outcome.response.status] = (statuses[outcome.response.status] ?? 0) + 1;
    if (outcome.violations.length > 0) {
      violations++;
      lastFailure = `${outcome.violations.map((violation) => `- ${violation}`).join('\n')}\n${describeRequest(outcome.request, outcome.response)}`;
      throw new Error(lastFailure);
    }
  });
  // With a path fast-check starts at that request; one run replays exactly it (and shrinks it again if it still fails).
  const details = await fc.check(property, { numRuns: settings.path ? 1 : settings.runs, seed: settings.seed, path: settings.path });
  const report: FuzzReport = {
    entryPoint,
    database: options.database,
    seed: settings.seed,
    path: settings.path ?? null,
    requests,
    statuses,
    violations,
    durationMs: Math.round(performance.now() - started),
  };
  const histogram = Object.entries(statuses)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');
  console.log(`[fuzz] ${entryPoint}: ${requests} requests in ${(report.durationMs / 1000).toFixed(1)} s on ${options.database}, statuses ${histogram}, ${violations} violations`);
  if (settings.reportFile) appendFileSync(settings.reportFile, `${JSON.stringify(report)}\n`);
  if (details.failed) {
    const path = details.counterexamplePath ?? '';
    throw new Error(
      `${entryPoint}: a generated request broke a property (shrunk after ${details.numRuns} runs, ${details.numShrinks} shrinks)\n${lastFailure ?? `the fuzz itself failed: ${(details.errorInstance as Error | undefined)?.stack ?? String(details.errorInstance)}`}\n` +
        `replay this request: FUZZ_SEED=${details.seed} FUZZ_PATH=${path} npx vitest run ${options.testFile}`,
    );
  }
  return report;
}

/** Moves the clock one batch ahead every `BATCH_SIZE` requests; true when a new batch starts. */
export function createBatchClock(clock: FakeClock): { next(): boolean } {
  let sent = 0;
  return {
    next() {
      const isNewBatch = sent % BATCH_SIZE === 0;
      if (isNewBatch && sent > 0) clock.advance(BATCH_CLOCK_STEP_MS);
      sent++;
      return isNewBatch;
    },
  };
}
