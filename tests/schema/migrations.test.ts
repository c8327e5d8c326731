import { cp, mkdtemp, readdir, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationError, migrateToLatest, sqlDirectory } from '../../shared/db/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';

describe('migrations', () => {
  it('apply to an empty database, and a second run applies nothing', async () => {
    const testDb = await createTestDatabase({ migrate: false });
    try {
      const files = (await readdir(sqlDirectory())).filter((file) => file.endsWith('.sql')).sort();
      const first = await migrateToLatest(testDb.db);
      expect(first).toEqual({ applied: files, alreadyApplied: 0 });
      const second = await migrateToLatest(testDb.db);
      expect(second).toEqual({ applied: [], alreadyApplied: files.length });
    } finally {
      await testDb.dispose();
    }
  });

  it('refuse to run when an applied migration was edited', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'pgp-sql-'));
    const testDb = await createTestDatabase({ migrate: false });
    try {
      await cp(sqlDirectory(), directory, { recursive: true });
      await migrateToLatest(testDb.db, directory);
      await appendFile(path.join(directory, '007_create_ledger.sql'), '\n-- edited after it was applied\n');
      await expect(migrateToLatest(testDb.db, directory)).rejects.toThrow(MigrationError);
      await expect(migrateToLatest(testDb.db, directory)).rejects.toThrow(/007_create_ledger\.sql was edited/);
    } finally {
      await testDb.dispose();
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('schema conventions', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.dispose());

  const columns = async (where: string) =>
    (
      await testDb.db.query<{ name: string }>(
        `SELECT table_name || '.' || column_name AS name FROM information_schema.columns
          WHERE table_schema = 'public' AND ${where} ORDER BY 1`,
      )
    ).rows.map((row) => row.name);

  it('stores no money or time in lossy types', async () => {
    expect(await columns(`data_type IN ('real', 'double precision', 'money')`)).toEqual([]);
    expect(await columns(`data_type IN ('timestamp without time zone', 'time without time zone', 'time with time zone')`)).toEqual([]);
    expect(await columns(`data_type = 'json'`)).toEqual([]);
  });

  it('stores every crypto amount as numeric(78,0) and every USD amount as bigint cents', async () => {
    expect(await columns(`column_name LIKE '%\\_units' AND NOT (data_type = 'numeric' AND numeric_precision = 78 AND numeric_scale = 0)`)).toEqual([]);
    expect(await columns(`column_name LIKE '%\\_cents' AND data_type <> 'bigint'`)).toEqual([]);
    expect(await columns(`(column_name LIKE '%chat\\_id' OR column_name LIKE 'telegram\\_user\\_id' OR column_name LIKE '%\\_by\\_telegram\\_user\\_id') AND data_type <> 'bigint'`)).toEqual([]);
  });

  it('uses no Postgres enum types', async () => {
    const { rows } = await testDb.db.query(`SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                                              WHERE n.nspname = 'public' AND t.typtype = 'e'`);
    expect(rows).toEqual([]);
  });

  it('gives every table a primary key', async () => {
    const { rows } = await testDb.db.query<{ table_name: string }>(
      `SELECT c.relname AS table_name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint p WHERE p.conrelid = c.oid AND p.contype = 'p')`,
    );
    expect(rows).toEqual([]);
  });

  it('lists the allowed values of every status, state and kind column in a CHECK', async () => {
    const { rows } = await testDb.db.query<{ name: string }>(
      `SELECT c.relname || '.' || a.attname AS name
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attname IN ('status', 'state', 'kind', 'provider', 'purpose', 'type', 'flow', 'payout_strategy')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c'
                            AND a.attnum = ANY (k.conkey) AND pg_get_constraintdef(k.oid) ~ '''[a-z_.-]+''::text')
        ORDER BY 1`,
    );
    expect(rows).toEqual([]);
  });

  it('never cascades or nulls on delete', async () => {
    const { rows } = await testDb.db.query<{ conname: string }>(
      `SELECT conname FROM pg_constraint WHERE contype = 'f' AND confdeltype IN ('c', 'n', 'd')`,
    );
    expect(rows).toEqual([]);
  });
});
