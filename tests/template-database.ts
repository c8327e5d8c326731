/**
 * Vitest global setup: with DATABASE_URL, migrates one template database per run, so each test
 * file's throw-away database is a copy of it (`CREATE DATABASE … TEMPLATE`) instead of running
 * every migration again. Its name reaches the test workers through PGP_TEST_TEMPLATE_DATABASE.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPostgresDatabase, migrateToLatest } from '../shared/db/index.js';
import { TEMPLATE_DATABASE_VARIABLE } from '../shared/testing/database.js';

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return undefined;
  const name = `pgp_test_template_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = createPostgresDatabase({ connectionString: url.toString(), maxConnections: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    // A template must have no open connection while it is copied.
    await db.close();
  }
  process.env[TEMPLATE_DATABASE_VARIABLE] = name;
  return async () => {
    const cleanup = new pg.Client({ connectionString: serverUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  };
}
