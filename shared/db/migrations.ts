import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from './database.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

const MIGRATION_FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;
// Any constant shared by every migrator; it serializes concurrent `npm run migrate` / cold starts.
const MIGRATION_LOCK_KEY = 7_302_215_001;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Reads `sql/NNN_verb_noun.sql` in version order. Gaps and duplicate versions are refused. */
export async function readMigrations(directory: string): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) throw new MigrationError(`Migration file name ${file} must look like 001_create_things.sql`);
    const sql = await readFile(path.join(directory, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new MigrationError(`Migration ${migration.name} is out of sequence: expected version ${index + 1}`);
    }
  });
  return migrations;
}

/**
 * Applies pending migrations, each in its own transaction with its record, under an advisory lock so
 * concurrent runners apply each migration once. Refuses to run when an applied migration's file has
 * changed since (forward-only: write a new migration instead of editing an old one).
 */
export async function migrate(db: Db, migrations: readonly Migration[]): Promise<MigrationReport> {
  // Created only when missing: a role without CREATE (the functions' paygate_app, sql/027) can then
  // still confirm that an up-to-date database needs nothing.
  const { rows: history } = await db.query<{ isPresent: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS "isPresent"`);
  if (!history[0]?.isPresent) {
    await db.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  const report: MigrationReport = { applied: [], alreadyApplied: 0 };
  for (const migration of migrations) {
    const wasApplied = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const { rows } = await tx.query<{ name: string; checksum: string }>(
        'SELECT name, checksum FROM schema_migrations WHERE version = $1',
        [migration.version],
      );
      const recorded = rows[0];
      if (recorded) {
        if (recorded.checksum !== migration.checksum) {
          throw new MigrationError(
            `Migration ${migration.name} was edited after it was applied (recorded as ${recorded.name}); ` +
              'migrations are forward-only: restore the file and add a new migration',
          );
        }
        return true;
      }
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      return false;
    });
    if (wasApplied) report.alreadyApplied++;
    else report.applied.push(migration.name);
  }
  return report;
}

/** The repository's `sql/` folder (resolved lazily: bundled functions never read it). */
export function sqlDirectory(): string {
  return path.resolve(import.meta.dirname, '../../sql');
}

export async function migrateToLatest(db: Db, directory = sqlDirectory()): Promise<MigrationReport> {
  return migrate(db, await readMigrations(directory));
}
