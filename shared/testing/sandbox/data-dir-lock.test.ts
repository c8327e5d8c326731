import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDataDirLock, DATA_DIR_LOCK_FILE, DataDirLockedError } from './data-dir-lock.js';

/** The PID of a process that has exited: what a lock left by kill -9 names. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number.parseInt(child.stdout, 10);
}

describe('acquireDataDirLock', () => {
  let dataDir = '';
  const lockFile = () => path.join(dataDir, DATA_DIR_LOCK_FILE);
  const holderPid = () => (JSON.parse(readFileSync(lockFile(), 'utf8')) as { pid: number }).pid;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'pgp-lock-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes the holder’s PID into the lock file and removes it on release', async () => {
    const lock = await acquireDataDirLock(dataDir);
    expect(holderPid()).toBe(process.pid);
    lock.release();
    lock.release();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('refuses while a live process holds the folder, naming its PID and the folder', async () => {
    const lock = await acquireDataDirLock(dataDir);
    const refusal = await acquireDataDirLock(dataDir, { pid: process.pid + 1 }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DataDirLockedError);
    expect((refusal as Error).message).toContain(`PID ${process.pid}`);
    expect((refusal as Error).message).toContain(dataDir);
    expect(holderPid()).toBe(process.pid);
    lock.release();
  });

  it('waits for a holder that is stopping, then takes the folder it released', async () => {
    const stopping = await acquireDataDirLock(dataDir);
    stopping.markStopping();
    const next = acquireDataDirLock(dataDir, { pid: process.pid + 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(holderPid()).toBe(process.pid); // still waiting
    stopping.release();
    const lock = await next;
    expect(holderPid()).toBe(process.pid + 1);
    lock.release();
  });

  it('takes over a lock whose holder is dead', async () => {
    const dead = deadPid();
    writeFileSync(lockFile(), JSON.stringify({ pid: dead, startedAt: '2026-01-01T00:00:00.000Z' }));
    const lock = await acquireDataDirLock(dataDir);
    expect(holderPid()).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock file that stays unreadable (its writer died between creating and writing it)', async () => {
    writeFileSync(lockFile(), '');
    const lock = await acquireDataDirLock(dataDir);
    expect(holderPid()).toBe(process.pid);
    lock.release();
  });

  it('leaves a lock that another holder took meanwhile when releasing', async () => {
    const lock = await acquireDataDirLock(dataDir);
    writeFileSync(lockFile(), JSON.stringify({ pid: process.pid + 1 }));
    lock.release();
    expect(holderPid()).toBe(process.pid + 1);
  });
});
