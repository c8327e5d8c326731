/**
 * IPN ingest under load: the built nowpayments-ipn bundle served by functions-framework, as Cloud
 * Run serves it, against a baseline function doing one raw `INSERT … ON CONFLICT DO NOTHING` with
 * pg per request (bench/baseline-functions/raw-insert), both on the same throw-away PostgreSQL
 * database, 32 connections, alternating baseline and subject rounds (median of 3).
 *
 * - new `finished` IPNs, each for a checkout seeded beforehand (one new payment per request), vs
 *   the raw insert of a new row;
 * - duplicates (IPNs of payments already settled, sent again) vs the raw insert hitting the conflict,
 *   and vs the least a duplicate can cost (bench/baseline-functions/verified-read: the signature
 *   check and one read by payment id), measured in the same rounds, so the gap the function itself
 *   adds is told apart from what recognising an authentic duplicate costs at all; and vs that least
 *   possible plus what our guarantees add to every answer whatever it costs (a record line of the
 *   receipt on stdout and the six security headers: bench/baseline-functions/verified-read-guarded),
 *   so the limit those guarantees set is measured too;
 * - the function's peak resident memory as deployed: a fresh process with production's DB_POOL_MAX,
 *   sent new `finished` IPNs one at a time (production deploys with --concurrency=1; both read from
 *   deploy.yaml and the variables the deploy sets) for as long as a load round, next to what
 *   functions/nowpayments-ipn/deploy.yaml grants (goal ≤ 0.8× of it); that run's throughput and p99
 *   are printed and kept in the JSON details, without a goal;
 * - the 32-connection subject's peak resident memory during the new-IPN load, as a stress figure
 *   without a goal (a deployed instance is never sent more than one request at once).
 *
 * Settling publishes `payment-settled` after commit: to the Pub/Sub emulator when gcloud is
 * installed (topics created as in production, schemas included), otherwise to nowhere (each publish
 * fails and is logged, and the figures include that failure path; the output says so).
 *
 * `npm run bench -- ipn-ingest [--quick]`. Needs DATABASE_URL (PostgreSQL): PGlite cannot serve
 * separate processes. BENCH_ROUNDS, BENCH_SECONDS and BENCH_CONNECTIONS change the shape;
 * BENCH_CPU_PROFILE=<folder> writes a V8 CPU profile of the function's process there, and one of
 * the least-possible duplicate baseline in <folder>/verified-read (open them in Chrome DevTools), to
 * see where the time goes.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { buildFunction } from '../scripts/build.js';
import { loadTopology, repositoryRoot } from '../shared/bus/topology.js';
import { configVars } from '../shared/config/index.js';
import type { Db } from '../shared/db/index.js';
import { platformEnv, readDeploySettings } from '../shared/deploy/index.js';
import { hasGcloud, startPubsubEmulator } from '../shared/testing/sandbox/gcloud-emulators.js';
import { provisionEmulatorTopology } from '../shared/testing/sandbox/pubsub-emulator-topology.js';
import { onCleanup, runBench } from './lib/cleanup.js';
import { measureCpu, type ProcessSelector } from './lib/cpu.js';
import { hasServerDatabase, throwAwayDatabase } from './lib/database.js';
import { signedFinishedIpn, type SignedIpn } from './lib/ipn-bodies.js';
import { describeLoad, type LoadFigures, runLoad } from './lib/load.js';
import { databaseKind, integerFromEnv, isQuick, rounds } from './lib/options.js';
import { baseChildEnv, commandLineOf, type FunctionProcess, startFunction } from './lib/processes.js';
import { type BenchRow, rowAtLeast, rowAtMost, rowWithoutGoal, writeBenchResults } from './lib/results.js';
import { alternateRounds } from './lib/rounds.js';
import { seedChannels, seedOpenCheckouts, type SeededTier } from './lib/seed.js';
import { median, ratioOf } from './lib/stats.js';
import { formatRows } from './lib/table.js';

const NAME = 'ipn-ingest';
const FUNCTION = 'nowpayments-ipn';
const CONNECTIONS = integerFromEnv('BENCH_CONNECTIONS', 32);
const LOAD_SECONDS = integerFromEnv('BENCH_SECONDS', isQuick ? 2 : 10);
/** Long enough for V8's and the emulator's JVM's JITs and for the pools to fill. */
const WARMUP_SECONDS = isQuick ? 1 : 5;
const CHANNELS = isQuick ? 5 : 20;
/** Goals from issue 14. */
const NEW_GOAL = 0.7;
const DUPLICATE_GOAL = 0.8;
/** "Below what deploy.yaml grants, with margin": 20 % headroom. */
const MEMORY_GOAL = 0.8;
/** Settled bodies kept for the duplicate load (re-sent in turn). */
const DUPLICATE_POOL = 20_000;

