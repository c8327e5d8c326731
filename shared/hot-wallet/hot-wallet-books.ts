import type { Queryable } from '../db/index.js';
import { ledgerAccountCodes } from '../ledger/index.js';
import type { HotWalletAsset } from './hot-wallet-assets.js';

/**
 * A hot-wallet transfer whose ledger effects may differ from its effect on chain: not settled yet
 * in the database, or settled with a ledger transaction still missing. Amounts in base units.
 */
export interface TransferInBooks {
  payoutId: string;
  asset: string;
  amountUnits: bigint;
  /** Every signed attempt, oldest first (a replacement shares the nonce: at most one is mined). */
  txHashes: string[];
  /** The receipt the database recorded (status `confirmed` or `failed`), if any. */
  recorded: { isSuccess: boolean; feeWei: bigint; txHash: string } | null;
  /** What the ledger took out of `hot_wallet:<asset>` for this transfer: `payout_funded` less a reverted transfer's `payout_returned`. */
  ledgerValueOutUnits: bigint;
  /** Gas the ledger took out of `hot_wallet:eth` for it (`network_fee`), wei. */
  ledgerGasOutWei: bigint;
}

/** A payment whose outcome reached the wallet (NowPayments said `finished` or `partially_paid`) beyond what the ledger booked. */
export interface PaymentInBooks {
  paymentId: string;
  status: string;
  asset: string;
  /** The outcome NowPayments reported. */
  arrivedUnits: bigint;
  /** What the ledger put in `hot_wallet:<asset>` for it so far. */
  bookedUnits: bigint;
}

/** The database's side of the comparison, read in one snapshot. */
export interface HotWalletBooks {
  /** `hot_wallet:<asset>` balances (0 for an asset never booked). */
  ledgerUnits: Map<HotWalletAsset, bigint>;
  /** `wallet_nonces.next_nonce`: transactions the gateway signed; null before the first. */
  nextNonce: bigint | null;
  transfers: TransferInBooks[];
  payments: PaymentInBooks[];
}

const HOT_WALLET_ENTRIES = `SELECT lt.payout_id, lt.payment_id, lt.kind, a.code, e.amount
     FROM ledger_transactions lt
     JOIN ledger_entries e ON e.transaction_id = lt.id
     JOIN ledger_accounts a ON a.id = e.account_id
    WHERE a.code LIKE 'hot_wallet:%'`;

/**
 * Reads the books in `q`, which must be one snapshot (a REPEATABLE READ transaction) so that the
 * ledger balance and the in-flight terms describe the same moment.
 */
