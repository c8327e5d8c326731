/**
 * Peak resident memory of every function (but nowpayments-ipn, which bench/ipn-ingest.ts covers)
 * under load as deployed, next to what its functions/<name>/deploy.yaml grants (goal ≤ 0.8×).
 *
 * Each function's built bundle is served by functions-framework as bench/cold-start.ts serves it
 * (the same configuration: valid values for every provider, pointing at a closed localhost port),
 * with DATABASE_URL naming one throw-away migrated database and the deployment's DB_POOL_MAX, one
 * function at a time. It is sent requests as Cloud Run sends them to an instance: as many at a time
 * as the deployment's `--concurrency` (1), for BENCH_SECONDS (5 s; 1 s with --quick). Both settings
 * are read from deploy.yaml and the variables shared/deploy/deployment-plan.ts sets, so the figures follow them.
 *
 * - CloudEvent functions get Pub/Sub push CloudEvents (binary mode, as Eventarc sends them) of the
 *   topic they subscribe to in pubsub-topics.yaml, each with a fresh pgp_message_id and a message
 *   that passes the topic's schema but names ids that do not exist (random uuids): decode, claim,
 *   a read that finds nothing, and for most a PermanentError recorded as a dead letter. Scheduler
 *   ticks carry their job's body: a real tick on an empty database. record-dead-letter gets what
 *   Pub/Sub forwards to a dead-letter topic (the source subscription's attributes included).
 *   reconcile-hot-wallet's tick reads balances from the Ethereum node, which is nowhere: after the
 *   claim it fails as retryable (500), as it would with the node down.
 * - dashboard-api: GET /api/v1/openapi.json, GET /api/v1/channels without a token, and with a
 *   validly signed token of a session that does not exist (verified, then looked up: 401), in turn.
 * - telegram-webhook: an update with a wrong secret token, and an authentic update (a plain text
 *   message in a group) that the bot handles without calling Telegram, in turn.
 *
 * The key-value store (leases, Telegram update claims, rate limits) is Firestore: the Firestore
 * emulator when gcloud is installed; without it those calls fail and the output says so.
 *
 * The figure is the kernel's high-water mark (VmHWM) of the function's node process, read from
 * /proc just before it is stopped: start-up included, as an instance's memory limit counts it.
 *
 * `npm run bench -- function-memory [--quick]`. Needs DATABASE_URL (PostgreSQL): PGlite cannot
 * serve separate processes. BENCH_SECONDS and BENCH_FUNCTIONS (comma-separated names) change the shape;
 * BENCH_LOG_DIR=<folder> keeps each function's output there (<name>.log).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildFunction } from '../scripts/build.js';
import { signAccessToken } from '../shared/accounts/access-tokens.js';
import { buildPubSubCloudEvent, MESSAGE_ID_ATTRIBUTE } from '../shared/bus/cloud-event.js';
import { loadTopology, repositoryRoot, subscriptionId, type Topology } from '../shared/bus/topology.js';
import type { Db } from '../shared/db/index.js';
import { platformEnv, readDeploySettings } from '../shared/deploy/index.js';
import { isTopicName, TOPIC_SCHEMAS, type TopicMessage, type TopicName } from '../shared/messages/index.js';
import { discoverFunctions } from '../shared/deploy/function-folders.js';
import { hasGcloud, startFirestoreEmulator } from '../shared/testing/sandbox/gcloud-emulators.js';
import { onCleanup, runBench } from './lib/cleanup.js';
import { hasServerDatabase, throwAwayDatabase } from './lib/database.js';
import { coldStartEnv } from './lib/function-env.js';
import { databaseKind, integerFromEnv, isQuick } from './lib/options.js';
import { baseChildEnv, findFreePort, startFunction } from './lib/processes.js';
import { type BenchRow, rowAtMost, writeBenchResults } from './lib/results.js';
import { median, percentile, ratioOf } from './lib/stats.js';
import { formatRows } from './lib/table.js';

const NAME = 'function-memory';
/** Covered by bench/ipn-ingest.ts (its "as deployed" run). */
const COVERED_ELSEWHERE = ['nowpayments-ipn'];
const LOAD_SECONDS = integerFromEnv('BENCH_SECONDS', isQuick ? 1 : 5);
/** "Below what deploy.yaml grants, with margin": 20 % headroom, as in ipn-ingest. */
const MEMORY_GOAL = 0.8;
const PROJECT_ID = 'demo-paygateprime';
/** Pub/Sub's own attributes on a message forwarded to a dead-letter topic (shared/pubsub-entry/dead-letter-sink.ts). */
const DEAD_LETTER_SOURCE_SUBSCRIPTION = 'CloudPubSubDeadLetterSourceSubscription';
const DEAD_LETTER_DELIVERY_COUNT = 'CloudPubSubDeadLetterSourceDeliveryCount';

