/**
 * `npm run fuzz [-- --runs N] [--seed S] [--entry <name> [--path P]]`
 * The fuzz suites of tests/fuzz at full size (10,000 generated requests per entry point unless
 * --runs says otherwise), then one table: requests, the statuses seen, 5xx and violations per
 * entry point, with the seed that replays each run. `--entry` runs one suite (nowpayments-ipn,
 * telegram-webhook, dashboard-api); `--seed` with `--path` replays one counterexample a failed run
 * printed. Uses DATABASE_URL when set (a throw-away database per suite), PGlite otherwise.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';

const ENTRY_POINTS = ['nowpayments-ipn', 'telegram-webhook', 'dashboard-api'] as const;
const FULL_RUNS = 10_000;

/** One line of FUZZ_REPORT, as tests/fuzz/fuzz-harness.ts writes it. */
const FuzzReportSchema = z.object({
  entryPoint: z.string(),
  database: z.string(),
  seed: z.number(),
  path: z.string().nullable(),
  requests: z.number(),
  statuses: z.record(z.string(), z.number()),
  violations: z.number(),
  durationMs: z.number(),
});
type FuzzReport = z.infer<typeof FuzzReportSchema>;

function table(reports: FuzzReport[]): string {
  const rows = [
    ['entry point', 'database', 'requests', '5xx', 'violations', 'seconds', 'seed', 'statuses'],
    ...reports.map((report) => [
      report.entryPoint,
      report.database,
      String(report.requests),
      String(Object.entries(report.statuses).reduce((sum, [status, count]) => sum + (Number(status) >= 500 ? count : 0), 0)),
      String(report.violations),
      (report.durationMs / 1000).toFixed(0),
      String(report.seed),
      Object.entries(report.statuses)
        .map(([status, count]) => `${status}×${count}`)
        .join(' '),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

function main(): number {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' }, path: { type: 'string' }, entry: { type: 'string' } } });
  const runs = values.runs ?? String(FULL_RUNS);
  if (!/^[1-9]\d*$/.test(runs)) throw new Error(`--runs must be a whole number ≥ 1, got ${runs}`);
  if (values.seed !== undefined && !/^-?\d+$/.test(values.seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  if (values.entry !== undefined && !(ENTRY_POINTS as readonly string[]).includes(values.entry)) throw new Error(`--entry must be one of ${ENTRY_POINTS.join(', ')}`);
  if (values.path !== undefined && (values.entry === undefined || values.seed === undefined)) throw new Error('--path replays one counterexample: give it with --entry and --seed');
  const entries = values.entry ? [values.entry] : [...ENTRY_POINTS];

  const folder = mkdtempSync(path.join(tmpdir(), 'pgp-fuzz-'));
  const reportFile = path.join(folder, 'report.jsonl');
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, FUZZ_RUNS: runs, FUZZ_REPORT: reportFile };
    if (values.seed !== undefined) env.FUZZ_SEED = values.seed;
    if (values.path !== undefined) env.FUZZ_PATH = values.path;
    process.stdout.write(`Fuzzing ${entries.join(', ')}: ${runs} requests each, on ${process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : 'PGlite'}.\n\n`);
    const result = spawnSync('npx', ['vitest', 'run', ...entries.map((entry) => `tests/fuzz/${entry}.test.ts`)], { stdio: 'inherit', env });
    let lines: string[] = [];
    try {
      lines = readFileSync(reportFile, 'utf8').split('\n').filter(Boolean);
    } catch {
      // No suite got as far as reporting (it failed to start): vitest's output above says why.
    }
    const reports = lines.map((line) => FuzzReportSchema.parse(JSON.parse(line)));
    process.stdout.write(`\n${reports.length > 0 ? table(reports) : 'No fuzz report was written.'}\n`);
    const failed = reports.filter((report) => report.violations > 0);
    if (failed.length > 0) process.stdout.write(`\nViolations in ${failed.map((report) => report.entryPoint).join(', ')}: the failing request and its replay command are in the output above.\n`);
    return result.status ?? 1;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

process.exitCode = main();
