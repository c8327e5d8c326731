import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { assertNoOpenTransaction, isUniqueViolation } from './index.js';

describe('database', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase({ migrate: false });
    await testDb.db.exec('CREATE TABLE things (id int8 PRIMARY KEY, amount numeric(78,0) NOT NULL, at timestamptz)');
  });
  afterAll(() => testDb.dispose());

  it('returns int8 as bigint and numeric as an exact decimal string on both engines', async () => {
    const { rows } = await testDb.db.query<{ id: bigint; amount: string }>(
      'INSERT INTO things (id, amount) VALUES ($1, $2) RETURNING id, amount',
      [9_007_199_254_740_993n, '123456789012345678901234567890'],
    );
    expect(rows[0]).toEqual({ id: 9_007_199_254_740_993n, amount: '123456789012345678901234567890' });
    const small = await testDb.db.query<{ five: bigint; count: bigint }>('SELECT 5::int8 AS five, count(*) AS count FROM things');
    expect(small.rows[0]).toEqual({ five: 5n, count: 1n });
  });

  it('rolls back every statement of a transaction that throws', async () => {
    await expect(
      testDb.db.transaction(async (tx) => {
        await tx.query('INSERT INTO things (id, amount) VALUES (2, 1)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rowCount } = await testDb.db.query('SELECT 1 FROM things WHERE id = 2');
    expect(rowCount).toBe(0);
  });

  it('refuses network work inside a transaction and allows it outside', async () => {
    expect(() => assertNoOpenTransaction('publish')).not.toThrow();
    await expect(
      testDb.db.transaction(async () => {
        assertNoOpenTransaction('publish');
      }),
    ).rejects.toThrow(/must not run inside a database transaction/);
  });

  it('recognises a unique violation by constraint name', async () => {
    await testDb.db.query('INSERT INTO things (id, amount) VALUES (3, 1)');
    const error = await testDb.db.query('INSERT INTO things (id, amount) VALUES (3, 1)').catch((e: unknown) => e);
    expect(isUniqueViolation(error)).toBe(true);
    expect(isUniqueViolation(error, 'things_pkey')).toBe(true);
    expect(isUniqueViolation(error, 'other')).toBe(false);
  });
});
