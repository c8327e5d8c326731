/**
 * Cold start of every function: spawn → first HTTP answer of its built bundle served by
 * functions-framework, next to an empty functions-framework function
 * (bench/baseline-functions/empty) measured in alternating pairs, median over rounds. Each
 * bundle's size is printed beside it.
 *
 * The probe is `GET /robots.txt`, which functions-framework answers without running the handler
 * (404 for HTTP functions; 500 from its event middleware for CloudEvent functions, which take only
 * POSTs with an event): the figure is process start, module load (configuration checks, clients
 * built at load) and listen, which is what a lighter bundle or a lazy import shortens. The npm
 * packages each bundle imports are timed alone too, since they, not our code, usually dominate. Every function gets the configuration it reads, with valid values that
 * are never called (provider URLs on a closed localhost port, a random hot-wallet key and its
 * address), and a throw-away migrated database when DATABASE_URL is set.
 *
 * `npm run bench -- cold-start [--quick]`; quick measures three functions once. BENCH_ROUNDS and
 * BENCH_FUNCTIONS (comma-separated names) change the shape.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildFunction } from '../scripts/build.js';
import { repositoryRoot } from '../shared/bus/topology.js';
import { discoverFunctions } from '../shared/deploy/function-folders.js';
import { onCleanup, runBench } from './lib/cleanup.js';
import { throwAwayDatabase } from './lib/database.js';
import { coldStartEnv } from './lib/function-env.js';
import { databaseKind, isQuick, rounds } from './lib/options.js';
import { baseChildEnv, findFreePort, startFunction } from './lib/processes.js';
import { type BenchRow, rowAtMost, writeBenchResults } from './lib/results.js';
import { alternateRounds } from './lib/rounds.js';
import { median, ratioOf } from './lib/stats.js';
import { formatRows, formatTable } from './lib/table.js';

const NAME = 'cold-start';
/** Goal from issue 14: at most twice the empty function's cold start. */
const GOAL = 2.0;
/** Quick mode: a light HTTP function, the heaviest HTTP function (the bot) and a CloudEvent stage. */
const QUICK_FUNCTIONS = ['nowpayments-ipn', 'telegram-webhook', 'settle-payment'];
const EMPTY_SOURCE = path.join(repositoryRoot(), 'bench', 'baseline-functions', 'empty');

function chooseFunctions(): string[] {
  const all = discoverFunctions();
  const requested = process.env.BENCH_FUNCTIONS?.split(',').map((name) => name.trim()).filter(Boolean);
  if (requested && requested.length > 0) {
    const unknown = requested.filter((name) => !all.includes(name));
    if (unknown.length > 0) throw new Error(`BENCH_FUNCTIONS names no function: ${unknown.join(', ')} (functions: ${all.join(', ')})`);
    return requested;
  }
  if (!isQuick) return all;
  const quick = QUICK_FUNCTIONS.filter((name) => all.includes(name));
  return quick.length > 0 ? quick : all.slice(0, 3);
}

const ms = (value: number) => `${value.toFixed(0)} ms`;

const FRAMEWORK = '@google-cloud/functions-framework';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The npm packages (or their subpaths, as imported) a bundle imports when it loads (static imports)
 * and on first use (dynamic imports), read from the bundle: its package.json lists the packages,
 * its text says which specifiers and which way.
 */