function chooseFunctions(): string[] {
  const all = discoverFunctions().filter((name) => !COVERED_ELSEWHERE.includes(name));
  const requested = process.env.BENCH_FUNCTIONS?.split(',').map((name) => name.trim()).filter(Boolean);
  if (!requested || requested.length === 0) return all;
  const unknown = requested.filter((name) => !all.includes(name));
  if (unknown.length > 0) throw new Error(`BENCH_FUNCTIONS names no function measured here: ${unknown.join(', ')} (functions: ${all.join(', ')})`);
  return requested;
}

/** How production serves each function: `concurrency` from its deploy.yaml, DB_POOL_MAX as the deploy sets it (platformEnv). */
function deployedServing(names: readonly string[]): Map<string, { concurrency: number; poolMax: number }> {
  const root = repositoryRoot();
  const poolMax = Number(platformEnv('bench-project').DB_POOL_MAX);
  return new Map(names.map((name) => [name, { concurrency: readDeploySettings(root, name).concurrency, poolMax }]));
}

/** What deploy.yaml grants (`memory:`, or the deploy default), in MiB. */
function grantedMemory(name: string): { text: string; mib: number } {
  const text = readDeploySettings(repositoryRoot(), name).memory;
  const match = /^(\d+)(Mi|Gi)$/.exec(text);
  if (!match) throw new Error(`functions/${name}/deploy.yaml: cannot read memory "${text}"`);
  return { text, mib: Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1) };
}

/** One schema-valid message per topic naming ids that do not exist; a scheduler topic's is its job's body. */
const MESSAGES: { [T in TopicName]?: () => TopicMessage<T> } = {
  'payment-settled': () => ({ paymentId: randomUUID() }),
  'invite-requested': () => ({ paymentId: randomUUID() }),
  'payout-requested': () => ({ payoutId: randomUUID() }),
  'payout-quoted': () => ({ payoutId: randomUUID() }),
  'transfer-requested': () => ({ payoutId: randomUUID() }),
  'owner-notification-requested': () => ({ kind: 'payout_completed', channelId: randomUUID(), subjectId: randomUUID() }),
  'subscriber-notification-requested': () => ({ kind: 'payment_expired', subjectId: randomUUID() }),
  'account-mail-requested': () => ({ kind: 'verify_email', accountId: randomUUID(), address: '' }),
  'broadcast-requested': () => ({ job: 'dashboard', channelIds: [randomUUID()] }),
  'operator-alert-requested': () => ({ alertId: String(randomInt(1, 2 ** 47)) }),
  'owner-webhook-requested': () => ({ deliveryId: randomUUID() }),
};

function messageFactory(topology: Topology, topic: string): () => unknown {
  if (!isTopicName(topic)) throw new Error(`topic ${topic} has no schema in shared/messages`);
  const job = topology.schedulerJobs.find((candidate) => candidate.topic === topic);
  const make: (() => unknown) | undefined = job ? () => job.body : MESSAGES[topic];
  if (!make) throw new Error(`no bench message for topic ${topic}: add one to MESSAGES in bench/function-memory.ts`);
  return () => TOPIC_SCHEMAS[topic].parse(make()); // schema-valid by construction; checked all the same
}

interface BenchRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Which kind of request, for the counts by status. */
  kind: string;
}

