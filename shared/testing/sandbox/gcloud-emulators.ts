import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Settings as FirestoreSettings } from '@google-cloud/firestore';
import type { ClientConfig as PubsubSettings } from '@google-cloud/pubsub';
import { findFreePort } from '../free-port.js';

/**
 * Starts gcloud's Firestore and Pub/Sub emulators for opt-in integration tests. Tests that use them
 * skip when `hasGcloud` is false (the Debian 13 image has no gcloud); nothing else needs Java.
 *
 * Each emulator is a process group: the gcloud wrapper (Python), for Firestore a shell script, and
 * the Java server. Killing only the wrapper leaves Java running, so `stop()` signals the whole group,
 * and three nets catch a test process that never reaches `stop()`:
 * - a `process.on('exit')` handler SIGKILLs every group still running and removes its data directory;
 * - a watchdog shell inside each group polls this process and kills its group once we are gone
 *   (covers SIGKILL and crashed vitest workers, where no handler runs);
 * - `stop()` escalates from SIGTERM to SIGKILL after a grace period.
 */

const DEFAULT_PROJECT_ID = 'demo-paygateprime';
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const POLL_INTERVAL_MS = 200;
const OUTPUT_TAIL_CHARS = 4_000;
const MAX_PORT_ATTEMPTS = 3;
const PORT_TAKEN = /BindException|Address already in use/i;

/** gcloud without prompts, update checks or usage reporting: it must never touch the network. */
const GCLOUD_ENV = {
  CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
  CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
  CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
  CLOUDSDK_SURVEY_DISABLE_PROMPTS: 'true',
};

function detectGcloud(): boolean {
  const result = spawnSync('gcloud', ['--version'], {
    stdio: 'ignore',
    timeout: 30_000,
    env: { ...process.env, ...GCLOUD_ENV },
  });
  return result.status === 0;
}

/** True when `gcloud --version` runs on this machine (checked once, when this module loads, ~1 s). */
export const hasGcloud: boolean = detectGcloud();

export interface RunningEmulator {
  /** `127.0.0.1:PORT`, for `new Firestore({ host })` or `PUBSUB_EMULATOR_HOST`. */
  host: string;
  projectId: string;
  /** Process group id of the emulator (the gcloud wrapper's pid). */
  pid: number;
  /** Signals the whole process group (SIGTERM, then SIGKILL after 5 s) and resolves once it is gone. Idempotent. */
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Project id the emulator serves (default `demo-paygateprime`; `demo-` ids never reach real projects). */
  projectId?: string;
  /** Milliseconds to wait for the emulator to answer (default 60,000). */
  startTimeoutMs?: number;
  /**
   * Port to bind on 127.0.0.1. Default: a free port, with up to three attempts should another
   * process take it in between. A given port is tried once; if it is taken, the start rejects.
   */
  port?: number;
}

export interface FirestoreEmulatorOptions extends EmulatorOptions {
  /** Security rules file the emulator enforces for non-admin requests (e.g. the repo's `firestore.rules`). */
  rules?: string;
}

