/** A throw-away, migrated database for one bench run, dropped at the end whatever happens. */
import { migrateToLatest } from '../../shared/db/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { onCleanup } from './cleanup.js';

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
