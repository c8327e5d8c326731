import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasPostgresServer } from '../../shared/testing/database.js';
import type { ChaosReport } from './chaos-run.js';

const run = promisify(execFile);

// CI size: two seeds × 200 payments on PostgreSQL; PGlite runs one transaction at a time, so a
// smaller run there (concurrency still interleaves every stage, only the database serializes).
// CHAOS_SEEDS=1,2,… and CHAOS_PAYMENTS override; `npm run chaos` is the full size.
const seeds = (process.env.CHAOS_SEEDS ?? (hasPostgresServer ? '1,2' : '1')).split(',').map((seed) => seed.trim());
const payments = process.env.CHAOS_PAYMENTS ?? (hasPostgresServer ? '200' : '40');

describe('chaos: payments under every fault at once end settled, paid once and booked', () => {
  for (const seed of seeds) {
    it(`seed ${seed}, ${payments} payments: no invariant is violated (repeat: npm run chaos -- --seed ${seed} --payments ${payments})`, async () => {
      // Its own process: functions read their configuration once per process.
      const { stdout } = await run('npx', ['tsx', 'tests/chaos/chaos-seed.ts', '--seed', seed, '--payments', payments], { maxBuffer: 64 * 1024 * 1024, timeout: 900_000 });
      const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChaosReport;
      expect(report.outcome.payments_settled).toBe(Number(payments));
      expect(report.faults['bus.crash_after_commit'] ?? 0).toBeGreaterThan(0);
      expect(report.violations).toEqual([]);
    }, 900_000);
  }
});