/** Process group id → data directory of every emulator not yet stopped. */
const runningGroups = new Map<number, string>();
let exitHandlerInstalled = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const [pgid, dataDir] of runningGroups) {
      killGroup(pgid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

/**
 * True while any process of group `pgid` is alive. On Linux it reads /proc so that zombies (dead
 * processes nobody has reaped yet) do not count; elsewhere it falls back to signal 0.
 */
export function isProcessGroupAlive(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after the parenthesised command name: state ppid pgrp …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessGroupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

interface CapturedOutput {
  /** The last few thousand characters the process printed, for error messages. */
  tail(): string;
  /** True once the output has contained `pattern` (checked as it arrives, so a long log cannot hide it). */
  hasShown(): boolean;
}

function captureOutput(child: ChildProcess, pattern: RegExp): CapturedOutput {
  let tail = '';
  let shown = false;
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    shown ||= pattern.test(tail);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return { tail: () => tail, hasShown: () => shown };
}

/**
 * The watchdog runs in the emulator's own process group: a background loop that waits for this
 * Node process to disappear, then removes the data directory and kills its group. The shell then
 * execs gcloud, so the group id is gcloud's pid. `stop()` kills the watchdog with everything else.
 */
const WATCHDOG_SCRIPT =
  'parent="$1"; dir="$2"; shift 2; ' +
  '( while kill -0 "$parent" 2>/dev/null; do sleep 1; done; rm -rf "$dir"; kill -KILL 0 ) </dev/null >/dev/null 2>&1 & ' +
  'exec gcloud "$@"';

interface EmulatorSpec {
  kind: 'firestore' | 'pubsub';
  projectId: string;
  port: number | undefined;
  startTimeoutMs: number;
  args(hostPort: string, dataDir: string): string[];
  /**
   * What the emulator prints once it has bound its port. Readiness needs this line as well as an
   * answer over HTTP: if another process took the port first, that process could answer the probe.
   */
  startedLine: RegExp;
  /** One readiness probe; true once the emulator serves requests. */
  isReady(host: string): Promise<boolean>;
}

type Attempt = { emulator: RunningEmulator } | { portTaken: true; error: Error };

async function isHttpOk(url: string, expectBody?: RegExp): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    const body = await response.text();
    return response.ok && (expectBody === undefined || expectBody.test(body));
  } catch {
    return false;
  }
}

async function startAttempt(spec: EmulatorSpec): Promise<Attempt> {
  const port = spec.port ?? (await findFreePort());
  const host = `127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), `pgp-${spec.kind}-emulator-`)); // pubsub state, removed by stop()
  const watchdogArgs = ['-c', WATCHDOG_SCRIPT, 'sh', String(process.pid), dataDir];
  const child = spawn('sh', [...watchdogArgs, ...spec.args(host, dataDir)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...GCLOUD_ENV },
  });
  const output = captureOutput(child, spec.startedLine);
  const pgid = child.pid;
  if (pgid === undefined) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`could not spawn the gcloud ${spec.kind} emulator (is gcloud on PATH?)`);
  }
  runningGroups.set(pgid, dataDir);
  installExitHandler();
  // Let the test process exit even if a test forgot stop(); the exit handler and watchdog clean up.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      killGroup(pgid, 'SIGTERM');
      if (!(await waitForGroupExit(pgid, STOP_GRACE_MS))) {
        killGroup(pgid, 'SIGKILL');
        await waitForGroupExit(pgid, STOP_GRACE_MS);
      }
      runningGroups.delete(pgid);
      rmSync(dataDir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + spec.startTimeoutMs;
  for (;;) {
    if (output.hasShown() && (await spec.isReady(host))) break;
    // The Pub/Sub emulator does not exit when its port is taken; it logs a BindException and hangs.
    const isPortTaken = PORT_TAKEN.test(output.tail());
    if (isPortTaken || exited !== undefined || Date.now() >= deadline) {
      const why = isPortTaken
        ? `could not bind ${host}`
        : exited !== undefined
          ? `exited (code ${exited.code}, signal ${exited.signal}) before it answered`
          : `did not answer on ${host} within ${spec.startTimeoutMs} ms`;
      await stop();
      const error = new Error(`The gcloud ${spec.kind} emulator ${why}. Last output:\n${output.tail()}`);
      if (isPortTaken) return { portTaken: true, error };
      throw error;
    }
    await sleep(POLL_INTERVAL_MS);
  }
  return { emulator: { host, projectId: spec.projectId, pid: pgid, stop } };
}

async function startEmulator(spec: EmulatorSpec): Promise<RunningEmulator> {
  if (!hasGcloud) throw new Error(`Cannot start the ${spec.kind} emulator: gcloud is not installed (check hasGcloud first)`);
  let lastError: Error | undefined;
  const attempts = spec.port === undefined ? MAX_PORT_ATTEMPTS : 1;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const result = await startAttempt(spec);
    if ('emulator' in result) return result.emulator;
    lastError = result.error;
  }
  throw lastError ?? new Error(`Could not start the ${spec.kind} emulator`);
}

/**
 * Starts `gcloud beta emulators firestore start` on a free localhost port and resolves once it
 * answers `GET /` with "Ok" (3–4 s here, up to 8 s on a busy machine). Connect with
 * `new Firestore(firestoreEmulatorSettings(emulator))` rather than FIRESTORE_EMULATOR_HOST, so
 * parallel test files do not share an env var. Data lives in memory and disappears with the
 * emulator. Always `stop()` it in `afterAll`.
 */
export function startFirestoreEmulator(options: FirestoreEmulatorOptions = {}): Promise<RunningEmulator> {
  const projectId = options.projectId ?? DEFAULT_PROJECT_ID;
  return startEmulator({
    kind: 'firestore',
    projectId,
    port: options.port,
    startTimeoutMs: options.startTimeoutMs ?? START_TIMEOUT_MS,
    args: (hostPort) => [
      'beta',
      'emulators',
      'firestore',
      'start',
      `--host-port=${hostPort}`,
      '--database-mode=firestore-native',
      `--project=${projectId}`,
      '--quiet',
      ...(options.rules === undefined ? [] : [`--rules=${options.rules}`]),
    ],
    startedLine: /Dev App Server is now running/,
    isReady: (host) => isHttpOk(`http://${host}/`, /^Ok\s*$/),
  });
}

