/**
 * What a duplicate IPN costs the function itself, without HTTP: the built `nowpayments-ipn` handler
 * and the least-possible duplicate handler (bench/baseline-functions/verified-read: signature check
 * and one read) called in one process, in turn, with the same settled IPNs, one call at a time on
 * the same PostgreSQL database; CPU of the process per call (median over alternating rounds). Also
 * against that least possible plus what our guarantees add to every answer (a record line of the
 * receipt and the security headers: bench/baseline-functions/verified-read-guarded).
 *
 * `ipn-ingest` measures the same two over HTTP at 32 connections, where the loopback, the framework
 * and the other processes on 2 shared cores move a figure by ±20 % between rounds: about the size of
 * the gap between the two. Here only the handlers' own code, their pg calls and the log line differ.
 *
 * The handlers are taken from the functions-framework registry (`getFunction`) after importing the
 * built bundle and the baseline, and called with a minimal request and response: the framework's
 * Express layers are left out, as they are the same for both. The measuring runs in a child process
 * whose standard output is a file, as a function's is where Cloud Run collects its log lines.
 *
 * `npm run bench -- duplicate-handler [--quick]`. Needs DATABASE_URL (PostgreSQL: the baseline reads
 * with pg). BENCH_ROUNDS and BENCH_CALLS change the shape; BENCH_CPU_PROFILE=<folder> writes a V8 CPU
 * profile of the measuring process there (all handlers, warm-up and seeding included).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFunction } from '../scripts/build.js';
import { repositoryRoot } from '../shared/bus/topology.js';
import { onCleanup, runBench } from './lib/cleanup.js';
import { hasServerDatabase, throwAwayDatabase } from './lib/database.js';
import { signedFinishedIpn, type SignedIpn } from './lib/ipn-bodies.js';
import { databaseKind, integerFromEnv, isQuick, rounds } from './lib/options.js';
import { rowWithoutGoal, writeBenchResults } from './lib/results.js';
import { alternateRounds } from './lib/rounds.js';
import { seedChannels, seedOpenCheckouts } from './lib/seed.js';
import { median, ratioOf } from './lib/stats.js';
import { formatRows } from './lib/table.js';

const NAME = 'duplicate-handler';
const FUNCTION = 'nowpayments-ipn';
const BASELINE = 'verified-read';
const GUARDED_BASELINE = 'verified-read-guarded';
const CALLS = integerFromEnv('BENCH_CALLS', isQuick ? 2_000 : 20_000);
/** Settled payments whose IPNs are sent again in turn. */
const SETTLED = isQuick ? 20 : 200;
const MEASURE_FLAG = '--measure';

type Handler = (req: unknown, res: unknown) => unknown;

interface Answer {
  status: number;
  body: string;
  headerCount: number;
}

/** The part of an Express response the two handlers use; resolves the call when the body is written. */
class CallResponse {
  readonly headers: Record<string, unknown> = {};
  readonly locals = {};
  statusCode = 200;
  constructor(private readonly answered: (answer: Answer) => void) {}
  setHeader(name: string, value: unknown): void {
    this.headers[name.toLowerCase()] = value;
  }
  status(code: number): this {
    this.statusCode = code;
    return this;
  }
  set(name: string | Record<string, unknown>, value?: unknown): this {
    if (typeof name === 'string') this.setHeader(name, value);
    else for (const [key, item] of Object.entries(name)) this.setHeader(key, item);
    return this;
  }
  json(body: unknown): void {
    this.answered({ status: this.statusCode, body: JSON.stringify(body), headerCount: Object.keys(this.headers).length });
  }
}

/** One call as the framework makes it after reading the body: parsed `body`, `rawBody`, headers, the peer's address. */
function call(handler: Handler, ipn: SignedIpn): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...ipn.headers, 'content-length': String(Buffer.byteLength(ipn.body)) };
    const req = {
      method: 'POST',
      headers,
      rawBody: Buffer.from(ipn.body, 'utf8'),
      body: JSON.parse(ipn.body) as unknown,
      get: (name: string) => headers[name.toLowerCase()],
      socket: { remoteAddress: '127.0.0.1' },
    };
    Promise.resolve(handler(req, new CallResponse(resolve))).catch(reject);
  });
}

