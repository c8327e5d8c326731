import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { enqueueMessage, handleOnce } from '../bus/index.js';
import type { Tx } from '../db/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { countStatements, NO_SCOPE, statementLabel, type StatementCounter } from './statement-counter.js';

describe('statement counter', () => {
  let testDb: TestDatabase;
  let counter: StatementCounter;
  let scope: string | undefined;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    await testDb.db.exec('CREATE TABLE counted_things (id int PRIMARY KEY, note text NOT NULL)');
    counter = countStatements(testDb.db, { scope: () => scope });
  });
  afterAll(() => testDb?.dispose());
  beforeEach(async () => {
    await testDb.db.query('DELETE FROM counted_things');
    scope = undefined;
    counter.reset();
  });

  const noteCount = async () => Number((await testDb.db.query<{ n: bigint }>('SELECT count(*) AS n FROM counted_things')).rows[0]?.n);

  it('counts each query and exec on the database as one statement, outside any transaction', async () => {
    const { db } = counter;
    await db.query('INSERT INTO counted_things (id, note) VALUES ($1, $2)', [1, 'a']);
    await db.query('INSERT INTO counted_things (id, note) VALUES ($1, $2)', [2, 'b']);
    const { rows } = await db.query<{ note: string }>('SELECT note FROM counted_things WHERE id = $1', [2]);
    expect(rows).toEqual([{ note: 'b' }]); // results pass through
    await db.exec(`UPDATE counted_things SET note = 'c' WHERE id = 1`);

    const counts = counter.counts();
    expect(counts).toMatchObject({ statements: 4, transactions: 0 });
    expect(counts.byLabel).toEqual(
      new Map([
        ['INSERT INTO counted_things (…) VALUES (…)', 2],
        ['SELECT note FROM counted_things WHERE id = $1', 1],
        [`UPDATE counted_things SET note = 'c' WHERE id = 1`, 1],
      ]),
    );
    expect(counts.shapes.every((shape) => !shape.inTransaction && shape.scope === NO_SCOPE)).toBe(true);
    expect(counts.transactionShapes).toEqual([]);
  });

  it('counts BEGIN and COMMIT around a committed transaction, and its statements and execs', async () => {
    const { db } = counter;
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO counted_things (id, note) VALUES ($1, $2)', [1, 'a']);
      await tx.exec(`INSERT INTO counted_things (id, note) VALUES (2, 'b')`);
      expect(tx.inTransaction).toBe(true);
    });
    expect(await noteCount()).toBe(2);

    const counts = counter.counts();
    expect(counts).toMatchObject({ statements: 4, transactions: 1 });
    expect(counts.byLabel.get('BEGIN')).toBe(1);
    expect(counts.byLabel.get('COMMIT')).toBe(1);
    expect(counts.byLabel.get('INSERT INTO counted_things (…) VALUES (…)')).toBe(2);
    expect(counts.transactionShapes).toEqual([
      { scope: NO_SCOPE, labels: ['BEGIN', 'INSERT INTO counted_things (…) VALUES (…)', 'INSERT INTO counted_things (…) VALUES (…)', 'COMMIT'], count: 1 },
    ]);
  });

  it('counts BEGIN and ROLLBACK around a transaction whose work throws, and what ran before the throw', async () => {
    const { db } = counter;
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO counted_things (id, note) VALUES ($1, $2)', [1, 'a']);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    // A statement the database refuses is still a statement sent, and rolls the transaction back.
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO counted_things (id, note) VALUES ($1, $2)', [1, 'a']);
        await tx.query('INSERT INTO counted_things (id, note) VALUES ($1, $2)', [1, 'again']);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await noteCount()).toBe(0);

    const counts = counter.counts();
    expect(counts).toMatchObject({ statements: 3 + 4, transactions: 2 });
    expect(counts.byLabel.get('ROLLBACK')).toBe(2);
    expect(counts.byLabel.has('COMMIT')).toBe(false);
    expect(counts.transactionShapes.map((shape) => shape.labels.at(-1))).toEqual(['ROLLBACK', 'ROLLBACK']);
  });

  it('counts SET TRANSACTION when an isolation level is given', async () => {
    await counter.db.transaction((tx) => tx.query('SELECT count(*) FROM counted_things'), { isolation: 'serializable' });
    const counts = counter.counts();
    expect(counts).toMatchObject({ statements: 4, transactions: 1 });
    expect(counts.transactionShapes[0]?.labels).toEqual(['BEGIN', 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'SELECT count(*) FROM counted_things', 'COMMIT']);
  });

  it('counts statements that helpers run for their callers, however deeply the transaction is passed down', async () => {
    const at = new Date();
    const key = { consumer: 'counter-test', messageId: 'm-1', topic: 'payment-settled' };
    const addThing = async (tx: Tx, id: number) => {
      await tx.query('INSERT INTO counted_things (id, note) VALUES ($1, $2)', [id, 'nested']);
      await enqueueMessage(tx, 'invite-requested', { paymentId: '7f9c2a55-4a8e-4f47-9a55-0b1d3c2e4f60' }, { at, dedupeKey: `counter-test:${id}` });
    };
    // handleOnce → db.transaction → claimMessage(tx) → effect → addThing(tx) → enqueueMessage(tx)
    const first = await handleOnce(counter.db, key, at, (tx) => addThing(tx, 1));
    const repeat = await handleOnce(counter.db, key, at, (tx) => addThing(tx, 2));
    expect(first.isDuplicate).toBe(false);
    expect(repeat.isDuplicate).toBe(true);
    expect(await noteCount()).toBe(1);

    const counts = counter.counts();
    // first: BEGIN, claim, insert, outbox, COMMIT; repeat: BEGIN, claim, COMMIT.
    expect(counts).toMatchObject({ statements: 5 + 3, transactions: 2 });
    expect(counts.byLabel.get('INSERT INTO processed_messages (…) VALUES (…) ON CONFLICT (…')).toBe(2);
    expect(counts.byLabel.get('INSERT INTO outbox (…) VALUES (…) ON CONFLICT (dedupe_key) …')).toBe(1);
    expect(counts.transactionShapes.map((shape) => shape.labels.length).sort()).toEqual([3, 5]);
    await testDb.db.query(`DELETE FROM outbox WHERE dedupe_key LIKE 'counter-test:%'`);
  });

  it('splits statements by scope, asked per statement and once per transaction', async () => {
    scope = 'settle-payment';
    await counter.db.transaction(async (tx) => {
      scope = 'somewhere else'; // a transaction belongs to where it began
      await tx.query('SELECT 1');
    });
    await counter.db.query('SELECT 2');
    const shapes = counter.counts().shapes.map(({ label, scope: where, inTransaction, count }) => `${where} ${inTransaction ? 'tx' : '--'} ${label} ×${count}`);
    expect(shapes.sort()).toEqual(['settle-payment tx BEGIN ×1', 'settle-payment tx COMMIT ×1', 'settle-payment tx SELECT 1 ×1', 'somewhere else -- SELECT 2 ×1']);
  });

  it('starts from zero after reset', async () => {
    await counter.db.transaction((tx) => tx.query('SELECT 1'));
    counter.reset();
    expect(counter.counts()).toMatchObject({ statements: 0, transactions: 0, byLabel: new Map(), shapes: [], transactionShapes: [] });
    await counter.db.query('SELECT 1');
    expect(counter.counts()).toMatchObject({ statements: 1, transactions: 0 });
  });
});

