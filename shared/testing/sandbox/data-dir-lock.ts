import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomically } from './state-file.js';

/** `<data-dir>/runtime.lock`: the PID of the `npm start` that owns the folder. */
export const DATA_DIR_LOCK_FILE = 'runtime.lock';

/** Another live process holds the data folder. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(
      `Another npm start (PID ${pid}) is using the data folder ${dataDir}. Stop it first (Ctrl-C in its terminal), ` +
        `or give this one a folder of its own with --data-dir <folder>. If PID ${pid} is not a PayGatePrime runtime, delete ${lockFile}.`,
    );
  }
}

export interface DataDirLock {
  readonly file: string;
  readonly pid: number;
  /**
   * Notes in the lock that its holder is shutting down, so that a start arriving meanwhile waits for
   * it instead of refusing (the terminal's prompt can come back before the runtime has finished).
   */
  markStopping(): void;
  /** Removes the lock file if it still names this holder; safe to call twice, and from an 'exit' handler. */
  release(): void;
}

interface LockHolder {
  pid: number;
  startedAt?: string;
  stoppingSince?: string;
}

/** Empty or half-written content: its creator is between creating and writing it. */
function readHolder(file: string): LockHolder | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    return Number.isSafeInteger(parsed.pid) && (parsed.pid as number) > 0 ? (parsed as LockHolder) : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** Signal 0 checks existence only. EPERM: it exists but belongs to someone else, so it is alive. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long an unreadable lock file may stay unreadable before it counts as abandoned. */
const UNREADABLE_GRACE_MS = 200;
/** How long a start waits for a holder that is stopping: longer than npm start's forced exit (10 s). */
const STOPPING_WAIT_MS = 15_000;

/**
 * Takes `<dataDir>/runtime.lock` by exclusive create (`open(…, 'wx')`), so that two runtimes never
 * share one database, chain and simulator state. A lock whose PID is dead (its holder was killed
 * with kill -9) is stale and taken over. Call it before anything in the folder is opened.
 *
 * The stale check and the removal are two steps: two starts racing for the same stale lock within
 * a few milliseconds could both win. A person starting the sandbox twice does not race like that.
 *
 * A holder that is stopping (`markStopping`) is waited for, up to 15 s.
 *
 * @throws DataDirLockedError when a live process holds the folder.
 */
export async function acquireDataDirLock(dataDir: string, options: { pid?: number } = {}): Promise<DataDirLock> {
  const pid = options.pid ?? process.pid;
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, DATA_DIR_LOCK_FILE);
  const content = `${JSON.stringify({ pid, startedAt: new Date().toISOString() })}\n`;
  let unreadableSince: number | undefined;
  let stoppingSeenAt: number | undefined;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
      let isReleased = false;
      return {
        file,
        pid,
        markStopping() {
          const holder = readHolder(file);
          if (isReleased || typeof holder !== 'object' || holder.pid !== pid) return;
          writeFileAtomically(file, `${JSON.stringify({ ...holder, stoppingSince: new Date().toISOString() })}\n`);
        },
        release() {
          if (isReleased) return;
          isReleased = true;
          const holder = readHolder(file);
          if (typeof holder === 'object' && holder.pid === pid) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(file);
    if (holder === 'missing') continue; // released meanwhile: try again
    if (holder === 'unreadable') {
      unreadableSince ??= Date.now();
      if (Date.now() - unreadableSince < UNREADABLE_GRACE_MS) {
        await sleep(20);
        continue;
      }
    } else if (holder.pid !== pid && isProcessAlive(holder.pid)) {
      if (holder.stoppingSince !== undefined) {
        stoppingSeenAt ??= Date.now();
        if (Date.now() - stoppingSeenAt < STOPPING_WAIT_MS) {
          await sleep(100);
          continue;
        }
      }
      throw new DataDirLockedError(dataDir, holder.pid, file);
    }
    // Stale: its holder is gone (or never finished writing it). Take it over.
    rmSync(file, { force: true });
    unreadableSince = undefined;
  }
}