function packagesOf(outdir: string, bundled: string[]): { atLoad: string[]; onFirstUse: string[]; bundled: string[] } {
  const manifest = JSON.parse(readFileSync(path.join(outdir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const text = readFileSync(path.join(outdir, 'index.js'), 'utf8');
  const atLoad: string[] = [];
  const onFirstUse: string[] = [];
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (name === FRAMEWORK) continue; // the empty function loads it too
    // The package or a subpath of it, as the bundle writes it: some packages (@noble/hashes) have no root entry.
    const specifier = `"(${escapeRegExp(name)}(?:/[^"]*)?)"`;
    const statically = [...text.matchAll(new RegExp(`(?:\\bfrom\\s*|\\bimport\\s*)${specifier}`, 'g'))].map((match) => match[1]!);
    const lazily = [...text.matchAll(new RegExp(`\\bimport\\(\\s*${specifier}`, 'g'))].map((match) => match[1]!);
    if (statically.length > 0) atLoad.push(...new Set(statically));
    else onFirstUse.push(...new Set(lazily));
  }
  return { atLoad, onFirstUse, bundled };
}

/** Milliseconds to import `name` in a fresh Node process (file cache warm), median of `samples`. */
function importMs(name: string, samples: number): number {
  const times: number[] = [];
  for (let sample = 0; sample < samples; sample += 1) {
    const run = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `const t = performance.now(); await import(${JSON.stringify(name)}); process.stdout.write(String(performance.now() - t));`],
      { cwd: repositoryRoot(), env: baseChildEnv(), encoding: 'utf8', timeout: 30_000 },
    );
    if (run.status !== 0) throw new Error(`importing ${name} failed: ${run.stderr.slice(-500)}`);
    times.push(Number(run.stdout));
  }
  return median(times);
}