/** The pool size the subject uses when DB_POOL_MAX is unset, read from its config schema. */
const DEFAULT_POOL_MAX = configVars.DB_POOL_MAX.parse(undefined);

/**
 * How production serves the function: requests per instance (`concurrency` in its deploy.yaml) and
 * DB_POOL_MAX as the deploy sets it (platformEnv), so the as-deployed memory figure follows the
 * deployment should it change.
 */
function deployedServing(): { concurrency: number; poolMax: number } {
  return { concurrency: readDeploySettings(repositoryRoot(), FUNCTION).concurrency, poolMax: Number(platformEnv('bench-project').DB_POOL_MAX) };
}
const DEPLOYED = deployedServing();
/** '1 request at a time', for the figure's name. */
const DEPLOYED_SHAPE = `${DEPLOYED.concurrency} request${DEPLOYED.concurrency === 1 ? '' : 's'} at a time`;

/** One-use signed IPNs for seeded checkouts; every body handed out is remembered for the duplicate phase. */
class NewIpnPool {
  private ipns: SignedIpn[] = [];
  private nextIndex = 0;
  /** Bodies requested after the pool ran dry (sent again instead: should stay 0). */
  overflow = 0;
  readonly handedOut: SignedIpn[] = [];

  constructor(
    private readonly db: Db,
    private readonly tiers: readonly SeededTier[],
    private readonly secret: string,
  ) {}

  /** Seeds checkouts so that `count` more IPNs can be sent (not timed). */
  async refill(count: number): Promise<void> {
    const orderIds = await seedOpenCheckouts(this.db, this.tiers, count);
    this.ipns = this.ipns.slice(this.nextIndex).concat(orderIds.map((orderId) => signedFinishedIpn(orderId, this.secret)));
    this.nextIndex = 0;
  }

  get remaining(): number {
    return this.ipns.length - this.nextIndex;
  }

  next = (): SignedIpn => {
    const ipn = this.ipns[this.nextIndex];
    if (ipn === undefined) {
      this.overflow += 1;
      const last = this.ipns[this.ipns.length - 1];
      if (!last) throw new Error('no IPN seeded');
      return last;
    }
    this.nextIndex += 1;
    if (this.handedOut.length < DUPLICATE_POOL) this.handedOut.push(ipn);
    return ipn;
  };
}

/** Endless signed IPNs with new payment ids, for the baseline (it does not look at the order). */
class BaselineIpns {
  readonly handedOut: SignedIpn[] = [];
  constructor(private readonly secret: string) {}
  next = (): SignedIpn => {
    const ipn = signedFinishedIpn(`chk_${randomBytes(16).toString('base64url').slice(0, 22)}`, this.secret);
    if (this.handedOut.length < DUPLICATE_POOL) this.handedOut.push(ipn);
    return ipn;
  };
}

/** Cycles through bodies already sent: every request is a duplicate. */
function cycle(ipns: readonly SignedIpn[]): () => SignedIpn {
  if (ipns.length === 0) throw new Error('no bodies to send again');
  let index = 0;
  return () => ipns[index++ % ipns.length] as SignedIpn;
}

/** Samples the process's resident memory while `work` runs; returns the highest sample (KiB). */
async function sampleMemory<T>(target: FunctionProcess, work: () => Promise<T>): Promise<{ result: T; maxRssKiB: number }> {
  let maxRssKiB = 0;
  const sample = () => {
    const memory = target.memory();
    if (memory && memory.rssKiB > maxRssKiB) maxRssKiB = memory.rssKiB;
  };
  sample();
  const timer = setInterval(sample, 100);
  try {
    const result = await work();
    sample();
    return { result, maxRssKiB };
  } finally {
    clearInterval(timer);
  }
}

