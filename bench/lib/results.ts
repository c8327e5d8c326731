/**
 * The figures a benchmark writes to bench/results/<name>.json, and reads back. Every bench writes
 * one file in this shape; bench/run.ts reads them to print one combined table, and two runs can be
 * compared file by file (bench/results/ is not committed).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One figure: the subject next to its baseline measured in the same run. */
export interface BenchRow {
  /** What is measured, stable across runs so two files can be matched row by row. */
  figure: string;
  /** The subject's figure as printed, units included ('1,234 req/s', '514 ms'). */
  subject: string;
  /** The baseline's figure as printed; null when the figure has no baseline. */
  baseline: string | null;
  /** subject ÷ baseline; null without a baseline. */
  ratio: number | null;
  /** The goal as text ('≥ 0.7×', '≤ 2.0×'); null when there is none. */
  goal: string | null;
  /** Whether the ratio meets the goal; null without a goal. A benchmark never fails on it. */
  meetsGoal: boolean | null;
}

export interface BenchResult {
  /** The bench's name: bench/<name>.ts, written to bench/results/<name>.json. */
  bench: string;
  /** True for `--quick` / BENCH_QUICK=1 runs (CI): figures too short to quote. */
  quick: boolean;
  database: 'postgres' | 'pglite';
  /** ISO 8601. */
  measuredAt: string;
  rows: BenchRow[];
  /** Anything else worth keeping: raw round figures, settings, notes, skip reasons. */
  details: Record<string, unknown>;
}

/** bench/results/, beside this folder. */
export const RESULTS_DIRECTORY = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');

export function resultsFileOf(bench: string): string {
  return path.join(RESULTS_DIRECTORY, `${bench}.json`);
}

/** Writes bench/results/<result.bench>.json (creating the folder) and returns its path. */
export function writeBenchResults(result: BenchResult): string {
  mkdirSync(RESULTS_DIRECTORY, { recursive: true });
  const file = resultsFileOf(result.bench);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** Reads bench/results/<bench>.json; undefined when the bench wrote none. Throws on a malformed file. */
export function readBenchResults(bench: string): BenchResult | undefined {
  let text: string;
  try {
    text = readFileSync(resultsFileOf(bench), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<BenchResult>;
  if (typeof parsed.bench !== 'string' || !Array.isArray(parsed.rows)) throw new Error(`${resultsFileOf(bench)} is not a bench result`);
  return parsed as BenchResult;
}

/** A row whose goal is a lower bound on the ratio (throughput: higher is better). */
export function rowAtLeast(figure: string, subject: string, baseline: string, ratio: number, minimum: number): BenchRow {
  return { figure, subject, baseline, ratio, goal: `≥ ${minimum.toFixed(1)}×`, meetsGoal: Number.isFinite(ratio) && ratio >= minimum };
}

/** A row whose goal is an upper bound on the ratio (time, memory: lower is better). */
export function rowAtMost(figure: string, subject: string, baseline: string, ratio: number, maximum: number): BenchRow {
  return { figure, subject, baseline, ratio, goal: `≤ ${maximum.toFixed(1)}×`, meetsGoal: Number.isFinite(ratio) && ratio <= maximum };
}

/** A row without a goal (context for another row, or a figure the issue sets no goal for). */
export function rowWithoutGoal(figure: string, subject: string, baseline: string | null = null, ratio: number | null = null): BenchRow {
  return { figure, subject, baseline, ratio, goal: null, meetsGoal: null };
}
