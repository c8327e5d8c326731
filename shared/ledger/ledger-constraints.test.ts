import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../db/index.js';
import { createTestDatabase, databaseRefusalOf, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, creditOwner, insertChannel } from '../testing/fixtures.js';

// These tests bypass shared/ledger and write SQL directly: the guarantees must hold for any writer.


describe('ledger tables', () => {
  let testDb: TestDatabase;
  let accounts: Record<'hotEth' | 'capitalEth' | 'hotUsdt' | 'capitalUsdt', string>;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const { rows } = await testDb.db.query<{ id: string; code: string }>(
      `INSERT INTO ledger_accounts (code, asset, type, is_negative_balance_allowed) VALUES
         ('hot_wallet:eth', 'ETH', 'asset', true),
         ('platform:capital:eth', 'ETH', 'equity', true),
         ('hot_wallet:usdt_erc20', 'USDT_ERC20', 'asset', true),
         ('platform:capital:usdt_erc20', 'USDT_ERC20', 'equity', true)
       RETURNING id, code`,
    );
    const byCode = new Map(rows.map((row) => [row.code, row.id]));
    accounts = {
      hotEth: byCode.get('hot_wallet:eth') ?? '',
      capitalEth: byCode.get('platform:capital:eth') ?? '',
      hotUsdt: byCode.get('hot_wallet:usdt_erc20') ?? '',
      capitalUsdt: byCode.get('platform:capital:usdt_erc20') ?? '',
    };
  });
  afterAll(() => testDb.dispose());

  /**
   * Inserts a transaction header and raw entries `[account id, asset, amount]` in one DB transaction,
   * one statement each: such a writer defers the checks to its commit (sql/020).
   */
  async function insertRaw(entries: Array<[string, string, string]>, declaredCount = entries.length): Promise<string> {
    return testDb.db.transaction(async (tx) => {
      await tx.query('SET CONSTRAINTS ledger_transactions_balanced, ledger_entries_balanced DEFERRED');
      const id = randomUUID();
      await tx.query(
        `INSERT INTO ledger_transactions (id, kind, idempotency_key, occurred_at, entry_count)
         VALUES ($1, 'capital', $2, $3, $4)`,
        [id, `raw:${id}`, FIXTURE_NOW, declaredCount],
      );
      await insertEntries(tx, id, entries);
      return id;
    });
  }

  async function insertEntries(q: Queryable, transactionId: string, entries: Array<[string, string, string]>, firstLine = 1) {
    for (const [index, [accountId, asset, amount]] of entries.entries()) {
      await q.query('INSERT INTO ledger_entries (transaction_id, line, account_id, asset, amount) VALUES ($1, $2, $3, $4, $5)', [
        transactionId,
        firstLine + index,
        accountId,
        asset,
        amount,
      ]);
    }
  }

  it('accepts a transaction balanced in every asset', async () => {
    const id = await insertRaw([
      [accounts.hotEth, 'ETH', '1000000000000000000'],
      [accounts.capitalEth, 'ETH', '-1000000000000000000'],
      [accounts.hotUsdt, 'USDT_ERC20', '5000000'],
      [accounts.capitalUsdt, 'USDT_ERC20', '-5000000'],
    ]);
    const { rows } = await testDb.db.query('SELECT 1 FROM ledger_entries WHERE transaction_id = $1', [id]);
    expect(rows).toHaveLength(4);
  });

  it('rejects an unbalanced transaction at commit', async () => {
    const error = await databaseRefusalOf(
      insertRaw([
        [accounts.hotEth, 'ETH', '100'],
        [accounts.capitalEth, 'ETH', '-99'],
      ]),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'ledger_transactions_balanced' });
  });

  it('checks, without deferral, at the end of the statement: a header alone is refused, a header with its entries in one statement is not', async () => {
    const alone = await databaseRefusalOf(
      testDb.db.query(
        `INSERT INTO ledger_transactions (kind, idempotency_key, occurred_at, entry_count) VALUES ('capital', $1, $2, 2)`,
        [`raw:${randomUUID()}`, FIXTURE_NOW],
      ),
    );
    expect(alone).toMatchObject({ code: '23514', constraint: 'ledger_transactions_complete' });

    const post = (amounts: [string, string]) =>
      testDb.db.query(
        `WITH posted AS (
           INSERT INTO ledger_transactions (kind, idempotency_key, occurred_at, entry_count) VALUES ('capital', $1, $2, 2) RETURNING id)
         INSERT INTO ledger_entries (transaction_id, line, account_id, asset, amount)
         SELECT posted.id, line.number, line.account_id, 'ETH', line.amount
           FROM posted CROSS JOIN (VALUES (1::smallint, $3::uuid, $5::numeric), (2::smallint, $4::uuid, $6::numeric)) AS line (number, account_id, amount)`,
        [`raw:${randomUUID()}`, FIXTURE_NOW, accounts.hotEth, accounts.capitalEth, ...amounts],
      );
    await expect(post(['7', '-7'])).resolves.toMatchObject({ rowCount: 2 });
    expect(await databaseRefusalOf(post(['7', '-6']))).toMatchObject({ code: '23514', constraint: 'ledger_transactions_balanced' });
  });

  it('rejects a transaction balanced in total but not per asset', async () => {
    const error = await databaseRefusalOf(
      insertRaw([
        [accounts.hotEth, 'ETH', '100'],
        [accounts.capitalUsdt, 'USDT_ERC20', '-100'],
      ]),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'ledger_transactions_balanced' });
  });

  it('rejects a transaction without entries', async () => {
    const error = await databaseRefusalOf(insertRaw([], 2));
    expect(error).toMatchObject({ code: '23514', constraint: 'ledger_transactions_complete' });
  });

  it('rejects a transaction with fewer entries than it declares', async () => {
    const error = await databaseRefusalOf(
      insertRaw(
        [
          [accounts.hotEth, 'ETH', '100'],
          [accounts.capitalEth, 'ETH', '-100'],
        ],
        3,
      ),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'ledger_transactions_complete' });
  });

  it('rejects entries added later to a committed transaction, even balanced ones', async () => {
    const id = await insertRaw([
      [accounts.hotEth, 'ETH', '7'],
      [accounts.capitalEth, 'ETH', '-7'],
    ]);
    const error = await databaseRefusalOf(
      testDb.db.transaction((tx) =>
        insertEntries(
          tx,
          id,
          [
            [accounts.hotEth, 'ETH', '1'],
            [accounts.capitalEth, 'ETH', '-1'],
          ],
          3,
        ),
      ),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'ledger_transactions_complete' });
  });

  it('rejects an entry whose asset is not its account’s asset', async () => {
    const error = await databaseRefusalOf(
      insertRaw([
        [accounts.hotEth, 'USDT_ERC20', '100'],
        [accounts.capitalUsdt, 'USDT_ERC20', '-100'],
      ]),
    );
    expect(error).toMatchObject({ code: '23503', constraint: 'ledger_entries_account_id_asset_fkey' });
  });

  it('rejects a zero amount', async () => {
    const error = await databaseRefusalOf(
      insertRaw([
        [accounts.hotEth, 'ETH', '0'],
        [accounts.capitalEth, 'ETH', '0'],
      ]),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'ledger_entries_amount_check' });
  });

  it('rejects an owner balance going below zero', async () => {
    const channel = await insertChannel(testDb.db);
    await creditOwner(testDb.db, channel.id, 'ETH', 10n);
    const { rows } = await testDb.db.query<{ id: string }>('SELECT id FROM ledger_accounts WHERE code = $1', [
      `owner:${channel.id}:eth`,
    ]);
    const owner = rows[0]?.id ?? '';
    const error = await databaseRefusalOf(
      insertRaw([
        [owner, 'ETH', '11'],
        [accounts.capitalEth, 'ETH', '-11'],
      ]),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'ledger_accounts_no_overdraft' });
  });

  it('rejects account codes that do not end in their asset or name an unknown channel', async () => {
    const suffix = await databaseRefusalOf(
      testDb.db.query(
        `INSERT INTO ledger_accounts (code, asset, type, is_negative_balance_allowed) VALUES ('hot_wallet:btc', 'ETH', 'asset', true)`,
      ),
    );
    expect(suffix.code).toBe('23514');
    const channelId = randomUUID();
    const ghost = await databaseRefusalOf(
      testDb.db.query(
        `INSERT INTO ledger_accounts (code, asset, type, channel_id, is_negative_balance_allowed)
         VALUES ($1, 'ETH', 'liability', $2, false)`,
        [`owner:${channelId}:eth`, channelId],
      ),
    );
    expect(ghost.code).toBe('23503');
    const overdraft = await databaseRefusalOf(
      testDb.db.query(
        `INSERT INTO ledger_accounts (code, asset, type, channel_id, is_negative_balance_allowed)
         VALUES ($1, 'ETH', 'liability', $2, true)`,
        [`owner:${(await insertChannel(testDb.db)).id}:eth`, null],
      ),
    );
    expect(overdraft.code).toBe('23514');
  });

  describe('immutability', () => {
    let transactionId: string;
    beforeAll(async () => {
      transactionId = await insertRaw([
        [accounts.hotEth, 'ETH', '3'],
        [accounts.capitalEth, 'ETH', '-3'],
      ]);
    });

    it.each([
      ['updating an entry', 'UPDATE ledger_entries SET amount = 4 WHERE transaction_id = $1 AND line = 1'],
      ['deleting an entry', 'DELETE FROM ledger_entries WHERE transaction_id = $1'],
      ['updating a transaction', `UPDATE ledger_transactions SET occurred_at = now() WHERE id = $1`],
      ['deleting a transaction', 'DELETE FROM ledger_transactions WHERE id = $1'],
      ['updating an account', `UPDATE ledger_accounts SET type = 'income' WHERE id IN (SELECT account_id FROM ledger_entries WHERE transaction_id = $1)`],
    ])('refuses %s', async (_name, sql) => {
      const error = await databaseRefusalOf(testDb.db.query(sql, [transactionId]));
      expect(error.code).toBe('23001');
      const { rows } = await testDb.db.query<{ amount: string }>(
        'SELECT amount::text AS amount FROM ledger_entries WHERE transaction_id = $1 ORDER BY line',
        [transactionId],
      );
      expect(rows.map((row) => row.amount)).toEqual(['3', '-3']);
    });

    it.each(['ledger_entries', 'ledger_transactions', 'ledger_accounts'])('refuses to truncate %s', async (table) => {
      const error = await databaseRefusalOf(testDb.db.query(`TRUNCATE ${table} CASCADE`));
      expect(error.code).toBe('23001');
    });
  });
});
