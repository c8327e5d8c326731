import type { Queryable } from '../db/index.js';

/** States in which a payout will still take funds from the hot wallet: nothing is signed yet. */
export const NOT_YET_SIGNED_STATES = ['requested', 'held', 'deferred', 'quoted', 'swap_created'] as const;

/**
 * What the payouts not signed yet will take from the hot wallet, per asset, in base units (the
 * network fee of each ETH transfer comes on top). One statement.
 */
export async function queuedPayoutUnits(q: Queryable): Promise<Map<string, { units: bigint; payouts: number }>> {
  const { rows } = await q.query<{ asset: string; units: string; payouts: number }>(
    `SELECT asset, sum(amount_units)::text AS units, count(*)::int AS payouts FROM payouts WHERE state = ANY($1::text[]) GROUP BY asset`,
    [NOT_YET_SIGNED_STATES],
  );
  return new Map(rows.map((row) => [row.asset, { units: BigInt(row.units), payouts: row.payouts }]));
}
