import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseRefusalOf, type TestDatabase } from '../../shared/testing/database.js';

/** The guards whose tables keep their rows: no DELETE, or no change at all. */
const ROW_GUARDS = ['reject_delete', 'reject_modification'];

describe('tables that keep their rows', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb?.dispose();
  });

  const guardedTables = async (level: 'row' | 'truncate') => {
    const { rows } = await testDb.db.query<{ table: string }>(
      `SELECT DISTINCT c.relname AS table
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE NOT t.tgisinternal AND p.proname = ANY($1::text[])
          AND (t.tgtype & 32 = 32) = $2
        ORDER BY 1`,
      [ROW_GUARDS, level === 'truncate'],
    );
    return rows.map((row) => row.table);
  };

  it('refuse TRUNCATE wherever a row trigger refuses DELETE (TRUNCATE skips row triggers)', async () => {
    const rowGuarded = await guardedTables('row');
    expect(rowGuarded).toContain('audit_log');
    expect(rowGuarded).toContain('payouts');
    expect(await guardedTables('truncate')).toEqual(rowGuarded);
  });

  it('refuses UPDATE and DELETE of an audit row, whoever asks', async () => {
    await testDb.db.query(`INSERT INTO audit_log (occurred_at, actor_type, action, details) VALUES (now(), 'system', 'test.recorded', '{"n": 1}')`);
    for (const statement of [`UPDATE audit_log SET details = '{"n": 2}' WHERE action = 'test.recorded'`, `DELETE FROM audit_log WHERE action = 'test.recorded'`]) {
      expect((await databaseRefusalOf(testDb.db.query(statement))).code, statement).toBe('23001');
    }
    const { rows } = await testDb.db.query('SELECT details FROM audit_log WHERE action = $1', ['test.recorded']);
    expect(rows).toEqual([{ details: { n: 1 } }]);
  });

  it.each(['audit_log', 'payouts', 'payments'])('refuses TRUNCATE %s CASCADE', async (table) => {
    const error = await databaseRefusalOf(testDb.db.query(`TRUNCATE ${table} CASCADE`));
    expect(error.code).toBe('23001');
  });
});
