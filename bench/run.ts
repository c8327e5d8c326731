/**
 * `npm run bench [-- name …] [-- --quick]`: runs bench/<name>.ts, or every bench in bench/, each
 * in its own process (one bench's servers, pools and emulators never disturb the next), then prints
 * every figure in one table from the JSON each bench writes to bench/results/<name>.json.
 *
 * `--quick` (or BENCH_QUICK=1) runs each bench in its short mode, fit for CI. Figures never fail
 * the run; a bench that could not run (exited non-zero, or wrote no results) does.
 */
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isQuick } from './lib/options.js';
import { type BenchResult, readBenchResults, resultsFileOf } from './lib/results.js';
import { formatCombined } from './lib/table.js';

const benchDirectory = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(benchDirectory)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.slice(0, -3))
  .sort();

const args = process.argv.slice(2);
const unknownFlags = args.filter((arg) => arg.startsWith('-') && arg !== '--quick');
const requested = args.filter((arg) => !arg.startsWith('-'));
const unknown = requested.filter((name) => !available.includes(name));
if (unknownFlags.length > 0 || unknown.length > 0) {
  console.error(`${[...unknownFlags, ...unknown].map((arg) => `unknown ${arg.startsWith('-') ? 'option' : 'bench'} "${arg}"`).join('; ')}`);
  console.error(`usage: npm run bench [-- [--quick] [${available.join(' | ')} …]]`);
  process.exit(2);
}
const names = requested.length > 0 ? requested : available;

let current: ReturnType<typeof spawn> | undefined;
let interruptedBy: NodeJS.Signals | undefined;
// Ctrl-C reaches the bench too (same terminal process group); a SIGTERM sent to this process alone
// is passed on, so the bench still stops its servers and drops its databases.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    interruptedBy = signal;
    if (current && current.exitCode === null) current.kill(signal);
    else process.exit(1);
  });
}

function runOne(name: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // Through tsx's loader in this same Node: no npx wrapper between us and the bench.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(benchDirectory, `${name}.ts`), ...(isQuick ? ['--quick'] : [])], {
      stdio: 'inherit',
      env: { ...process.env, ...(isQuick ? { BENCH_QUICK: '1' } : {}) },
    });
    current = child;
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal, seconds: (Date.now() - started) / 1000 }));
  });
}

const outcomes: Array<{ name: string; result: BenchResult | undefined; note?: string }> = [];
const failed: string[] = [];
for (const name of names) {
  console.log(`\n== ${name}${isQuick ? ' (quick)' : ''}`);
  rmSync(resultsFileOf(name), { force: true }); // a stale file must not pass for this run's figures
  const { code, signal, seconds } = await runOne(name);
  let result: BenchResult | undefined;
  let note: string | undefined;
  try {
    result = readBenchResults(name);
  } catch (error) {
    note = `unreadable results: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (code !== 0) {
    note = `FAILED (${signal ? `signal ${signal}` : `exit code ${code}`})`;
    failed.push(name);
  } else if (!result) {
    note ??= 'FAILED: wrote no bench/results file';
    failed.push(name);
  } else if (result.rows.length === 0) {
    note = typeof result.details.skipped === 'string' ? `skipped: ${result.details.skipped}` : 'no figures';
  }
  console.log(`== ${name}: ${note ?? 'done'} in ${seconds.toFixed(0)} s`);
  outcomes.push({ name, result, note });
  if (interruptedBy) {
    console.error(`${interruptedBy}: not starting the remaining benches`);
    break;
  }
}

console.log(`\n== figures${isQuick ? ' (quick mode: too short to quote)' : ''}; ratio = subject ÷ baseline, same run`);
console.log(formatCombined(outcomes));
const databases = [...new Set(outcomes.flatMap((outcome) => (outcome.result ? [outcome.result.database] : [])))];
if (databases.length > 0) console.log(`database: ${databases.join(', ')}; JSON in ${path.relative(process.cwd(), path.join(benchDirectory, 'results'))}/`);
if (failed.length > 0 || interruptedBy) {
  if (failed.length > 0) console.error(`\n${failed.length} bench(es) could not run: ${failed.join(', ')}`);
  process.exitCode = 1;
}
