import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuditEvent } from '../../shared/audit/index.js';
import { enqueueMessage } from '../../shared/bus/index.js';
import { APP_ROLE, asAppRole } from '../../shared/testing/app-role.js';
import { createTestDatabase, databaseRefusalOf, hasPostgresServer, type TestDatabase } from '../../shared/testing/database.js';

const AT = new Date('2026-12-01T10:00:00Z');
/** The append-only tables the role must not be able to empty or reshape. */
const APPEND_ONLY = ['audit_log', 'ledger_entries', 'ledger_transactions', 'payment_events'];

describe(`the functions' database role (${APP_ROLE})`, () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.dispose());

  it('exists, cannot log in, is no superuser and owns nothing', async () => {
    const { rows } = await testDb.db.query<{ rolcanlogin: boolean; rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolbypassrls: boolean }>(
      'SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = $1',
      [APP_ROLE],
    );
    expect(rows).toEqual([{ rolcanlogin: false, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false }]);
    const { rows: owned } = await testDb.db.query(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = $1`,
      [APP_ROLE],
    );
    expect(owned).toEqual([]);
  });

  it('may read and write every table and use every sequence, truncate none, and only read the migration history', async () => {
    const { rows } = await testDb.db.query<{ table: string; dml: boolean; canTruncate: boolean; canWrite: boolean }>(
      `SELECT c.relname AS table,
              has_table_privilege($1, c.oid, 'SELECT') AND has_table_privilege($1, c.oid, 'INSERT, UPDATE, DELETE') AS dml,
              has_table_privilege($1, c.oid, 'INSERT') AS "canWrite",
              has_table_privilege($1, c.oid, 'TRUNCATE') AS "canTruncate"
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`,
      [APP_ROLE],
    );
    expect(rows.length).toBeGreaterThan(30);
    expect(rows.filter((row) => row.canTruncate).map((row) => row.table)).toEqual([]);
    expect(rows.filter((row) => !row.dml && row.table !== 'schema_migrations').map((row) => row.table)).toEqual([]);
    expect(rows.find((row) => row.table === 'schema_migrations')).toMatchObject({ canWrite: false });
    const { rows: sequences } = await testDb.db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND CASE WHEN c.relkind = 'S' THEN NOT has_sequence_privilege($1, c.oid, 'USAGE') ELSE false END`,
      [APP_ROLE],
    );
    expect(sequences).toEqual([]);
  });

  it('does the normal work: inserts, updates, deletes, identity columns, triggers, audit rows', async () => {
    const db = asAppRole(testDb.db);
    const { rows: who } = await db.query<{ current_user: string }>('SELECT current_user');
    expect(who[0]?.current_user).toBe(APP_ROLE);
    const messageId = await db.transaction(async (tx) => {
      await recordAuditEvent(tx, { occurredAt: AT, actor: { type: 'system' }, action: 'role.checked', subject: { type: 'test', id: '1' }, ip: '203.0.113.9' });
      const enqueued = await enqueueMessage(tx, 'outbox-relay-requested', { job: 'relay-outbox' }, { at: AT, dedupeKey: `role-check:${randomUUID()}` });
      return enqueued?.messageId;
    });
    expect(messageId).toBeDefined();
    expect((await db.query('UPDATE outbox SET publish_attempts = publish_attempts + 1 WHERE message_id = $1', [messageId])).rowCount).toBe(1);
    expect((await db.query('DELETE FROM outbox WHERE message_id = $1', [messageId])).rowCount).toBe(1);
    const { rows } = await db.query<{ details: unknown }>(`SELECT details FROM audit_log WHERE action = 'role.checked'`);
    expect(rows).toEqual([{ details: { ip: '203.0.113.9' } }]);
  });

  it.each(APPEND_ONLY)('cannot TRUNCATE, ALTER or DROP %s', async (table) => {
    const db = asAppRole(testDb.db);
    for (const statement of [`TRUNCATE ${table}`, `TRUNCATE ${table} CASCADE`, `ALTER TABLE ${table} DISABLE TRIGGER ALL`, `ALTER TABLE ${table} ADD COLUMN sneaky text`, `DROP TABLE ${table}`, `DROP TABLE ${table} CASCADE`]) {
      const refusal = await databaseRefusalOf(db.query(statement));
      expect(refusal.code, statement).toBe('42501'); // insufficient_privilege
    }
  });

  it('can still not change or delete audit rows (the row trigger answers first)', async () => {
    const db = asAppRole(testDb.db);
    expect((await databaseRefusalOf(db.query(`UPDATE audit_log SET action = 'role.forged' WHERE action = 'role.checked'`))).code).toBe('23001');
    expect((await databaseRefusalOf(db.query(`DELETE FROM audit_log WHERE action = 'role.checked'`))).code).toBe('23001');
  });

  it('cannot create tables or functions, or drop the guards', async () => {
    const db = asAppRole(testDb.db);
    expect((await databaseRefusalOf(db.query('CREATE TABLE role_made (id int)'))).code).toBe('42501');
    expect((await databaseRefusalOf(db.query('DROP FUNCTION reject_modification() CASCADE'))).code).toBe('42501');
    expect((await databaseRefusalOf(db.query('DROP TRIGGER audit_log_append_only ON audit_log'))).code).toBe('42501');
  });

  it('is granted what later migrations create, by the owner’s default privileges', async () => {
    await testDb.db.transaction(async (tx) => {
      await tx.exec('CREATE TABLE later_things (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)');
      await tx.query(`SET LOCAL ROLE ${APP_ROLE}`);
      await tx.query(`INSERT INTO later_things (note) VALUES ('granted')`);
      expect((await databaseRefusalOf(tx.query('SAVEPOINT s').then(() => tx.query('TRUNCATE later_things')))).code).toBe('42501');
      await tx.query('ROLLBACK TO SAVEPOINT s');
      await tx.query('RESET ROLE');
      await tx.exec('DROP TABLE later_things');
    });
  });

  it('is created once per server: running its migration again changes nothing', async () => {
    const { readFile } = await import('node:fs/promises');
    const { sqlDirectory } = await import('../../shared/db/index.js');
    const sql = await readFile(`${sqlDirectory()}/027_create_app_role.sql`, 'utf8');
    await testDb.db.exec(sql);
    const { rows } = await testDb.db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APP_ROLE]);
    expect(rows).toHaveLength(1);
  });

  describe.skipIf(!hasPostgresServer)('a login the functions connect as [PostgreSQL: a second login on the server]', () => {
    const login = `pgp_test_fn_${randomBytes(4).toString('hex')}`;
    let client: pg.Client;
    beforeAll(async () => {
      await testDb.db.query(`CREATE ROLE ${login} LOGIN IN ROLE ${APP_ROLE}`);
      const url = new URL(testDb.url!);
      url.username = login;
      url.password = '';
      client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
    });
    afterAll(async () => {
      await client?.end();
      await testDb.db.query(`DROP ROLE IF EXISTS ${login}`);
    });

    it('inherits the role: normal DML works, TRUNCATE, ALTER and DROP of the append-only tables are refused', async () => {
      await client.query('BEGIN');
      await client.query(`INSERT INTO audit_log (occurred_at, actor_type, action) VALUES ($1, 'system', 'role.login_checked')`, [AT]);
      await client.query('COMMIT');
      expect((await client.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'role.login_checked'`)).rows).toEqual([{ n: 1 }]);
      for (const table of APPEND_ONLY) {
        for (const statement of [`TRUNCATE ${table}`, `ALTER TABLE ${table} DISABLE TRIGGER ALL`, `DROP TABLE ${table}`]) {
          const refusal = await databaseRefusalOf(client.query(statement));
          expect(refusal.code, `${login}: ${statement}`).toBe('42501');
        }
      }
    });
  });
});
