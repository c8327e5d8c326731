/**
 * Functions served the way Cloud Run serves them: one functions-framework process per function,
 * spawned as `node …/functions-framework/build/src/main.js` (not `npx functions-framework`, whose
 * wrapper process would hide the function's own pid, so memory figures would be the wrapper's).
 * Each child leads its own process group, so stopping it kills everything it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFreePort } from '../../shared/testing/free-port.js';
import { killProcessGroup, onCleanup, trackProcessGroup } from './cleanup.js';

/** The functions-framework CLI entry point (its package.json "bin"), resolved from the repository's node_modules. */
export const FUNCTIONS_FRAMEWORK_MAIN = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@google-cloud/functions-framework')),
  'main.js',
);

export { findFreePort };

/** What the child needs from our environment and nothing else: our DATABASE_URL (the server's own database) must never leak in. */
export function baseChildEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  // What the deployment sets on every function (shared/deploy/deployment-plan.ts): Express's production mode.
  env.NODE_ENV = 'production';
  return env;
}

export interface MemoryFigures {
  /** Resident set now, KiB. */
  rssKiB: number;
  /** Peak resident set since the process started (the kernel's high-water mark), KiB. */
  peakKiB: number;
}

/** VmRSS and VmHWM of a live process from /proc (Linux); undefined once it is gone. */
export function readMemory(pid: number): MemoryFigures | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
}

/** The command line of a live process, to show which process was measured. */
export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** One HTTP request; resolves with the status, rejects on a connection error or after `timeoutMs`. */
export function requestStatus(url: string, options: { method?: string; timeoutMs?: number } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method ?? 'GET', agent: false, timeout: options.timeoutMs ?? 2_000 }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
      response.once('error', reject);
    });
    request.once('timeout', () => request.destroy(new Error(`no answer from ${url} within ${options.timeoutMs ?? 2_000} ms`)));
    request.once('error', reject);
    request.end();
  });
}

export interface FunctionProcess {
  name: string;
  pid: number;
  port: number;
  url: string;
  /** Milliseconds from spawn to the first HTTP answer (any status). */
  startMs: number;
  /** The child's stdout and stderr. */
  logFile: string;
  memory(): MemoryFigures | undefined;
  /** The last few KiB of the child's output (for error messages). */
  outputTail(): string;
  /** SIGTERM to the group, SIGKILL after `graceMs` (default 3 s); resolves once the process is gone. Idempotent. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

export interface StartFunctionOptions {
  /** Folder functions-framework loads (`--source`). */
  source: string;
  /** Registered function name (`--target`). */
  target: string;
  /** The child's whole environment (start from baseChildEnv()). */
  env: Record<string, string>;
  /** Where the child's output goes. */
  logFile: string;
  port?: number;
  /** Extra options for the child's node (e.g. `--cpu-prof`). */
  nodeOptions?: readonly string[];
  /**
   * Path polled with GET until the server answers. Default `/robots.txt`: functions-framework
   * answers it itself for HTTP functions (404); for CloudEvent functions its event middleware
   * refuses a GET without a body (500, a TypeError in the child's log) before any route. Either
   * way the probe measures process start, module load and listen without running the function's
   * handler (which would add a database connect, or record a dead letter for a CloudEvent).
   */
  probePath?: string;
  timeoutMs?: number;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The last `bytes` of a file (a busy function's log runs to megabytes). */
export function tailOf(file: string, bytes = 4_000): string {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    fd = openSync(file, 'r');
    readSync(fd, buffer, 0, length, size - length);
    return `${size > bytes ? '…' : ''}${buffer.toString('utf8')}`;
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Spawns functions-framework serving `target` from `source` and resolves once it answers an HTTP
 * request, with the time from spawn to that answer. Rejects (after killing it) if the process
 * exits first or does not answer within `timeoutMs`, with the tail of its output.
 */
export async function startFunction(options: StartFunctionOptions): Promise<FunctionProcess> {
  const port = options.port ?? (await findFreePort());
  const url = `http://127.0.0.1:${port}`;
  const probeUrl = `${url}${options.probePath ?? '/robots.txt'}`;
  const output = openSync(options.logFile, 'a');
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), FUNCTIONS_FRAMEWORK_MAIN, `--source=${options.source}`, `--target=${options.target}`, `--port=${port}`], {
    detached: true, // its own process group, killed as a whole
    stdio: ['ignore', output, output], // a file: logging never waits on this process's event loop
    env: options.env,
  });
  closeSync(output);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn functions-framework for ${options.target}`);
  const untrack = trackProcessGroup(pid);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited (code ${code}, signal ${signal})`;
  });

  let stopping: Promise<void> | undefined;
  const stop = (stopOptions: { graceMs?: number } = {}): Promise<void> =>
    (stopping ??= (async () => {
      killProcessGroup(pid, 'SIGTERM');
      if (!(await waitForExit(child, stopOptions.graceMs ?? 3_000))) {
        killProcessGroup(pid, 'SIGKILL');
        await waitForExit(child, 5_000);
      }
      killProcessGroup(pid, 'SIGKILL'); // anything the function itself started
      untrack();
      unregister();
    })());
  const unregister = onCleanup(`${options.target} (pid ${pid})`, () => stop());

  const deadline = started + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      await requestStatus(probeUrl, { timeoutMs: 2_000 });
      break; // any status: the server is up
    } catch {
      // not listening yet
    }
    if (exited !== undefined || performance.now() > deadline) {
      const why = exited ?? `did not answer on ${url} within ${options.timeoutMs ?? 30_000} ms`;
      await stop({ graceMs: 500 });
      throw new Error(`functions-framework serving ${options.target} ${why}. Its output:\n${tailOf(options.logFile)}`);
    }
    await sleep(5);
  }
  const startMs = performance.now() - started;
  return {
    name: options.target,
    pid,
    port,
    url,
    startMs,
    logFile: options.logFile,
    memory: () => readMemory(pid),
    outputTail: () => tailOf(options.logFile),
    stop,
  };
}