/** Pub/Sub push CloudEvents of the function's subscription, each a new message. */
function cloudEventRequests(topology: Topology, name: string): { describe: string; next: () => BenchRequest } {
  const subscription = topology.subscriptions.find((candidate) => candidate.function === name);
  if (!subscription) throw new Error(`${name} subscribes to no topic in pubsub-topics.yaml`);
  const spec = topology.topics.find((topic) => topic.name === subscription.topic);
  // A dead-letter topic carries the source topic's messages, with Pub/Sub's attributes added.
  const sourceTopic = spec?.deadLetterFor ?? subscription.topic;
  const sourceSubscription = topology.subscriptions.find((candidate) => candidate.topic === sourceTopic);
  const message = messageFactory(topology, sourceTopic);
  const isDeadLetter = spec?.deadLetterFor !== undefined;
  const isTick = topology.schedulerJobs.some((job) => job.topic === sourceTopic);
  const kind = isDeadLetter ? `${subscription.topic} (dead letters of ${sourceTopic})` : isTick ? `${sourceTopic} tick` : sourceTopic;
  const next = (): BenchRequest => {
    const attributes: Record<string, string> = { [MESSAGE_ID_ATTRIBUTE]: randomUUID() };
    if (isDeadLetter) {
      attributes[DEAD_LETTER_SOURCE_SUBSCRIPTION] = `projects/${PROJECT_ID}/subscriptions/${sourceSubscription ? subscriptionId(sourceSubscription) : sourceTopic}`;
      attributes[DEAD_LETTER_DELIVERY_COUNT] = String(sourceSubscription?.maxDeliveryAttempts ?? 10);
    }
    const event = buildPubSubCloudEvent({
      projectId: PROJECT_ID,
      topic: subscription.topic,
      subscription: subscriptionId(subscription),
      pubsubMessageId: String(randomInt(1, 2 ** 48)),
      publishTime: new Date(),
      data: JSON.stringify(message()),
      attributes,
    });
    return { method: 'POST', path: '/', headers: event.headers, body: event.body, kind };
  };
  return { describe: `Pub/Sub push CloudEvents of ${kind}`, next };
}

/** Requests in turn, round robin. */
function inTurn(makers: ReadonlyArray<() => BenchRequest>): () => BenchRequest {
  let index = 0;
  return () => (makers[index++ % makers.length] as () => BenchRequest)();
}

async function httpRequests(name: string, env: Record<string, string>): Promise<{ describe: string; next: () => BenchRequest }> {
  if (name === 'dashboard-api') {
    const secret = env.JWT_SECRET;
    if (!secret) throw new Error('JWT_SECRET missing from the function environment');
    // Valid signature, issuer and audience; its session does not exist, so the lookup refuses it.
    const { token } = await signAccessToken({ secret }, { accountId: randomUUID(), sessionId: randomUUID() }, new Date());
    return {
      describe: 'GET /api/v1/openapi.json, GET /api/v1/channels without a token, and with a signed token of an unknown session, in turn',
      next: inTurn([
        () => ({ method: 'GET', path: '/api/v1/openapi.json', headers: {}, kind: 'openapi.json' }),
        () => ({ method: 'GET', path: '/api/v1/channels', headers: {}, kind: 'channels, no token' }),
        () => ({ method: 'GET', path: '/api/v1/channels', headers: { authorization: `Bearer ${token}` }, kind: 'channels, unknown session' }),
      ]),
    };
  }
  if (name === 'telegram-webhook') {
    const secret = env.TELEGRAM_WEBHOOK_SECRET;
    if (!secret) throw new Error('TELEGRAM_WEBHOOK_SECRET missing from the function environment');
    let updateId = randomInt(1, 2 ** 40);
    const update = (headerSecret: string) => {
      updateId += 1;
      const userId = randomInt(1, 2 ** 40); // a new user each time: the per-user rate limit never trips
      return JSON.stringify({
        update_id: updateId,
        message: {
          message_id: randomInt(1, 2 ** 30),
          date: Math.floor(Date.now() / 1000),
          chat: { id: -1_000_000_000_000 - randomInt(1, 2 ** 30), type: 'supergroup', title: 'Bench group' },
          from: { id: userId, is_bot: false, first_name: 'Bench', language_code: 'en' },
          text: `hello from the bench (${headerSecret === secret ? 'authentic' : 'forged'})`,
        },
      });
    };
    return {
      describe: 'an update with a wrong secret token, and an authentic plain text message in a group (handled without a Telegram call), in turn',
      next: inTurn([
        () => ({ method: 'POST', path: '/', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'wrong-secret' }, body: update('wrong-secret'), kind: 'wrong secret token' }),
        () => ({ method: 'POST', path: '/', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret }, body: update(secret), kind: 'authentic group message' }),
      ]),
    };
  }
  throw new Error(`${name} is an HTTP function this bench has no requests for: add them to httpRequests in bench/function-memory.ts`);
}

