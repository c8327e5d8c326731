import type { Queryable } from '../db/index.js';
import type { LedgerTransaction, LedgerTransactionKind } from './ledger-types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A transaction with its entries in line order, or null when there is none with this id. */
export async function retrieveLedgerTransaction(q: Queryable, id: string): Promise<LedgerTransaction | null> {
  if (typeof id !== 'string' || !UUID.test(id)) return null;
  return findTransaction(q, 'id', id);
}

/** Reads one transaction by id or by idempotency key, with its entries. */
export async function findTransaction(q: Queryable, by: 'id' | 'idempotency_key', value: string): Promise<LedgerTransaction | null> {
  const { rows } = await q.query<{
    id: string;
    kind: LedgerTransactionKind;
    idempotency_key: string;
    occurred_at: Date;
    payment_id: string | null;
    payout_id: string | null;
    conversion_batch_id: string | null;
    reverses_transaction_id: string | null;
    description: string | null;
  }>(
    `SELECT id, kind, idempotency_key, occurred_at, payment_id, payout_id, conversion_batch_id,
            reverses_transaction_id, description
       FROM ledger_transactions WHERE ${by} = $1`,
    [value],
  );
  const row = rows[0];
  if (!row) return null;
  const { rows: entries } = await q.query<{ line: number; code: string; asset: string; amount: string }>(
    `SELECT e.line, a.code, e.asset, e.amount::text AS amount
       FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
      WHERE e.transaction_id = $1
      ORDER BY e.line`,
    [row.id],
  );
  return {
    id: row.id,
    kind: row.kind,
    idempotencyKey: row.idempotency_key,
    occurredAt: new Date(row.occurred_at),
    paymentId: row.payment_id,
    payoutId: row.payout_id,
    conversionBatchId: row.conversion_batch_id,
    reversesTransactionId: row.reverses_transaction_id,
    description: row.description,
    entries: entries.map((entry) => ({
      line: Number(entry.line),
      account: entry.code,
      asset: entry.asset,
      amount: BigInt(entry.amount),
    })),
  };
}

/** An asset a channel has ledger accounts in, with the asset's symbol and decimals. */
export interface ChannelLedgerAsset {
  asset: string;
  symbol: string;
  decimals: number;
}

/** The assets of a channel's ledger accounts (one row per account), by asset. */
export async function listChannelLedgerAssets(q: Queryable, channelId: string): Promise<ChannelLedgerAsset[]> {
  const { rows } = await q.query<ChannelLedgerAsset>(
    `SELECT la.asset, a.symbol, a.decimals FROM ledger_accounts la JOIN assets a ON a.code = la.asset
       WHERE la.channel_id = $1 ORDER BY la.asset`,
    [channelId],
  );
  return rows;
}
