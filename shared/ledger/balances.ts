import type { Queryable } from '../db/index.js';
import { describeAccountCode, normalSign } from './account-codes.js';

/**
 * The balance of an account in its normal direction, in base units of `asset`: what a liability or
 * income account holds is positive when credited, what an asset or expense account holds is positive
 * when debited. So an owner's balance (what we owe them), the hot wallet and platform fees all read
 * as positive amounts. An account that was never posted to has balance 0.
 *
 * @throws PermanentError `ledger_invalid_account` when the code is malformed or not in `asset`.
 */
export async function balanceOf(q: Queryable, accountCode: string, asset: string): Promise<bigint> {
  const spec = describeAccountCode(accountCode, asset);
  const { rows } = await q.query<{ total: string | null }>(
    `SELECT sum(e.amount)::text AS total
       FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
      WHERE a.code = $1`,
    [accountCode],
  );
  return BigInt(rows[0]?.total ?? '0') * normalSign(spec.type);
}

/**
 * The signed sum (debits − credits) of every entry, per asset. In a sound ledger every value is 0;
 * reconciliation and tests check it.
 */
export async function sumLedgerByAsset(q: Queryable): Promise<Map<string, bigint>> {
  const { rows } = await q.query<{ asset: string; total: string }>(
    'SELECT asset, sum(amount)::text AS total FROM ledger_entries GROUP BY asset ORDER BY asset',
  );
  return new Map(rows.map((row) => [row.asset, BigInt(row.total)]));
}