interface LoadCounts {
  requests: number;
  /** Answers by request kind, then by status ('error' for a failed request). */
  byKind: Record<string, Record<string, number>>;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

/** `connections` loops, each sending one request and waiting for its answer before the next, until `seconds` are up. */
async function sequentialLoad(baseUrl: string, next: () => BenchRequest, seconds: number, connections: number): Promise<LoadCounts> {
  const byKind: Record<string, Record<string, number>> = {};
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const request = next();
      const sent = performance.now();
      let status: string;
      try {
        const response = await fetch(`${baseUrl}${request.path}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(30_000),
        });
        await response.arrayBuffer();
        status = String(response.status);
      } catch (error) {
        status = `error (${error instanceof Error ? error.message : String(error)})`;
      }
      latencies.push(performance.now() - sent);
      const counts = (byKind[request.kind] ??= {});
      counts[status] = (counts[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const has = latencies.length > 0;
  return { requests: latencies.length, byKind, seconds: elapsed, p50Ms: has ? median(latencies) : Number.NaN, p99Ms: has ? percentile(latencies, 99) : Number.NaN };
}

const describeCounts = (byKind: LoadCounts['byKind']) =>
  Object.entries(byKind)
    .map(([kind, statuses]) => `${kind}: ${Object.entries(statuses).map(([status, count]) => `${count}×${status}`).join(' ')}`)
    .join('; ');
const mib = (kib: number) => kib / 1024;

async function main(): Promise<void> {
  const measuredAt = new Date().toISOString();
  if (!hasServerDatabase(NAME, isQuick, measuredAt)) return;
  const names = chooseFunctions();
  const topology = loadTopology();
  const serving = deployedServing(names);
  // BENCH_LOG_DIR=<folder> keeps each function's output there; otherwise it goes to a temporary folder, removed at the end.
  const keptLogs = process.env.BENCH_LOG_DIR ? path.resolve(process.env.BENCH_LOG_DIR) : undefined;
  const workDir = keptLogs ?? mkdtempSync(path.join(tmpdir(), 'pgp-bench-memory-'));
  if (keptLogs) mkdirSync(keptLogs, { recursive: true });
  else onCleanup('log folder', () => rmSync(workDir, { recursive: true, force: true }));

  for (const name of names) await buildFunction(name);
  const testDb = await throwAwayDatabase();
  const closedPort = await findFreePort();
  const env: Record<string, string> = { ...baseChildEnv(), ...coldStartEnv(testDb.url as string, closedPort) };
  // The key-value store (leases, update claims, rate limits) is Firestore: the emulator when gcloud is
  // installed, so the functions that keep such state run it (the Firestore client included) as deployed.
  let kvNote: string;
  if (hasGcloud) {
    const emulator = await startFirestoreEmulator({ projectId: env.GOOGLE_CLOUD_PROJECT });
    onCleanup('Firestore emulator', () => emulator.stop());
    env.FIRESTORE_EMULATOR_HOST = emulator.host;
    kvNote = `key-value store on the Firestore emulator at ${emulator.host}`;
  } else {
    kvNote = 'gcloud is not installed, so there is no Firestore emulator: every key-value call FAILS (no credentials), and the functions that use one (leases, Telegram update claims, rate limits) answer 500 — their figures are of that failure path';
  }
  console.log(
    `${names.length} function(s), one at a time, each a fresh process sent requests for ${LOAD_SECONDS} s as deployed; ` +
      `providers on a closed port (127.0.0.1:${closedPort}); ${kvNote}; no Pub/Sub emulator (a publish would fail; these requests queue none)`,
  );

  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = {};
  const failures = new Map<string, string>();
  const overGoal: string[] = [];
  const serverErrors: string[] = [];
  for (const name of names) {
    const deployed = serving.get(name) as { concurrency: number; poolMax: number };
    const granted = grantedMemory(name);
    const isEvent = topology.eventFunctions.includes(name);
    try {
      const load = isEvent ? cloudEventRequests(topology, name) : await httpRequests(name, env);
      const deadLettersBefore = await countDeadLetters(testDb.db);
      const started = await startFunction({
        source: path.join(repositoryRoot(), 'dist', name),
        target: name,
        env: { ...env, DB_POOL_MAX: String(deployed.poolMax) },
        logFile: path.join(workDir, `${name}.log`),
      });
      const idle = started.memory();
      const counts = await sequentialLoad(started.url, load.next, LOAD_SECONDS, deployed.concurrency);
      const peak = started.memory();
      const tail = started.outputTail();
      await started.stop();
      if (!peak) throw new Error(`${name} exited during the load. Its output:\n${tail}`);
      const deadLetters = (await countDeadLetters(testDb.db)) - deadLettersBefore;
      const peakMiB = mib(peak.peakKiB);
      const ratio = ratioOf(peakMiB, granted.mib);
      const row = rowAtMost(
        `peak RSS under load as deployed: ${name}`,
        `${peakMiB.toFixed(0)} MiB (${counts.requests} requests)`,
        `${granted.text} granted (deploy.yaml)`,
        ratio,
        MEMORY_GOAL,
      );
      rows.push(row);
      if (!row.meetsGoal) overGoal.push(`${name} (${peakMiB.toFixed(0)} MiB of ${granted.text}, ${ratio.toFixed(2)}×)`);
      console.log(
        `  ${name}: peak ${peakMiB.toFixed(0)} MiB (idle after start ${idle ? mib(idle.peakKiB).toFixed(0) : '?'} MiB), ` +
          `${counts.requests} requests in ${counts.seconds.toFixed(1)} s over ${deployed.concurrency} connection(s), p50 ${counts.p50Ms.toFixed(1)} ms; ` +
          `${describeCounts(counts.byKind)}${isEvent ? `; ${deadLetters} dead letter(s) recorded` : ''}`,
      );
      const failedAnswers = Object.values(counts.byKind)
        .flatMap((statuses) => Object.entries(statuses))
        .filter(([status]) => !/^[234]\d\d$/.test(status))
        .reduce((sum, [, count]) => sum + count, 0);
      if (failedAnswers > 0) serverErrors.push(`${name}: ${failedAnswers} of ${counts.requests} requests failed or got a 5xx (see details.functions.${name}.answers)`);
      details[name] = {
        kind: isEvent ? 'cloudEvent' : 'http',
        requests: load.describe,
        concurrency: deployed.concurrency,
        dbPoolMax: deployed.poolMax,
        grantedMiB: granted.mib,
        peakKiB: peak.peakKiB,
        rssAtEndKiB: peak.rssKiB,
        idlePeakKiB: idle?.peakKiB,
        startMs: Math.round(started.startMs),
        loadSeconds: Number(counts.seconds.toFixed(2)),
        answers: counts.byKind,
        p50Ms: Number(counts.p50Ms.toFixed(2)),
        p99Ms: Number(counts.p99Ms.toFixed(2)),
        deadLettersRecorded: isEvent ? deadLetters : undefined,
      };
    } catch (error) {
      failures.set(name, error instanceof Error ? error.message : String(error));
      console.error(`${name} could not be measured: ${failures.get(name)}`);
    }
  }

  console.log(`\n${formatRows(rows)}`);
  console.log(
    `\npeak RSS is the kernel's high-water mark (VmHWM) of the function's node process, start-up included, read after ${LOAD_SECONDS} s of requests ` +
      `at the deployed concurrency with the deployed DB_POOL_MAX; the goal keeps 20 % of the grant free.`,
  );
  for (const note of serverErrors) console.log(`note: ${note}`);
  if (overGoal.length > 0) console.log(`ABOVE 0.8× of the grant (deploy.yaml left as it is): ${overGoal.join(', ')}`);
  const file = writeBenchResults({
    bench: NAME,
    quick: isQuick,
    database: databaseKind,
    measuredAt,
    rows,
    details: {
      loadSeconds: LOAD_SECONDS,
      measure: 'VmHWM of the functions-framework node process (/proc/<pid>/status) just before it is stopped',
      coveredElsewhere: { 'nowpayments-ipn': 'bench/ipn-ingest.ts (peak RSS as deployed)' },
      functions: details,
      failed: Object.fromEntries(failures),
      keyValueStore: kvNote,
      notes: serverErrors,
      variablesGiven: Object.keys(env).sort(),
    },
  });
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
  if (failures.size > 0) throw new Error(`${failures.size} function(s) could not be measured: ${[...failures.keys()].join(', ')}`);
}

async function countDeadLetters(db: Db): Promise<number> {
  const { rows } = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM dead_letters');
  return rows[0]?.count ?? 0;
}

await runBench(main);
