import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { IPN_REPEAT_QUERY } from './ipn.js';

/**
 * The repeat read answers every duplicate IPN, so its plan must not depend on statistics the table
 * may not have yet (a new database, the first minutes after a deploy): with no statistics, an extra
 * `provider = …` condition once made the planner AND the digest index with the provider index and
 * walk every event. Shown on a copy of the table that was never analysed (a temporary table of the
 * same shape shadows it in this transaction).
 */
describe('the IPN repeat read', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.dispose());

  it('finds a body by its digest through the digest index alone, before the table has statistics', async () => {
    const plan = await testDb.db.transaction(async (tx) => {
      await tx.query(`CREATE TEMP TABLE payment_events (LIKE public.payment_events INCLUDING ALL) ON COMMIT DROP`);
      await tx.query(`ALTER TABLE payment_events SET (autovacuum_enabled = false)`);
      await tx.query(
        `INSERT INTO payment_events (provider, received_at, headers, body, signature_valid, provider_payment_id, order_id, provider_status, body_digest)
         SELECT 'nowpayments', now(), '{}'::jsonb, repeat('x', 900) || i, true, i::text, 'chk_' || i, 'finished', sha256(i::text::bytea)
           FROM generate_series(1, 3000) i`,
      );
      const digest = (await tx.query<{ digest: string }>(`SELECT encode(sha256('1234'::bytea), 'hex') AS digest`)).rows[0]?.digest;
      const found = await tx.query<{ isRepeat: boolean }>(IPN_REPEAT_QUERY, [digest]);
      expect(found.rows).toEqual([{ isRepeat: true }]);
      const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${IPN_REPEAT_QUERY.replace('$1', `'${digest}'`)}`);
      return JSON.stringify(rows[0]?.['QUERY PLAN']);
    });
    expect(plan).toMatch(/body_digest/);
    expect(plan).not.toMatch(/BitmapAnd|Seq Scan/);
    expect(plan.match(/"Index Name"/g)).toHaveLength(1);
  });
});