/** CPU of this process per call (µs) over `count` sequential calls. */
async function cpuPerCall(handler: Handler, ipns: readonly SignedIpn[], count: number): Promise<number> {
  const before = process.cpuUsage();
  for (let index = 0; index < count; index += 1) await call(handler, ipns[index % ipns.length] as SignedIpn);
  const spent = process.cpuUsage(before);
  return (spent.user + spent.system) / count;
}

interface Measured {
  subjectMicros: number[];
  baselineMicros: number[];
  guardedMicros: number[];
  subjectAnswer: Answer;
  baselineAnswer: Answer;
}

/** The child: seeds, imports both handlers, measures, and sends the figures to the parent. */
async function measure(): Promise<void> {
  const { outdir } = await buildFunction(FUNCTION);
  const testDb = await throwAwayDatabase();
  await testDb.db.exec('CREATE TABLE bench_raw_ipns (provider_payment_id text PRIMARY KEY, body text NOT NULL, received_at timestamptz NOT NULL)');
  const tiers = await seedChannels(testDb.db, 2);
  const secret = randomBytes(32).toString('hex');
  // No Pub/Sub here: the seeding IPNs' payment-settled messages stay in the outbox (each publish
  // fails and is logged); duplicates publish nothing.
  // METADATA_SERVER_DETECTION=none: those publishes fail at once on missing credentials instead of
  // first probing for a Google metadata server.
  Object.assign(process.env, { DATABASE_URL: testDb.url, NOWPAYMENTS_IPN_SECRET: secret, GOOGLE_CLOUD_PROJECT: 'demo-paygateprime', DB_POOL_MAX: '2', METADATA_SERVER_DETECTION: 'none' });
  delete process.env.PUBSUB_EMULATOR_HOST;
  const registry = await import('@google-cloud/functions-framework/testing');
  await import(path.join(outdir, 'index.js'));
  await import(path.join(repositoryRoot(), 'bench', 'baseline-functions', BASELINE, 'index.js'));
  await import(path.join(repositoryRoot(), 'bench', 'baseline-functions', GUARDED_BASELINE, 'index.js'));
  const subject = registry.getFunction(FUNCTION) as Handler | undefined;
  const baseline = registry.getFunction(BASELINE) as Handler | undefined;
  const guarded = registry.getFunction(GUARDED_BASELINE) as Handler | undefined;
  if (!subject || !baseline || !guarded) throw new Error(`${FUNCTION}, ${BASELINE} or ${GUARDED_BASELINE} did not register with the functions framework`);

  const settled: SignedIpn[] = [];
  for (const orderId of await seedOpenCheckouts(testDb.db, tiers, SETTLED)) {
    const ipn = signedFinishedIpn(orderId, secret);
    const answer = await call(subject, ipn);
    if (answer.status !== 200 || !answer.body.includes('"updated"')) throw new Error(`${FUNCTION} answered ${answer.status} ${answer.body} to a new IPN`);
    settled.push(ipn);
    await testDb.db.query('INSERT INTO bench_raw_ipns (provider_payment_id, body, received_at) VALUES ($1, $2, now())', [ipn.providerPaymentId, ipn.body]);
  }
  const subjectAnswer = await call(subject, settled[0] as SignedIpn);
  const baselineAnswer = await call(baseline, settled[0] as SignedIpn);
  const guardedAnswer = await call(guarded, settled[0] as SignedIpn);
  if (guardedAnswer.status !== 200 || !guardedAnswer.body.includes('"known":true')) throw new Error(`${GUARDED_BASELINE} answered ${guardedAnswer.status} ${guardedAnswer.body}`);
  if (subjectAnswer.status !== 200 || !subjectAnswer.body.includes('"unchanged"')) throw new Error(`${FUNCTION} answered ${subjectAnswer.status} ${subjectAnswer.body} to a duplicate`);
  if (baselineAnswer.status !== 200 || !baselineAnswer.body.includes('"known":true')) throw new Error(`${BASELINE} answered ${baselineAnswer.status} ${baselineAnswer.body}`);

  // Warm-up: both handlers' code optimised, both pools full.
  await cpuPerCall(subject, settled, Math.min(CALLS, 2_000));
  await cpuPerCall(baseline, settled, Math.min(CALLS, 2_000));
  await cpuPerCall(guarded, settled, Math.min(CALLS, 2_000));
  const measured = await alternateRounds({
    rounds,
    baseline: async () => ({ floor: await cpuPerCall(baseline, settled, CALLS), guarded: await cpuPerCall(guarded, settled, CALLS) }),
    subject: () => cpuPerCall(subject, settled, CALLS),
    onRound: (round, baselineMicros, subjectMicros) =>
      console.error(
        `round ${round}: ${FUNCTION} ${subjectMicros.toFixed(1)} µs, ${BASELINE} ${baselineMicros.floor.toFixed(1)} µs, ${GUARDED_BASELINE} ${baselineMicros.guarded.toFixed(1)} µs of CPU per duplicate`,
      ),
  });
  const result: Measured = {
    subjectMicros: measured.subject,
    baselineMicros: measured.baseline.map((round) => round.floor),
    guardedMicros: measured.baseline.map((round) => round.guarded),
    subjectAnswer,
    baselineAnswer,
  };
  await new Promise<void>((resolve, reject) => process.send?.(result, undefined, {}, (error: Error | null) => (error ? reject(error) : resolve())));
}

