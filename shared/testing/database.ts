import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Db, createEmbeddedDatabase, createPostgresDatabase, migrateToLatest } from '../db/index.js';

export interface TestDatabase {
  db: Db;
  /** Connection URL of the throw-away server database; undefined for PGlite. */
  url: string | undefined;
  /** 'postgres' when DATABASE_URL points at a server, else 'pglite'. */
  kind: Db['kind'];
  /** Closes the connection and drops the throw-away database. */
  dispose(): Promise<void>;
}

/** Names the migrated template database `tests/template-database.ts` made for this run (tests only). */
export const TEMPLATE_DATABASE_VARIABLE = 'PGP_TEST_TEMPLATE_DATABASE';
/** Copies from one template are serialised: PostgreSQL refuses a copy while another session is in the template. */
const TEMPLATE_LOCK = 7_316_004_211;

/** True when tests run against a real PostgreSQL server (DATABASE_URL set). */
export const hasPostgresServer = Boolean(process.env.DATABASE_URL);

/**
 * A fresh, migrated database per test file: a throw-away database on the server named by
 * DATABASE_URL (so test files can run in parallel and never see each other's rows), or an
 * in-memory PGlite when DATABASE_URL is unset. On a server, a migrated database is a copy of the
 * run's template when Vitest's global setup made one (migrations run once per run, not per file).
 */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  let db: Db;
  let url: string | undefined;
  let dispose: () => Promise<void>;
  let isMigrated = false;
  if (serverUrl) {
    const name = `pgp_test_${randomBytes(6).toString('hex')}`;
    const template = options.migrate !== false ? process.env[TEMPLATE_DATABASE_VARIABLE] : undefined;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    if (template && /^pgp_test_template_[0-9a-f]{12}$/.test(template)) {
      await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
      } finally {
        await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
      }
      isMigrated = true;
    } else {
      await admin.query(`CREATE DATABASE ${name}`);
    }
    await admin.end();
    const databaseUrl = new URL(serverUrl);
    databaseUrl.pathname = `/${name}`;
    url = databaseUrl.toString();
    db = createPostgresDatabase({ connectionString: url, maxConnections: 10 });
    dispose = async () => {
      await db.close();
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    };
  } else {
    db = await createEmbeddedDatabase();
    dispose = () => db.close();
  }
  if (options.migrate !== false && !isMigrated) await migrateToLatest(db);
  return { db, url, kind: db.kind, dispose };
}

/** What a refused statement carries: the SQLSTATE and the violated constraint's name. */
export interface DatabaseRefusal {
  code?: string;
  constraint?: string;
  message?: string;
}

/** Awaits a statement that must fail and returns the database's error (fails the test if it succeeded). */
export async function databaseRefusalOf(statement: Promise<unknown>): Promise<DatabaseRefusal> {
  const error = await statement.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error === undefined) throw new Error('expected the database to refuse the statement');
  return error as DatabaseRefusal;
}
