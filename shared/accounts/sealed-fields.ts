import { fieldContext, type SealedTable, sealedColumn } from '../field-crypto/index.js';

/** The accounts/ tables' sealed columns, for `npm run reencrypt` (shared/field-crypto). */
export const accountSealedTables: readonly SealedTable[] = [
  {
    table: 'accounts',
    columns: [sealedColumn.email('email', 'email_ciphertext', fieldContext.email, { isIndexed: true })],
    selectBatch: `SELECT id, id AS owner, email, email_ciphertext FROM accounts
                   WHERE email IS NOT NULL OR email_ciphertext NOT LIKE $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    update: async (tx, id, values) => {
      const email = values.email_ciphertext;
      if (!email) return;
      await tx.query(
        `UPDATE accounts SET email = NULL, email_ciphertext = $2, email_index = coalesce($3, email_index), email_hint = coalesce($4, email_hint) WHERE id = $1`,
        [id, email.ciphertext, email.index, email.hint],
      );
    },
  },
  {
    table: 'email_tokens',
    columns: [sealedColumn.email('new_email', 'new_email_ciphertext', fieldContext.newEmail)],
    selectBatch: `SELECT id, account_id AS owner, new_email, new_email_ciphertext FROM email_tokens
                   WHERE new_email IS NOT NULL OR new_email_ciphertext NOT LIKE $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    update: async (tx, id, values) => {
      const email = values.new_email_ciphertext;
      if (!email) return;
      await tx.query('UPDATE email_tokens SET new_email = NULL, new_email_ciphertext = $2 WHERE id = $1', [id, email.ciphertext]);
    },
  },
];
