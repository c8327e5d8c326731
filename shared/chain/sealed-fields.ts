import { fieldContext, type SealedTable, sealedColumn } from '../field-crypto/index.js';

/**
 * The transfers' sealed recipient and signed bytes, for `npm run reencrypt` (shared/field-crypto).
 * The AAD owner is the payout (`payout_id`; `<payout_id>:<attempt>` for a replacement). A recipient
 * is sealed only where it is the owner's wallet (no swap): a swap's deposit address stays in clear,
 * so the database keeps checking it against the swap. Migration 033's guards allow exactly this step.
 */
export const chainTransferSealedTables: readonly SealedTable[] = [
  {
    table: 'chain_transfers',
    columns: [
      {
        ...sealedColumn.wallet('to_address', 'to_address_ciphertext', { hasHint: false }),
        context: fieldContext.transferRecipient,
      },
      { clear: 'signed_tx', ciphertext: 'signed_tx_ciphertext', context: (payoutId) => fieldContext.signedTransaction(payoutId, 1) },
    ],
    selectBatch: `SELECT t.id, t.payout_id AS owner,
                         CASE WHEN s.payout_id IS NULL THEN t.to_address END AS to_address, t.to_address_ciphertext,
                         t.signed_tx, t.signed_tx_ciphertext
                    FROM chain_transfers t LEFT JOIN swaps s ON s.payout_id = t.payout_id
                   WHERE (t.to_address IS NOT NULL AND s.payout_id IS NULL) OR t.signed_tx IS NOT NULL
                      OR t.to_address_ciphertext NOT LIKE $1 OR t.signed_tx_ciphertext NOT LIKE $1
                   ORDER BY t.id LIMIT $2 FOR UPDATE OF t SKIP LOCKED`,
    update: async (tx, id, values) => {
      const recipient = values.to_address_ciphertext;
      const bytes = values.signed_tx_ciphertext;
      await tx.query(
        `UPDATE chain_transfers
            SET to_address = CASE WHEN $2::text IS NULL THEN to_address END,
                to_address_ciphertext = coalesce($2, to_address_ciphertext),
                to_address_index = coalesce(to_address_index, $3),
                signed_tx = CASE WHEN $4::text IS NULL THEN signed_tx END,
                signed_tx_ciphertext = coalesce($4, signed_tx_ciphertext)
          WHERE id = $1`,
        [id, recipient?.ciphertext ?? null, recipient?.index ?? null, bytes?.ciphertext ?? null],
      );
    },
  },
  {
    table: 'chain_transfer_replacements',
    columns: [{ clear: 'signed_tx', ciphertext: 'signed_tx_ciphertext', context: (owner) => signedReplacementContext(owner) }],
    selectBatch: `SELECT payout_id || ':' || attempt AS id, payout_id || ':' || attempt AS owner, signed_tx, signed_tx_ciphertext
                    FROM chain_transfer_replacements
                   WHERE signed_tx IS NOT NULL OR signed_tx_ciphertext NOT LIKE $1
                   ORDER BY payout_id, attempt LIMIT $2 FOR UPDATE SKIP LOCKED`,
    update: async (tx, id, values) => {
      const [payoutId, attempt] = id.split(':');
      await tx.query(
        `UPDATE chain_transfer_replacements SET signed_tx = NULL, signed_tx_ciphertext = $3 WHERE payout_id = $1 AND attempt = $2`,
        [payoutId, Number(attempt), values.signed_tx_ciphertext?.ciphertext],
      );
    },
  },
];

/** `<payout_id>:<attempt>` → the replacement's AAD. */
function signedReplacementContext(owner: string): string {
  const [payoutId, attempt] = owner.split(':');
  return fieldContext.signedTransaction(payoutId ?? '', Number(attempt));
}