async function main(): Promise<void> {
  const measuredAt = new Date().toISOString();
  const names = chooseFunctions();
  const workDir = mkdtempSync(path.join(tmpdir(), 'pgp-bench-cold-'));
  onCleanup('log folder', () => rmSync(workDir, { recursive: true, force: true }));

  const bundleKiB = new Map<string, number>();
  const packages = new Map<string, { atLoad: string[]; onFirstUse: string[]; bundled: string[] }>();
  for (const name of names) {
    const { outdir, inlined } = await buildFunction(name);
    bundleKiB.set(name, statSync(path.join(outdir, 'index.js')).size / 1024);
    packages.set(name, packagesOf(outdir, inlined));
  }

  const closedPort = await findFreePort();
  let databaseUrl: string;
  let databaseNote: string;
  if (process.env.DATABASE_URL) {
    databaseUrl = (await throwAwayDatabase()).url as string;
    databaseNote = 'DATABASE_URL names a throw-away migrated database (no function connects during the probe)';
  } else {
    databaseUrl = `postgres://bench@127.0.0.1:${closedPort}/unused`;
    databaseNote = 'no DATABASE_URL: functions get a PostgreSQL URL on a closed port (no function connects during the probe)';
  }
  const env = { ...baseChildEnv(), ...coldStartEnv(databaseUrl, closedPort) };
  console.log(`${names.length} function(s), ${rounds} round(s), each function paired with an empty function; ${databaseNote}`);

  const samples = new Map<string, number[]>(names.map((name) => [name, []]));
  const failures = new Map<string, string>();
  let logIndex = 0;
  const coldStart = async (source: string, target: string): Promise<number> => {
    const started = await startFunction({ source, target, env, logFile: path.join(workDir, `${target}-${(logIndex += 1)}.log`) });
    await started.stop({ graceMs: 1_000 });
    return started.startMs;
  };

  /** A function's cold start; undefined (reported, and the function left out from then on) if it cannot start. */
  const functionColdStart = async (name: string): Promise<number | undefined> => {
    if (failures.has(name)) return undefined;
    try {
      return await coldStart(path.join(repositoryRoot(), 'dist', name), name);
    } catch (error) {
      failures.set(name, error instanceof Error ? error.message : String(error));
      console.error(`${name} did not start: ${failures.get(name)}`);
      return undefined;
    }
  };

  // One unmeasured start of each, so the first measured one does not pay for a cold file cache
  // (node_modules read from disk) that the others then find warm.
  await coldStart(EMPTY_SOURCE, 'empty');
  for (const name of names) await functionColdStart(name);

  // Pairs (empty function, then one function), over every function, `rounds` times.
  const roundBaselines: number[] = [];
  const schedule = Array.from({ length: rounds }, () => names).flat();
  const pairs = await alternateRounds({
    rounds: schedule.length,
    baseline: () => coldStart(EMPTY_SOURCE, 'empty'),
    subject: async (pair) => {
      const name = schedule[pair - 1] as string;
      const startMs = await functionColdStart(name);
      if (startMs !== undefined) samples.get(name)?.push(startMs);
      return startMs;
    },
    onRound: (pair, baseline) => {
      roundBaselines.push(baseline);
      if (pair % names.length !== 0) return;
      // One line per round; every pair is in the JSON.
      const round = pair / names.length;
      const measured = names.flatMap((name) => samples.get(name)?.[round - 1] ?? []);
      if (measured.length === 0) return;
      console.log(
        `  round ${round}/${rounds}: ${measured.length} function(s) ${ms(Math.min(...measured))}–${ms(Math.max(...measured))}, empty function ${ms(median(roundBaselines.splice(0)))} (median of ${names.length})`,
      );
    },
  });
  const baselineMs = median(pairs.baseline);

  const rows: BenchRow[] = [];
  for (const name of names) {
    const measured = samples.get(name) ?? [];
    if (measured.length === 0) continue;
    const subjectMs = median(measured);
    rows.push(
      rowAtMost(
        `cold start: ${name}`,
        `${ms(subjectMs)} (bundle ${(bundleKiB.get(name) ?? 0).toFixed(0)} KiB)`,
        `${ms(baselineMs)} (empty function)`,
        ratioOf(subjectMs, baselineMs),
        GOAL,
      ),
    );
  }
  console.log(`\n${formatRows(rows)}`);

  // Where the time beyond the empty function goes: the packages each bundle inlines (parsed at cold
  // start, faster than from node_modules, which is how the import column measures them) and those it
  // loads from node_modules, at start or on first use.
  const packageNames = [...new Set([...packages.values()].flatMap((used) => [...used.bundled, ...used.atLoad, ...used.onFirstUse]))].sort();
  const packageImports = packageNames.map((name) => {
    const users = [...packages.entries()];
    return {
      package: name,
      importMs: importMs(name, rounds),
      bundledBy: users.filter(([, used]) => used.bundled.includes(name)).map(([fn]) => fn),
      atLoadBy: users.filter(([, used]) => used.atLoad.includes(name)).map(([fn]) => fn),
      onFirstUseBy: users.filter(([, used]) => used.onFirstUse.includes(name)).map(([fn]) => fn),
    };
  });
  packageImports.sort((a, b) => b.importMs - a.importMs);
  console.log(`\nimport time of each npm package the bundles use, alone from node_modules in a fresh process (median of ${rounds}; packages share dependencies, so the times do not add up):`);
  console.log(
    formatTable(
      ['package', 'import', 'bundled into', 'loaded at cold start by', 'loaded on first use by'],
      packageImports.map((entry) => [
        entry.package,
        ms(entry.importMs),
        `${entry.bundledBy.length} of ${names.length}`,
        `${entry.atLoadBy.length} of ${names.length}`,
        `${entry.onFirstUseBy.length} of ${names.length}`,
      ]),
    ),
  );
  const file = writeBenchResults({
    bench: NAME,
    quick: isQuick,
    database: databaseKind,
    measuredAt,
    rows,
    details: {
      probe: 'GET /robots.txt, polled every 5 ms from spawn until any HTTP answer',
      command: 'node node_modules/@google-cloud/functions-framework/build/src/main.js --source=dist/<name> --target=<name> --port=<free port>',
      rounds,
      database: databaseNote,
      baselineMs: pairs.baseline,
      functions: Object.fromEntries(names.map((name) => [name, { samplesMs: samples.get(name), bundleKiB: Number((bundleKiB.get(name) ?? 0).toFixed(1)), failed: failures.get(name) }])),
      packageImports,
      variablesGiven: Object.keys(coldStartEnv(databaseUrl, closedPort)).sort(),
    },
  });
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
  if (failures.size > 0) throw new Error(`${failures.size} function(s) did not start: ${[...failures.keys()].join(', ')}`);
}

await runBench(main);