describe('statementLabel', () => {
  it('keeps the table and the condition in sight and cuts at 60 characters', () => {
    expect(statementLabel('SELECT 1')).toBe('SELECT 1');
    expect(statementLabel('  select id\n  from payouts\n -- why\n where state = $1  ')).toBe('select id from payouts where state = $1');
    expect(statementLabel('SELECT p.id, p.status, p.channel_id, p.amount_units FROM payments p WHERE p.id = $1 FOR UPDATE')).toBe(
      'SELECT … FROM payments p WHERE p.id = $1 FOR UPDATE',
    );
    expect(statementLabel('SELECT a, (SELECT max(x) FROM t2) AS m, coalesce(b, 0) AS bb FROM t WHERE c IN (SELECT d FROM e)')).toBe(
      'SELECT … FROM t WHERE c IN (SELECT d FROM e)',
    );
    expect(statementLabel(`INSERT INTO ledger_entries (transaction_id, account_id, amount) VALUES ($1, $2, $3), ($1, $4, $5) RETURNING id`)).toBe(
      'INSERT INTO ledger_entries (…) VALUES (…) RETURNING id',
    );
    expect(statementLabel(`UPDATE payouts SET state = $2, updated_at = $3, attempts = attempts + 1 WHERE id = $1 AND state = 'quoted'`)).toBe(
      `UPDATE payouts SET … WHERE id = $1 AND state = 'quoted'`,
    );
    const long = statementLabel(`WITH due AS (SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED) UPDATE outbox SET attempts = attempts + 1`);
    expect(long).toHaveLength(60);
    expect(long.endsWith('…')).toBe(true);
  });
});
