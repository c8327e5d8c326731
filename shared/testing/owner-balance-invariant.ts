import type { Queryable } from '../db/index.js';
import { splitFee } from '../money/index.js';

/** One owner balance that the ledger and the payment and payout rows disagree on. */
export interface OwnerBalanceMismatch {
  channelId: string;
  asset: string;
  ledger: bigint;
  expected: bigint;
}

/**
 * "Every unit booked", the owners' half: for every channel and asset, the owner's ledger balance
 * equals what the rows outside the ledger say it must be —
 *
 *   settled net (each payment's booked outcome less the platform fee, split as settlement splits it:
 *   the settled part and any later increase each rounded on their own), less what a refund took back,
 *   − payouts claimed and not given back (every state but failed, refunded and cancelled),
 *   − ETH shares put into parking batches that did not fail, + USDT shares those batches distributed.
 *
 * The ledger is read only for the balance compared and for the owner's part of a refund (which
 * depends on the balance at that moment).
 */
export async function findOwnerBalanceMismatches(q: Queryable, platformFeeBps: number): Promise<OwnerBalanceMismatch[]> {
  const expected = new Map<string, bigint>();
  const add = (channelId: string, asset: string, units: bigint) => {
    const key = `${channelId}|${asset}`;
    expected.set(key, (expected.get(key) ?? 0n) + units);
  };

  const { rows: payments } = await q.query<{ channel_id: string; asset: string; settled: string; booked: string }>(
    `SELECT k.channel_id, p.outcome_asset AS asset, p.settled_outcome_units::text AS settled, p.booked_outcome_units::text AS booked
       FROM payments p JOIN checkouts k ON k.id = p.checkout_id WHERE p.booked_outcome_units IS NOT NULL`,
  );
  for (const payment of payments) {
    const settled = BigInt(payment.settled);
    const increase = BigInt(payment.booked) - settled;
    add(payment.channel_id, payment.asset, splitFee(settled, platformFeeBps).net + (increase > 0n ? splitFee(increase, platformFeeBps).net : 0n));
  }
  const { rows: refunds } = await q.query<{ channel_id: string; asset: string; units: string }>(
    `SELECT a.channel_id, e.asset, e.amount::text AS units FROM ledger_transactions t
       JOIN ledger_entries e ON e.transaction_id = t.id JOIN ledger_accounts a ON a.id = e.account_id
      WHERE t.kind = 'payment_refunded' AND a.channel_id IS NOT NULL`,
  );
  for (const refund of refunds) add(refund.channel_id, refund.asset, -BigInt(refund.units));

  const { rows: payouts } = await q.query<{ channel_id: string; asset: string; units: string }>(
    `SELECT channel_id, asset, sum(amount_units)::text AS units FROM payouts
      WHERE channel_id IS NOT NULL AND state NOT IN ('failed', 'refunded', 'cancelled') GROUP BY channel_id, asset`,
  );
  for (const payout of payouts) add(payout.channel_id, payout.asset, -BigInt(payout.units));

  const { rows: shares } = await q.query<{ channel_id: string; from_asset: string; to_asset: string; from_units: string; to_units: string | null; state: string }>(
    `SELECT s.channel_id, b.from_asset, b.to_asset, s.from_units::text, s.to_units::text, b.state
       FROM conversion_batch_shares s JOIN conversion_batches b ON b.id = s.batch_id WHERE b.state <> 'failed'`,
  );
  for (const share of shares) {
    add(share.channel_id, share.from_asset, -BigInt(share.from_units));
    if (share.state === 'distributed' && share.to_units !== null) add(share.channel_id, share.to_asset, BigInt(share.to_units));
  }

  const { rows: ledger } = await q.query<{ channel_id: string; asset: string; balance: string }>(
    `SELECT a.channel_id, a.asset, (-coalesce(sum(e.amount), 0))::text AS balance
       FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
      WHERE a.channel_id IS NOT NULL GROUP BY a.channel_id, a.asset`,
  );
  const mismatches: OwnerBalanceMismatch[] = [];
  const seen = new Set<string>();
  for (const row of ledger) {
    const key = `${row.channel_id}|${row.asset}`;
    seen.add(key);
    const want = expected.get(key) ?? 0n;
    if (BigInt(row.balance) !== want) mismatches.push({ channelId: row.channel_id, asset: row.asset, ledger: BigInt(row.balance), expected: want });
  }
  for (const [key, want] of expected) {
    if (seen.has(key) || want === 0n) continue;
    const [channelId = '', asset = ''] = key.split('|');
    mismatches.push({ channelId, asset, ledger: 0n, expected: want });
  }
  return mismatches;
}