/** Checks one request end to end before any load, so a broken setup fails with the function's output instead of as figures. */
async function assertAnswers(target: FunctionProcess, ipn: SignedIpn, expect: (status: number, body: string) => boolean): Promise<void> {
  const response = await fetch(target.url, { method: 'POST', headers: ipn.headers, body: ipn.body });
  const body = await response.text();
  if (!expect(response.status, body)) {
    throw new Error(`${target.name} answered ${response.status} ${body.slice(0, 300)} to a signed IPN. Its output:\n${target.outputTail()}`);
  }
}

/** What deploy.yaml grants (`memory:`, or the deploy default), read as scripts/deploy.ts reads it, in MiB. */
function grantedMemoryMiB(): { text: string; mib: number } {
  const text = readDeploySettings(repositoryRoot(), FUNCTION).memory;
  const match = /^(\d+)(Mi|Gi)$/.exec(text);
  if (!match) throw new Error(`functions/${FUNCTION}/deploy.yaml: cannot read memory "${text}"`);
  return { text, mib: Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1) };
}

/** Counts lines of the function's log that report a failed publish (the outbox relay's warnings). */
async function countPublishFailures(logFile: string): Promise<number> {
  let failures = 0;
  const lines = createInterface({ input: createReadStream(logFile, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) if (line.includes('outbox.publish_failed') || line.includes('outbox.relay_after_commit_failed')) failures += 1;
  return failures;
}

/** A load's figures with the CPU each group of processes spent per answered request (ms). */
interface MeasuredLoad extends LoadFigures {
  cpuMsPerRequest: Record<string, number>;
}

/** Answers of any status. */
const answered = (load: LoadFigures) => load.ok + Object.values(load.otherStatuses).reduce((sum, count) => sum + count, 0);

const medianOf = (loads: readonly LoadFigures[], pick: (load: LoadFigures) => number) => median(loads.map(pick));

/** 'function 2.1 + postgres 1.3 + … ms' from the median per group over rounds. */
function describeCpu(loads: readonly MeasuredLoad[]): string {
  const keys = Object.keys(loads[0]?.cpuMsPerRequest ?? {});
  const parts = keys.map((key) => `${key} ${median(loads.map((load) => load.cpuMsPerRequest[key] ?? 0)).toFixed(2)}`);
  return `${parts.join(' + ')} ms`;
}
const reqPerSec = (value: number) => `${value.toFixed(0)} req/s`;
const ms = (value: number) => `${value.toFixed(0)} ms`;

async function main(): Promise<void> {
  const measuredAt = new Date().toISOString();
  if (!hasServerDatabase(NAME, isQuick, measuredAt)) return;
  const notes: string[] = [];
  const workDir = mkdtempSync(path.join(tmpdir(), 'pgp-bench-ipn-'));
  onCleanup('log folder', () => rmSync(workDir, { recursive: true, force: true }));

  const { outdir } = await buildFunction(FUNCTION);
  const testDb = await throwAwayDatabase();
  const databaseUrl = testDb.url as string;
  await testDb.db.exec('CREATE TABLE bench_raw_ipns (provider_payment_id text PRIMARY KEY, body text NOT NULL, received_at timestamptz NOT NULL)');
  const tiers = await seedChannels(testDb.db, CHANNELS);

  const secret = randomBytes(32).toString('hex');
  const pubsubEnv: Record<string, string> = {};
  let emulatorGroup: number | undefined;
  if (hasGcloud) {
    const emulator = await startPubsubEmulator();
    emulatorGroup = emulator.pid;
    onCleanup('Pub/Sub emulator', () => emulator.stop());
    // Topics and schemas as deployed; no subscriptions: what is published is dropped, not delivered.
    await provisionEmulatorTopology({ emulatorHost: emulator.host, projectId: emulator.projectId, topology: { ...loadTopology(), subscriptions: [] }, pushBaseUrl: 'http://127.0.0.1:9' });
    Object.assign(pubsubEnv, { PUBSUB_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: emulator.projectId });
    notes.push(`payment-settled is published to the Pub/Sub emulator at ${emulator.host} (topics and schemas as deployed, no subscribers)`);
  } else {
    Object.assign(pubsubEnv, { GOOGLE_CLOUD_PROJECT: 'demo-paygateprime' });
    notes.push('gcloud is not installed, so there is no Pub/Sub emulator: every publish after settling FAILS (and is logged); the subject figures include that failure path');
  }
  for (const note of notes) console.log(`note: ${note}`);

  const subject = await startFunction({
    source: outdir,
    target: FUNCTION,
    env: { ...baseChildEnv(), DATABASE_URL: databaseUrl, NOWPAYMENTS_IPN_SECRET: secret, ...pubsubEnv },
    logFile: path.join(workDir, `${FUNCTION}.log`),
    nodeOptions: process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROFILE)}`] : [],
  });
  const baseline = await startFunction({
    source: path.join(repositoryRoot(), 'bench', 'baseline-functions', 'raw-insert'),
    target: 'raw-insert',
    env: { ...baseChildEnv(), DATABASE_URL: databaseUrl, DB_POOL_MAX: String(DEFAULT_POOL_MAX) },
    logFile: path.join(workDir, 'raw-insert.log'),
  });
  const verifiedRead = await startFunction({
    source: path.join(repositoryRoot(), 'bench', 'baseline-functions', 'verified-read'),
    target: 'verified-read',
    env: { ...baseChildEnv(), DATABASE_URL: databaseUrl, DB_POOL_MAX: String(DEFAULT_POOL_MAX), NOWPAYMENTS_IPN_SECRET: secret },
    logFile: path.join(workDir, 'verified-read.log'),
    nodeOptions: process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROFILE, 'verified-read')}`] : [],
  });
  const guardedRead = await startFunction({
    source: path.join(repositoryRoot(), 'bench', 'baseline-functions', 'verified-read-guarded'),
    target: 'verified-read-guarded',
    env: { ...baseChildEnv(), DATABASE_URL: databaseUrl, DB_POOL_MAX: String(DEFAULT_POOL_MAX), NOWPAYMENTS_IPN_SECRET: secret },
    logFile: path.join(workDir, 'verified-read-guarded.log'),
  });
  const subjectCommand = commandLineOf(subject.pid);
  console.log(`${FUNCTION}: pid ${subject.pid} (${subjectCommand}); raw-insert: pid ${baseline.pid}`);
  console.log(`${rounds} round(s) of ${LOAD_SECONDS} s at ${CONNECTIONS} connections, after ${WARMUP_SECONDS} s of warm-up; PostgreSQL, pool ${DEFAULT_POOL_MAX} each`);

  const newIpns = new NewIpnPool(testDb.db, tiers, secret);
  const baselineIpns = new BaselineIpns(secret);
  await newIpns.refill(1);
  await assertAnswers(subject, newIpns.next(), (status, body) => status === 200 && body.includes('"updated"'));
  await assertAnswers(baseline, baselineIpns.next(), (status) => status === 200);

  // Where each request's CPU goes: the function's process, the PostgreSQL backends serving the
  // throw-away database (their titles name it), the emulator, and autocannon in this process.
  const databaseName = new URL(databaseUrl).pathname.slice(1);
  const cpuOf = (target: FunctionProcess): Record<string, ProcessSelector> => ({
    function: { pids: [target.pid] },
    postgres: { commandLineIncludes: databaseName },
    ...(emulatorGroup === undefined ? {} : { emulator: { processGroups: [emulatorGroup] } }),
    loadGenerator: { pids: [process.pid] },
  });
  const load = async (target: FunctionProcess, next: () => SignedIpn, seconds: number, maxRequests?: number, connections = CONNECTIONS): Promise<MeasuredLoad> => {
    const { result, cpuMs } = await measureCpu(cpuOf(target), () => runLoad({ url: target.url, connections, seconds, next, maxRequests }));
    const answers = Math.max(1, answered(result));
    return { ...result, cpuMsPerRequest: Object.fromEntries(Object.entries(cpuMs).map(([key, value]) => [key, value / answers])) };
  };

  /** Seeds enough checkouts for a subject run as long as `seconds`: 1.5× the baseline's rate (the subject does more per request) plus slack. */
  const subjectNewLoad = async (seconds: number, baselineRate: number) => {
    const needed = Math.ceil(Math.max(baselineRate, 200) * seconds * 1.5) + CONNECTIONS * 4;
    await newIpns.refill(Math.max(0, needed - newIpns.remaining));
    const maxRequests = newIpns.remaining - CONNECTIONS * 2; // slack: a connection may build a request it never sends
    const figures = await load(subject, newIpns.next, seconds, maxRequests);
    return { figures, capped: answered(figures) >= maxRequests };
  };

  // --- new IPNs ---
  console.log('\nnew finished IPNs (one new payment each) vs a raw insert of a new row');
  const warmBaseline = await load(baseline, baselineIpns.next, WARMUP_SECONDS);
  const { maxRssKiB, result: newRounds } = await sampleMemory(subject, async () => {
    await subjectNewLoad(WARMUP_SECONDS, warmBaseline.requestsPerSecond);
    return alternateRounds({
      rounds,
      baseline: () => load(baseline, baselineIpns.next, LOAD_SECONDS),
      subject: (_round, baselineRound) => subjectNewLoad(LOAD_SECONDS, baselineRound.requestsPerSecond),
      onRound: (round, b, s) =>
        console.log(`  round ${round}: raw insert ${describeLoad(b)} | ${FUNCTION} ${describeLoad(s.figures)}${s.capped ? ' (ran out of seeded checkouts before the time was up)' : ''}`),
    });
  });
  const peak = subject.memory();
  if (!peak) throw new Error(`${FUNCTION} exited during the load. Its output:\n${subject.outputTail()}`);
  const newSubject = newRounds.subject.map((round) => round.figures);

  const { rows: settledRows } = await testDb.db.query<{ provider_payment_id: string }>(
    'SELECT provider_payment_id FROM payments WHERE settled_at IS NOT NULL AND provider_payment_id = ANY($1::text[])',
    [newIpns.handedOut.map((ipn) => ipn.providerPaymentId)],
  );
  const settled = new Set(settledRows.map((row) => row.provider_payment_id));
  const settledIpns = newIpns.handedOut.filter((ipn) => settled.has(ipn.providerPaymentId));
  const { rows: outboxRows } = await testDb.db.query<{ published: string; unpublished: string }>(
    `SELECT count(*) FILTER (WHERE published_at IS NOT NULL)::text AS published, count(*) FILTER (WHERE published_at IS NULL)::text AS unpublished FROM outbox`,
  );
  const newIpnsHandedOut = newIpns.handedOut.length;

  // --- duplicates ---
  console.log(`\nduplicate IPNs (${settledIpns.length} settled payments' IPNs sent again) vs the raw insert hitting the conflict`);
  const duplicateOf = cycle(settledIpns);
  const conflictOf = cycle([...baselineIpns.handedOut]);
  await load(baseline, conflictOf, WARMUP_SECONDS);
  // The first body the raw insert was sent (checked above), so certainly stored: the floor must know it.
  await assertAnswers(verifiedRead, baselineIpns.handedOut[0] as SignedIpn, (status, body) => status === 200 && body.includes('"known":true'));
  await assertAnswers(guardedRead, baselineIpns.handedOut[0] as SignedIpn, (status, body) => status === 200 && body.includes('"known":true'));
  await load(verifiedRead, conflictOf, WARMUP_SECONDS);
  await load(guardedRead, conflictOf, WARMUP_SECONDS);
  await load(subject, duplicateOf, WARMUP_SECONDS);
  const duplicateRounds = await alternateRounds({
    rounds,
    baseline: () => load(baseline, conflictOf, LOAD_SECONDS),
    // The floor runs between the two, so each round compares all three on the same minute of the machine.
    subject: async () => ({
      floor: await load(verifiedRead, conflictOf, LOAD_SECONDS),
      guardedFloor: await load(guardedRead, conflictOf, LOAD_SECONDS),
      subject: await load(subject, duplicateOf, LOAD_SECONDS),
    }),
    onRound: (round, b, s) =>
      console.log(
        `  round ${round}: raw insert ${describeLoad(b)} | signature check + read ${describeLoad(s.floor)} | the same + record line + headers ${describeLoad(s.guardedFloor)} | ${FUNCTION} ${describeLoad(s.subject)}`,
      ),
  });
  const duplicateSubject = duplicateRounds.subject.map((round) => round.subject);
  const duplicateFloor = duplicateRounds.subject.map((round) => round.floor);
  const duplicateGuardedFloor = duplicateRounds.subject.map((round) => round.guardedFloor);

  // Stop the servers before reading their logs, so every line is written.
  await subject.stop();
  await baseline.stop();
  await verifiedRead.stop();
  await guardedRead.stop();

  // --- memory as deployed ---
  // A fresh process (its high-water mark owes nothing to the 32-connection load), started as the
  // subject was but with production's DB_POOL_MAX and without a CPU profiler (never deployed, and it
  // costs memory), sent new IPNs as Cloud Run sends them to an instance: one at a time. startFunction
  // registers its stop with onCleanup, so it is stopped whatever happens.
  console.log(`\n${FUNCTION} as deployed: a fresh process, DB_POOL_MAX=${DEPLOYED.poolMax}, new finished IPNs over ${DEPLOYED.concurrency} connection(s) for ${LOAD_SECONDS} s`);
  const deployed = await startFunction({
    source: outdir,
    target: FUNCTION,
    env: { ...baseChildEnv(), DATABASE_URL: databaseUrl, NOWPAYMENTS_IPN_SECRET: secret, ...pubsubEnv, DB_POOL_MAX: String(DEPLOYED.poolMax) },
    logFile: path.join(workDir, `${FUNCTION}-deployed.log`),
  });
  const deployedCommand = commandLineOf(deployed.pid);
  // A pool of its own, so the settled/handed-out figures above stay those of the 32-connection rounds;
  // seeded for the raw insert's 32-connection rate, which one connection to the function cannot reach.
  const deployedIpns = new NewIpnPool(testDb.db, tiers, secret);
  const deployedRate = Math.max(medianOf(newRounds.baseline, (load) => load.requestsPerSecond), medianOf(newSubject, (load) => load.requestsPerSecond), 200);
  await deployedIpns.refill(Math.ceil(deployedRate * LOAD_SECONDS * 1.5) + DEPLOYED.concurrency * 4 + 1);
  await assertAnswers(deployed, deployedIpns.next(), (status, body) => status === 200 && body.includes('"updated"'));
  const deployedMaxRequests = deployedIpns.remaining - DEPLOYED.concurrency * 2;
  const { maxRssKiB: deployedMaxRssKiB, result: deployedLoad } = await sampleMemory(deployed, () =>
    load(deployed, deployedIpns.next, LOAD_SECONDS, deployedMaxRequests, DEPLOYED.concurrency),
  );
  const deployedPeak = deployed.memory();
  if (!deployedPeak) throw new Error(`${FUNCTION} (as deployed) exited during the load. Its output:\n${deployed.outputTail()}`);
  const deployedCapped = answered(deployedLoad) >= deployedMaxRequests;
  console.log(`  ${FUNCTION}, ${DEPLOYED_SHAPE}: ${describeLoad(deployedLoad)}${deployedCapped ? ' (ran out of seeded checkouts before the time was up)' : ''}`);
  await deployed.stop();
  const publishFailures = await countPublishFailures(subject.logFile);
  const laterNotes: string[] = [];
  if (publishFailures > 0) laterNotes.push(`${publishFailures} publish failures logged by ${FUNCTION} (outbox rows left for the scheduled relay)`);
  const deployedPublishFailures = await countPublishFailures(deployed.logFile);
  if (deployedPublishFailures > 0) laterNotes.push(`${deployedPublishFailures} publish failures logged by ${FUNCTION} as deployed`);

  // --- figures ---
  const newRate = medianOf(newSubject, (load) => load.requestsPerSecond);
  const newBaselineRate = medianOf(newRounds.baseline, (load) => load.requestsPerSecond);
  const newP99 = medianOf(newSubject, (load) => load.p99Ms);
  const newBaselineP99 = medianOf(newRounds.baseline, (load) => load.p99Ms);
  const duplicateRate = medianOf(duplicateSubject, (load) => load.requestsPerSecond);
  const duplicateFloorRate = medianOf(duplicateFloor, (load) => load.requestsPerSecond);
  const duplicateGuardedFloorRate = medianOf(duplicateGuardedFloor, (load) => load.requestsPerSecond);
  const duplicateBaselineRate = medianOf(duplicateRounds.baseline, (load) => load.requestsPerSecond);
  const duplicateP99 = medianOf(duplicateSubject, (load) => load.p99Ms);
  const duplicateBaselineP99 = medianOf(duplicateRounds.baseline, (load) => load.p99Ms);
  const granted = grantedMemoryMiB();
  const peakMiB = peak.peakKiB / 1024;
  const deployedPeakMiB = deployedPeak.peakKiB / 1024;
  const failedAnswers = [...newSubject, ...duplicateSubject].reduce((sum, load) => sum + load.errors + answered(load) - load.ok, 0);
  if (failedAnswers > 0) laterNotes.push(`${failedAnswers} subject requests did not get a 2xx answer (see details); req/s counts 2xx answers only`);
  if (newIpns.overflow > 0) laterNotes.push(`${newIpns.overflow} new-IPN requests ran past the seeded checkouts and were sent as duplicates`);
  const deployedFailed = deployedLoad.errors + answered(deployedLoad) - deployedLoad.ok;
  if (deployedFailed > 0) laterNotes.push(`${deployedFailed} requests to ${FUNCTION} as deployed did not get a 2xx answer (see details.asDeployed)`);
  if (deployedIpns.overflow > 0) laterNotes.push(`${deployedIpns.overflow} requests to ${FUNCTION} as deployed ran past the seeded checkouts and were sent as duplicates`);

  const rows: BenchRow[] = [
    rowAtLeast(`new finished IPNs, ${CONNECTIONS} connections: throughput`, reqPerSec(newRate), reqPerSec(newBaselineRate), ratioOf(newRate, newBaselineRate), NEW_GOAL),
    rowWithoutGoal('new finished IPNs: p99 latency', ms(newP99), ms(newBaselineP99), ratioOf(newP99, newBaselineP99)),
    rowAtLeast('duplicate IPNs (already settled): throughput', reqPerSec(duplicateRate), reqPerSec(duplicateBaselineRate), ratioOf(duplicateRate, duplicateBaselineRate), DUPLICATE_GOAL),
    rowWithoutGoal('duplicate IPNs: p99 latency', ms(duplicateP99), ms(duplicateBaselineP99), ratioOf(duplicateP99, duplicateBaselineP99)),
    rowWithoutGoal(
      'duplicate IPNs, the least possible (signature check + one read): throughput',
      reqPerSec(duplicateFloorRate),
      reqPerSec(duplicateBaselineRate),
      ratioOf(duplicateFloorRate, duplicateBaselineRate),
    ),
    rowWithoutGoal('duplicate IPNs: throughput against that least possible', reqPerSec(duplicateRate), reqPerSec(duplicateFloorRate), ratioOf(duplicateRate, duplicateFloorRate)),
    rowWithoutGoal(
      'duplicate IPNs, the least possible with our guarantees (+ record line + security headers): throughput',
      reqPerSec(duplicateGuardedFloorRate),
      reqPerSec(duplicateBaselineRate),
      ratioOf(duplicateGuardedFloorRate, duplicateBaselineRate),
    ),
    rowWithoutGoal('duplicate IPNs: throughput against that guarded least possible', reqPerSec(duplicateRate), reqPerSec(duplicateGuardedFloorRate), ratioOf(duplicateRate, duplicateGuardedFloorRate)),
    rowAtMost(`${FUNCTION} peak RSS, ${DEPLOYED_SHAPE} (as deployed)`, `${deployedPeakMiB.toFixed(0)} MiB`, `${granted.text} granted (deploy.yaml)`, ratioOf(deployedPeakMiB, granted.mib), MEMORY_GOAL),
    rowWithoutGoal(
      `${FUNCTION} peak RSS under ${CONNECTIONS} connections (stress; deployed with concurrency ${DEPLOYED.concurrency})`,
      `${peakMiB.toFixed(0)} MiB`,
      `${granted.text} granted (deploy.yaml)`,
      ratioOf(peakMiB, granted.mib),
    ),
  ];
  console.log(`\n${formatRows(rows)}`);
  console.log(
    `\npeak RSS as deployed is the kernel's high-water mark (VmHWM) of a fresh function process (pid ${deployed.pid}, DB_POOL_MAX=${DEPLOYED.poolMax}) after ${deployedLoad.seconds} s of new IPNs over ${DEPLOYED.concurrency} connection(s), start-up included; highest 100 ms sample of VmRSS: ${(deployedMaxRssKiB / 1024).toFixed(0)} MiB.`,
  );
  console.log(
    `  that run (${DEPLOYED_SHAPE}, no goal): ${reqPerSec(deployedLoad.requestsPerSecond)}, p50 ${ms(deployedLoad.p50Ms)}, p99 ${ms(deployedLoad.p99Ms)}, ${deployedLoad.ok} answered 2xx.`,
  );
  console.log(
    `peak RSS under ${CONNECTIONS} connections (stress, no goal) is the VmHWM of the subject's process (pid ${subject.pid}, DB_POOL_MAX unset: pool ${DEFAULT_POOL_MAX}) after the new-IPN rounds, warm-up included; highest 100 ms sample of VmRSS: ${(maxRssKiB / 1024).toFixed(0)} MiB.`,
  );
  console.log(
    `settled payments: ${settled.size} of ${newIpnsHandedOut} new IPNs handed out (counted up to ${DUPLICATE_POOL}; a few are built but never sent when a run ends); ` +
      `outbox right after the new-IPN rounds: ${outboxRows[0]?.published} published, ${outboxRows[0]?.unpublished} not yet`,
  );
  if (process.env.BENCH_CPU_PROFILE) console.log(`CPU profile of ${FUNCTION} (whole run) in ${path.resolve(process.env.BENCH_CPU_PROFILE)}`);
  console.log(`CPU per request (median over rounds; this process runs autocannon):`);
  console.log(`  new IPN         ${FUNCTION}: ${describeCpu(newSubject)}`);
  console.log(`  new row         raw insert: ${describeCpu(newRounds.baseline)}`);
  console.log(`  duplicate IPN   ${FUNCTION}: ${describeCpu(duplicateSubject)}`);
  console.log(`  duplicate IPN   signature check + read: ${describeCpu(duplicateFloor)}`);
  console.log(`  duplicate IPN   the same + record line + headers: ${describeCpu(duplicateGuardedFloor)}`);
  console.log(`  conflicting row raw insert: ${describeCpu(duplicateRounds.baseline)}`);
  console.log(`  new IPN, ${DEPLOYED_SHAPE} (as deployed, one run) ${FUNCTION}: ${describeCpu([deployedLoad])}`);
  for (const note of laterNotes) console.log(`note: ${note}`);
  notes.push(...laterNotes);

  const file = writeBenchResults({
    bench: NAME,
    quick: isQuick,
    database: databaseKind,
    measuredAt,
    rows,
    details: {
      settings: {
        rounds,
        loadSeconds: LOAD_SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        connections: CONNECTIONS,
        poolMax: DEFAULT_POOL_MAX,
        channels: CHANNELS,
        deployedConcurrency: DEPLOYED.concurrency,
        deployedPoolMax: DEPLOYED.poolMax,
      },
      pubsub: hasGcloud ? 'emulator' : 'none (publishes fail)',
      notes,
      newIpns: {
        roundRatios: newSubject.map((load, index) => ratioOf(load.requestsPerSecond, newRounds.baseline[index]?.requestsPerSecond ?? 0)),
        baseline: newRounds.baseline,
        subject: newSubject, seededCheckoutsRanOut: newRounds.subject.map((round) => round.capped), overflow: newIpns.overflow },
      duplicates: {
        roundRatios: duplicateSubject.map((load, index) => ratioOf(load.requestsPerSecond, duplicateRounds.baseline[index]?.requestsPerSecond ?? 0)),
        floorRoundRatios: duplicateFloor.map((load, index) => ratioOf(load.requestsPerSecond, duplicateRounds.baseline[index]?.requestsPerSecond ?? 0)),
        guardedFloorRoundRatios: duplicateGuardedFloor.map((load, index) => ratioOf(load.requestsPerSecond, duplicateRounds.baseline[index]?.requestsPerSecond ?? 0)),
        baseline: duplicateRounds.baseline, floor: duplicateFloor, guardedFloor: duplicateGuardedFloor, subject: duplicateSubject, distinctBodies: settledIpns.length },
      memory: { peakKiB: peak.peakKiB, maxSampledRssKiB: maxRssKiB, grantedMiB: granted.mib, pid: subject.pid, process: subjectCommand },
      asDeployed: {
        connections: DEPLOYED.concurrency,
        poolMax: DEPLOYED.poolMax,
        requestsPerSecond: deployedLoad.requestsPerSecond,
        p50Ms: deployedLoad.p50Ms,
        p99Ms: deployedLoad.p99Ms,
        load: deployedLoad,
        seededCheckoutsRanOut: deployedCapped,
        overflow: deployedIpns.overflow,
        publishFailures: deployedPublishFailures,
        memory: { peakKiB: deployedPeak.peakKiB, maxSampledRssKiB: deployedMaxRssKiB, grantedMiB: granted.mib, pid: deployed.pid, process: deployedCommand },
      },
      settledPayments: settled.size,
      outbox: outboxRows[0],
      publishFailures,
    },
  });
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

await runBench(main);