export async function readHotWalletBooks(q: Queryable, wallet: { chainId: bigint; address: string }, assets: readonly HotWalletAsset[]): Promise<HotWalletBooks> {
  const address = wallet.address.toLowerCase();
  const { rows: balances } = await q.query<{ code: string; units: string }>(
    `SELECT a.code, coalesce(sum(e.amount), 0)::text AS units
       FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
      WHERE a.code = ANY($1::text[]) GROUP BY a.code`,
    [assets.map((asset) => ledgerAccountCodes.hotWallet(asset))],
  );
  const ledgerUnits = new Map<HotWalletAsset, bigint>(
    assets.map((asset) => [asset, BigInt(balances.find((row) => row.code === ledgerAccountCodes.hotWallet(asset))?.units ?? '0')]),
  );

  const { rows: nonces } = await q.query<{ next_nonce: bigint }>('SELECT next_nonce FROM wallet_nonces WHERE chain_id = $1 AND address = $2', [
    wallet.chainId.toString(),
    address,
  ]);

  // Only transfers whose books may still differ from the chain: the rest are fully booked, so their
  // ledger effects equal their effects on chain (value, gas and any return) to the unit.
  const { rows: transfers } = await q.query<{
    payout_id: string;
    asset: string;
    amount_units: string;
    tx_hash: string;
    replacements: string[] | null;
    status: string;
    fee_units: string | null;
    mined_tx_hash: string | null;
    value_out: string;
    gas_out: string;
  }>(
    `WITH open AS (
       SELECT t.* FROM chain_transfers t
        WHERE t.chain_id = $1 AND t.from_address = $2
          AND (t.status IN ('signed', 'broadcast')
               OR NOT EXISTS (SELECT 1 FROM ledger_transactions f WHERE f.payout_id = t.payout_id AND f.kind = 'payout_funded')
               OR (t.fee_units > 0 AND NOT EXISTS (SELECT 1 FROM ledger_transactions g WHERE g.payout_id = t.payout_id AND g.kind = 'network_fee'))
               OR (t.status = 'failed' AND NOT EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.payout_id = t.payout_id AND r.kind = 'payout_returned')))
     ), booked AS (
       SELECT h.payout_id,
              coalesce(-sum(h.amount) FILTER (WHERE h.kind IN ('payout_funded', 'payout_returned') AND h.code = 'hot_wallet:' || lower(o.asset)), 0) AS value_out,
              coalesce(-sum(h.amount) FILTER (WHERE h.kind = 'network_fee' AND h.code = 'hot_wallet:eth'), 0) AS gas_out
         FROM (${HOT_WALLET_ENTRIES} AND lt.payout_id IN (SELECT payout_id FROM open)) h
         JOIN open o ON o.payout_id = h.payout_id
        GROUP BY h.payout_id
     )
     SELECT o.payout_id, o.asset, o.amount_units::text, o.tx_hash, o.status, o.fee_units::text, o.mined_tx_hash,
            (SELECT array_agg(r.tx_hash ORDER BY r.attempt) FROM chain_transfer_replacements r WHERE r.payout_id = o.payout_id) AS replacements,
            coalesce(b.value_out, 0)::text AS value_out, coalesce(b.gas_out, 0)::text AS gas_out
       FROM open o LEFT JOIN booked b ON b.payout_id = o.payout_id
      ORDER BY o.nonce`,
    [wallet.chainId.toString(), address],
  );

  // The prefilter on booked_outcome_units keeps this to payments with something unbooked; the
  // amount itself comes from the ledger.
  const { rows: payments } = await q.query<{ id: string; status: string; asset: string; arrived: string; booked: string }>(
    `SELECT p.id, p.status, p.outcome_asset AS asset, p.outcome_units::text AS arrived,
            coalesce((SELECT sum(h.amount) FROM (${HOT_WALLET_ENTRIES} AND lt.payment_id = p.id) h
                       WHERE h.code = 'hot_wallet:' || lower(p.outcome_asset)), 0)::text AS booked
       FROM payments p
      WHERE p.status IN ('finished', 'partially_paid') AND p.outcome_asset = ANY($1::text[])
        AND p.outcome_units > coalesce(p.booked_outcome_units, 0)
      ORDER BY p.created_at`,
    [assets],
  );

  return {
    ledgerUnits,
    nextNonce: nonces[0] ? BigInt(nonces[0].next_nonce) : null,
    transfers: transfers.map((row) => {
      const isSettled = row.status === 'confirmed' || row.status === 'failed';
      return {
        payoutId: row.payout_id,
        asset: row.asset,
        amountUnits: BigInt(row.amount_units),
        txHashes: [row.tx_hash, ...(row.replacements ?? [])],
        recorded: isSettled ? { isSuccess: row.status === 'confirmed', feeWei: BigInt(row.fee_units ?? '0'), txHash: row.mined_tx_hash ?? row.tx_hash } : null,
        ledgerValueOutUnits: BigInt(row.value_out),
        ledgerGasOutWei: BigInt(row.gas_out),
      };
    }),
    payments: payments
      .map((row) => ({ paymentId: row.id, status: row.status, asset: row.asset, arrivedUnits: BigInt(row.arrived), bookedUnits: BigInt(row.booked) }))
      .filter((payment) => payment.arrivedUnits > payment.bookedUnits),
  };
}
