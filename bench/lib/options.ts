/**
 * Settings every bench shares. `--quick` (or BENCH_QUICK=1) asks for the short mode CI runs to keep
 * the suite working: one round and a fraction of the load, figures not worth quoting.
 */

export const isQuick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';

/** A positive integer from the environment, else `fallback`; a malformed value stops the bench. */
export function integerFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer (got "${text}")`);
  return value;
}

/** Alternating baseline/subject rounds: median of 3 by default, 1 in quick mode; BENCH_ROUNDS overrides. */
export const rounds = integerFromEnv('BENCH_ROUNDS', isQuick ? 1 : 3);

/** 'postgres' when DATABASE_URL names a server, else 'pglite' (what shared/testing/database.ts uses). */
export const databaseKind: 'postgres' | 'pglite' = process.env.DATABASE_URL ? 'postgres' : 'pglite';