/**
 * Settings for `new Firestore(…)` that talk to `emulator` as an admin (the `Bearer owner` token
 * bypasses security rules), without credentials. `universeDomain` is set explicitly because
 * otherwise the client asks Application Default Credentials for it, which probes the GCE metadata
 * server over the network (and prints a MetadataLookupWarning when it is unreachable).
 */
export function firestoreEmulatorSettings(emulator: RunningEmulator): FirestoreSettings {
  return {
    projectId: emulator.projectId,
    host: emulator.host,
    ssl: false,
    customHeaders: { Authorization: 'Bearer owner' },
    universeDomain: 'googleapis.com',
  };
}

/**
 * Starts `gcloud beta emulators pubsub start` on a free localhost port with a throw-away data
 * directory and resolves once `GET /v1/projects/<id>/topics` answers (3–4 s here, up to 8 s on a busy machine). Connect
 * with `new PubSub(pubsubEmulatorSettings(emulator))`; its REST API is served on the same port.
 * Always `stop()` it in `afterAll`.
 */
export function startPubsubEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const projectId = options.projectId ?? DEFAULT_PROJECT_ID;
  return startEmulator({
    kind: 'pubsub',
    projectId,
    port: options.port,
    startTimeoutMs: options.startTimeoutMs ?? START_TIMEOUT_MS,
    args: (hostPort, dataDir) => [
      'beta',
      'emulators',
      'pubsub',
      'start',
      `--host-port=${hostPort}`,
      `--data-dir=${dataDir}`,
      `--project=${projectId}`,
      '--quiet',
    ],
    startedLine: /Server started, listening on \d+/,
    isReady: (host) => isHttpOk(`http://${host}/v1/projects/${projectId}/topics`),
  });
}

/**
 * Settings for `new PubSub(…)` that talk to `emulator` without credentials. `emulatorMode` is
 * explicit because setting `universeDomain` (which, as for Firestore, stops the client probing the
 * GCE metadata server) would otherwise make the client treat the endpoint as a real Google one.
 */
export function pubsubEmulatorSettings(emulator: RunningEmulator): PubsubSettings {
  return {
    projectId: emulator.projectId,
    apiEndpoint: emulator.host,
    emulatorMode: true,
    universeDomain: 'googleapis.com',
  };
}
