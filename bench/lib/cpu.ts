/**
 * CPU time used by groups of processes (Linux /proc), to say where a load's time goes: the
 * function's node process, the PostgreSQL backends serving its database, an emulator. A figure is
 * the difference between two snapshots, process by process: one that started in between counts in
 * full, one that exited in between counts nothing (its last share cannot be read any more; before,
 * its whole past was subtracted, and a pool closing idle backends gave negative figures).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { commandLineOf } from './processes.js';

const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** Which processes a figure counts: by pid, by process group, or by a fragment of the command line. */
export interface ProcessSelector {
  pids?: readonly number[];
  processGroups?: readonly number[];
  commandLineIncludes?: string;
}

interface ProcessCpu {
  pid: number;
  processGroup: number;
  cpuMs: number;
}

function readProcessCpu(pid: number): ProcessCpu | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, processGroup: Number(fields[2]), cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined; // exited while we looked
  }
}

/** CPU milliseconds used so far by each process each selector matches, by pid. */
export type CpuSnapshot<K extends string> = Record<K, Map<number, number>>;

export function cpuSnapshot<K extends string>(selectors: Record<K, ProcessSelector>): CpuSnapshot<K> {
  const totals = Object.fromEntries(Object.keys(selectors).map((key) => [key, new Map<number, number>()])) as CpuSnapshot<K>;
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return totals; // not Linux: no figures
  }
  for (const pid of pids) {
    const cpu = readProcessCpu(pid);
    if (!cpu) continue;
    let commandLine: string | undefined;
    for (const key of Object.keys(selectors) as K[]) {
      const selector = selectors[key];
      const matches =
        selector.pids?.includes(pid) ||
        selector.processGroups?.includes(cpu.processGroup) ||
        (selector.commandLineIncludes !== undefined && (commandLine ??= commandLineOf(pid)).includes(selector.commandLineIncludes));
      if (matches) totals[key].set(pid, cpu.cpuMs);
    }
  }
  return totals;
}

/** CPU milliseconds each selector's processes used between two snapshots (never negative). */
export function cpuSpentBetween<K extends string>(before: CpuSnapshot<K>, after: CpuSnapshot<K>): Record<K, number> {
  const spent = (key: K): number => {
    let total = 0;
    for (const [pid, cpuMs] of after[key]) total += Math.max(0, cpuMs - (before[key].get(pid) ?? 0));
    return total;
  };
  return Object.fromEntries((Object.keys(after) as K[]).map((key) => [key, spent(key)])) as Record<K, number>;
}

/** Runs `work` and returns the CPU milliseconds each selector's processes used meanwhile. */
export async function measureCpu<K extends string, T>(selectors: Record<K, ProcessSelector>, work: () => Promise<T>): Promise<{ result: T; cpuMs: Record<K, number> }> {
  const before = cpuSnapshot(selectors);
  const result = await work();
  return { result, cpuMs: cpuSpentBetween(before, cpuSnapshot(selectors)) };
}
