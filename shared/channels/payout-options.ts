import * as z from 'zod';
import type { Queryable } from '../db/index.js';
import { findPayoutNetwork } from '../wallets/index.js';

export const PayoutOptionResourceSchema = z.object({
  currency: z.string(),
  network: z.string(),
  currencyName: z.string(),
  networkName: z.string(),
  /** What the network calls the tag beside the address ('memo', 'destination tag'); null when it has none. */
  extraIdName: z.string().nullable(),
  /** One sentence on what an address on this network looks like. */
  addressHint: z.string(),
});
export const PayoutOptionListResourceSchema = z.object({ options: z.array(PayoutOptionResourceSchema) });
export type PayoutOptionListResource = z.infer<typeof PayoutOptionListResourceSchema>;

/**
 * The (currency, network) pairs owners may choose for new payouts: enabled in `payout_options` and
 * known to the wallet validator, ordered by network then currency. Replaces the legacy
 * currency-network mapping endpoint.
 */
export async function listPayoutOptions(deps: { db: Queryable }): Promise<PayoutOptionListResource> {
  const { rows } = await deps.db.query<{ currency: string; network: string; currency_name: string; network_name: string; extra_id_name: string | null }>(
    'SELECT currency, network, currency_name, network_name, extra_id_name FROM payout_options WHERE is_enabled ORDER BY network, currency',
  );
  return {
    options: rows.flatMap((row) => {
      const rule = findPayoutNetwork(row.network);
      if (!rule?.currencies.includes(row.currency)) return [];
      return [{ currency: row.currency, network: row.network, currencyName: row.currency_name, networkName: row.network_name, extraIdName: row.extra_id_name, addressHint: rule.addressHint }];
    }),
  };
}
