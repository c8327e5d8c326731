import { type SealedTable, sealedColumn } from '../field-crypto/index.js';

/**
 * The payouts' and swaps' sealed destination, for `npm run reencrypt` (shared/field-crypto).
 * Conversion payouts (no owner) keep the platform's own hot wallet in clear. The guards of migration
 * 029 allow exactly this step: a clear value becomes NULL once as its ciphertext and index appear.
 */
export const payoutSealedTables: readonly SealedTable[] = [
  {
    table: 'payouts',
    columns: [
      sealedColumn.wallet('destination_wallet', 'destination_wallet_ciphertext', { hasHint: true }),
      sealedColumn.extraId('destination_extra_id', 'destination_extra_id_ciphertext', { isIndexed: true }),
    ],
    selectBatch: `SELECT id, owner_account_id AS owner, destination_wallet, destination_wallet_ciphertext, destination_extra_id, destination_extra_id_ciphertext
                    FROM payouts
                   WHERE owner_account_id IS NOT NULL
                     AND (destination_wallet IS NOT NULL OR destination_extra_id IS NOT NULL
                          OR destination_wallet_ciphertext NOT LIKE $1 OR destination_extra_id_ciphertext NOT LIKE $1)
                   ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    update: async (tx, id, values) => {
      const wallet = values.destination_wallet_ciphertext;
      const extraId = values.destination_extra_id_ciphertext;
      await tx.query(
        `UPDATE payouts SET destination_wallet = NULL, destination_extra_id = NULL,
                destination_wallet_ciphertext = coalesce($2, destination_wallet_ciphertext), destination_wallet_index = coalesce($3, destination_wallet_index),
                destination_wallet_hint = coalesce($4, destination_wallet_hint),
                destination_extra_id_ciphertext = coalesce($5, destination_extra_id_ciphertext), destination_extra_id_index = coalesce($6, destination_extra_id_index)
          WHERE id = $1`,
        [id, wallet?.ciphertext ?? null, wallet?.index ?? null, wallet?.hint ?? null, extraId?.ciphertext ?? null, extraId?.index ?? null],
      );
    },
  },
  {
    table: 'swaps',
    columns: [
      sealedColumn.wallet('payout_address', 'payout_address_ciphertext', { hasHint: false }),
      sealedColumn.extraId('payout_extra_id', 'payout_extra_id_ciphertext', { isIndexed: false }),
    ],
    selectBatch: `SELECT s.id, p.owner_account_id AS owner, s.payout_address, s.payout_address_ciphertext, s.payout_extra_id, s.payout_extra_id_ciphertext
                    FROM swaps s JOIN payouts p ON p.id = s.payout_id
                   WHERE p.owner_account_id IS NOT NULL
                     AND (s.payout_address IS NOT NULL OR s.payout_extra_id IS NOT NULL
                          OR s.payout_address_ciphertext NOT LIKE $1 OR s.payout_extra_id_ciphertext NOT LIKE $1)
                   ORDER BY s.id LIMIT $2 FOR UPDATE OF s SKIP LOCKED`,
    update: async (tx, id, values) => {
      const address = values.payout_address_ciphertext;
      const extraId = values.payout_extra_id_ciphertext;
      await tx.query(
        `UPDATE swaps SET payout_address = NULL, payout_extra_id = NULL,
                payout_address_ciphertext = coalesce($2, payout_address_ciphertext), payout_address_index = coalesce($3, payout_address_index),
                payout_extra_id_ciphertext = coalesce($4, payout_extra_id_ciphertext)
          WHERE id = $1`,
        [id, address?.ciphertext ?? null, address?.index ?? null, extraId?.ciphertext ?? null],
      );
    },
  },
];