/** The parent: runs the child with its standard output in a file, then writes and prints the figures. */
async function main(): Promise<void> {
  const measuredAt = new Date().toISOString();
  if (!hasServerDatabase(NAME, isQuick, measuredAt)) return;
  const workDir = mkdtempSync(path.join(tmpdir(), 'pgp-bench-duplicate-'));
  onCleanup('log folder', () => rmSync(workDir, { recursive: true, force: true }));
  const logFile = path.join(workDir, 'handlers.log');
  const log = openSync(logFile, 'w');
  console.log(`${rounds} round(s) of ${CALLS} duplicates per handler, one call at a time, after a warm-up; their log lines go to a file`);
  const profile = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROFILE)}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(import.meta.url), MEASURE_FLAG], {
    stdio: ['ignore', log, 'inherit', 'ipc'],
    env: process.env,
  });
  closeSync(log);
  let measured: Measured | undefined;
  child.on('message', (message) => {
    measured = message as Measured;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0 || !measured) throw new Error(`the measuring process ended with code ${code}${measured ? '' : ' before sending its figures'}`);

  const subject = median(measured.subjectMicros);
  const baseline = median(measured.baselineMicros);
  const guarded = median(measured.guardedMicros);
  const rows = [
    rowWithoutGoal(`duplicate IPN, CPU per call in process (no HTTP), ${FUNCTION} vs the least possible`, `${subject.toFixed(1)} µs`, `${baseline.toFixed(1)} µs`, ratioOf(subject, baseline)),
    rowWithoutGoal(`the same, ${FUNCTION} vs the least possible with a record line and security headers`, `${subject.toFixed(1)} µs`, `${guarded.toFixed(1)} µs`, ratioOf(subject, guarded)),
  ];
  console.log(`\n${formatRows(rows)}`);
  console.log(`answers: ${FUNCTION} ${measured.subjectAnswer.status} ${measured.subjectAnswer.body} (${measured.subjectAnswer.headerCount} headers); ${BASELINE} ${measured.baselineAnswer.status} ${measured.baselineAnswer.body}`);
  const file = writeBenchResults({
    bench: NAME,
    quick: isQuick,
    database: databaseKind,
    measuredAt,
    rows,
    details: { calls: CALLS, rounds, settled: SETTLED, subjectMicros: measured.subjectMicros, baselineMicros: measured.baselineMicros, guardedMicros: measured.guardedMicros },
  });
  console.log(`wrote ${path.relative(repositoryRoot(), file)}`);
}

void runBench(process.argv.includes(MEASURE_FLAG) ? measure : main);
