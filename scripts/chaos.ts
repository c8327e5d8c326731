/**
 * `npm run chaos -- [--seeds 10] [--payments 1000] [--first-seed 1] [--seed S]`: chaos runs (every
 * fault at once, then the sweeps left to finish; tests/chaos/chaos-run.ts), one process per seed,
 * and a table of what was injected and what broke. Exits 1 when any invariant is violated.
 * `--seed S` repeats one seed (the faults repeat; the interleavings of concurrent work may not).
 */
import { spawn } from 'node:child_process';
import type { ChaosReport } from '../tests/chaos/chaos-run.js';

const args = process.argv.slice(2);
const value = (name: string) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};
const payments = Number.parseInt(value('payments') ?? '200', 10);
const oneSeed = value('seed');
const firstSeed = BigInt(oneSeed ?? value('first-seed') ?? '1');
const seedCount = oneSeed ? 1 : Number.parseInt(value('seeds') ?? '2', 10);

function runSeed(seed: bigint): Promise<ChaosReport> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', 'tests/chaos/chaos-seed.ts', '--seed', seed.toString(), '--payments', String(payments)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderrTail = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    // Progress lines only (the functions' own stack traces of retried errors stay out of the table).
    child.stderr.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4000);
      for (const line of chunk.toString('utf8').split('\n')) if (/^(seed |  )\S/.test(line) && !/^\s+at /.test(line)) process.stderr.write(`${line}\n`);
    });
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let report: Partial<ChaosReport> | undefined;
      try {
        report = JSON.parse(last) as Partial<ChaosReport>;
      } catch {
        report = undefined;
      }
      // A seed that crashed prints no report (its last line may be a log record): say why, not a TypeError.
      if (report && Array.isArray(report.violations)) resolve(report as ChaosReport);
      else reject(new Error(`seed ${seed} ended with code ${code} and no report; its last output:\n${stderrTail}`));
    });
  });
}

const rows: ChaosReport[] = [];
process.stdout.write(`Chaos: ${seedCount} seed(s) × ${payments} payments, database ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}\n`);
for (let i = 0n; i < BigInt(seedCount); i++) {
  const report = await runSeed(firstSeed + i);
  rows.push(report);
  process.stderr.write(`seed ${report.seed} done in ${report.seconds} s: ${report.violations.length} violations\n`);
}

const total = (report: ChaosReport) => Object.entries(report.faults).filter(([name]) => !name.includes('_proxy.')).reduce((sum, [, n]) => sum + n, 0);
const header = ['seed', 'payments', 'channels', 'seconds', 'faults', 'settled', 'payouts done', 'replaced', 're-driven', 'violations'];
const lines = rows.map((report) => [
  report.seed,
  report.payments,
  report.channels,
  report.seconds,
  total(report),
  report.outcome.payments_settled ?? 0,
  report.outcome.payouts_completed ?? 0,
  report.outcome.replacements ?? 0,
  report.outcome.payout_redrives ?? 0,
  report.violations.length,
].map(String));
const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]?.length ?? 0)));
const format = (cells: string[]) => `| ${cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join(' | ')} |`;
process.stdout.write(`${format(header)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|\n${lines.map(format).join('\n')}\n`);

const faults: Record<string, number> = {};
for (const report of rows) for (const [name, n] of Object.entries(report.faults)) if (!name.includes('_proxy.')) faults[name] = (faults[name] ?? 0) + n;
process.stdout.write(`faults injected: ${Object.entries(faults).sort().map(([name, n]) => `${name} ${n}`).join(', ')}\n`);
const violations = rows.flatMap((report) => report.violations.map((violation) => `seed ${report.seed}: ${violation.invariant}: ${violation.detail}`));
process.stdout.write(violations.length === 0 ? '0 violations\n' : `${violations.length} violations:\n${violations.join('\n')}\n`);
process.exit(violations.length === 0 ? 0 : 1);
