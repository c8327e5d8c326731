import { type SealedTable, sealedColumn } from '../field-crypto/index.js';

/** The channels' sealed payout wallet and extra id, for `npm run reencrypt` (shared/field-crypto). */
export const channelSealedTables: readonly SealedTable[] = [
  {
    table: 'channels',
    columns: [
      sealedColumn.wallet('payout_wallet', 'payout_wallet_ciphertext', { hasHint: true }),
      sealedColumn.extraId('payout_extra_id', 'payout_extra_id_ciphertext', { isIndexed: true }),
    ],
    selectBatch: `SELECT id, owner_account_id AS owner, payout_wallet, payout_wallet_ciphertext, payout_extra_id, payout_extra_id_ciphertext FROM channels
                   WHERE payout_wallet IS NOT NULL OR payout_extra_id IS NOT NULL OR payout_wallet_ciphertext NOT LIKE $1 OR payout_extra_id_ciphertext NOT LIKE $1
                   ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    update: async (tx, id, values) => {
      const wallet = values.payout_wallet_ciphertext;
      const extraId = values.payout_extra_id_ciphertext;
      // Only the sealed values change: the destination itself (and payout_destination_changed_at) does not.
      await tx.query(
        `UPDATE channels SET payout_wallet = NULL, payout_extra_id = NULL,
                payout_wallet_ciphertext = coalesce($2, payout_wallet_ciphertext), payout_wallet_index = coalesce($3, payout_wallet_index),
                payout_wallet_hint = coalesce($4, payout_wallet_hint),
                payout_extra_id_ciphertext = coalesce($5, payout_extra_id_ciphertext), payout_extra_id_index = coalesce($6, payout_extra_id_index)
          WHERE id = $1`,
        [id, wallet?.ciphertext ?? null, wallet?.index ?? null, wallet?.hint ?? null, extraId?.ciphertext ?? null, extraId?.index ?? null],
      );
    },
  },
];
