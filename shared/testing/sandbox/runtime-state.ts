import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SandboxRuntimeInfo } from './sandbox-routes.js';

/**
 * `<data-dir>/runtime.json`: where a running `npm start` can be reached, so the sandbox CLI finds it
 * without flags. Written once the runtime is up, removed when it stops. Holds URLs only: no token,
 * key or connection string.
 */
export interface RuntimeState extends SandboxRuntimeInfo {
  pid: number;
  startedAt: string;
  /** Where the JSON log lines go. */
  jsonLogFile: string | null;
}

export function runtimeStateFile(dataDir: string): string {
  return path.join(dataDir, 'runtime.json');
}

export function writeRuntimeState(dataDir: string, state: RuntimeState): void {
  writeFileSync(runtimeStateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`);
}

/** Removes the state file if it still names this process (a newer runtime may have replaced it). */
export function removeRuntimeState(dataDir: string, pid: number): void {
  const state = readRuntimeState(dataDir);
  if (state?.pid === pid) rmSync(runtimeStateFile(dataDir), { force: true });
}

/** The recorded state, or undefined when there is none (or it is not readable JSON). */
export function readRuntimeState(dataDir: string): RuntimeState | undefined {
  const file = runtimeStateFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<RuntimeState>;
    return typeof parsed.url === 'string' && typeof parsed.pid === 'number' ? (parsed as RuntimeState) : undefined;
  } catch {
    return undefined;
  }
}
