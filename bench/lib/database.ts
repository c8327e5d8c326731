/** A throw-away, migrated database for one bench run, dropped at the end whatever happens. */
import { migrateToLatest } from '../../shared/db/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { onCleanup } from './cleanup.js';
import { databaseKind } from './options.js';
import { writeBenchResults } from './results.js';

/**
 * A new database on DATABASE_URL's server (or an in-memory PGlite without it), migrated with the
 * project's migrations. Its drop is registered before the migration runs, so a failed migration
 * leaves nothing behind.
 */
export async function throwAwayDatabase(): Promise<TestDatabase> {
  const testDb = await createTestDatabase({ migrate: false });
  onCleanup(testDb.url ? `throw-away database ${new URL(testDb.url).pathname.slice(1)}` : 'embedded database', () => testDb.dispose());
  await migrateToLatest(testDb.db);
  return testDb;
}

/**
 * Benches that serve a built function in its own process need PostgreSQL (the embedded PGlite cannot
 * be shared between processes). Without DATABASE_URL this says so, writes a skipped result and
 * returns false.
 */
export function hasServerDatabase(bench: string, isQuick: boolean, measuredAt: string): boolean {
  if (process.env.DATABASE_URL) return true;
  console.log(
    `${bench} needs PostgreSQL: it serves built functions in their own processes, and the embedded PGlite cannot be shared between processes.\n` +
      'Set DATABASE_URL=postgres://… (a throw-away database is created on that server and dropped at the end). Skipped.',
  );
  writeBenchResults({ bench, quick: isQuick, database: databaseKind, measuredAt, rows: [], details: { skipped: 'needs PostgreSQL (set DATABASE_URL)' } });
  return false;
}
