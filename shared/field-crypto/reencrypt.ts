import type { Db } from '../db/index.js';
import type { FieldCipher } from './field-cipher.js';
import { fieldContext } from './field-cipher.js';
import { maskAddress, maskEmail } from './masking.js';

/** One value sealed at rest: its clear column (rows from before migration 029), ciphertext, and what sits beside it. */
export interface SealedColumn {
  clear: string;
  ciphertext: string;
  context: (ownerAccountId: string) => string;
  index?: { column: string; of: (cipher: FieldCipher, value: string) => Buffer };
  hint?: { column: string; of: (value: string) => string };
}

/** A table with sealed columns, the SQL naming each row's owner account (the AAD), and which rows count. */
export interface SealedTable {
  table: string;
  owner: string;
  /** Rows left alone, e.g. conversion payouts: their destination is the platform's own wallet. */
  only?: string;
  columns: SealedColumn[];
}

const wallet = (clear: string, extraId: string, prefix: string, hasHint: boolean, hasExtraIndex: boolean): SealedColumn[] => [
  {
    clear,
    ciphertext: `${clear}_ciphertext`,
    context: fieldContext.payoutWallet,
    index: { column: `${prefix}_index`, of: (cipher, value) => cipher.walletIndex(value) },
    ...(hasHint ? { hint: { column: `${clear}_hint`, of: maskAddress } } : {}),
  },
  {
    clear: extraId,
    ciphertext: `${extraId}_ciphertext`,
    context: fieldContext.payoutExtraId,
    ...(hasExtraIndex ? { index: { column: `${extraId}_index`, of: (cipher: FieldCipher, value: string) => cipher.extraIdIndex(value) } } : {}),
  },
];

/** Every sealed column of migration 029, in an order that keeps each row's checks satisfied. */
export const SEALED_TABLES: readonly SealedTable[] = [
  {
    table: 'accounts',
    owner: 'id',
    columns: [{ clear: 'email', ciphertext: 'email_ciphertext', context: fieldContext.email, index: { column: 'email_index', of: (cipher, value) => cipher.emailIndex(value) }, hint: { column: 'email_hint', of: maskEmail } }],
  },
  { table: 'email_tokens', owner: 'account_id', columns: [{ clear: 'new_email', ciphertext: 'new_email_ciphertext', context: fieldContext.newEmail }] },
  { table: 'channels', owner: 'owner_account_id', columns: wallet('payout_wallet', 'payout_extra_id', 'payout_wallet', true, true) },
  { table: 'payouts', owner: 'owner_account_id', only: 'owner_account_id IS NOT NULL', columns: wallet('destination_wallet', 'destination_extra_id', 'destination_wallet', true, true) },
  { table: 'swaps', owner: '(SELECT p.owner_account_id FROM payouts p WHERE p.id = swaps.payout_id)', columns: wallet('payout_address', 'payout_extra_id', 'payout_address', false, false) },
];

export interface ReencryptReport {
  table: string;
  /** Values that were in clear and are now sealed (the clear column nulled). */
  sealed: number;
  /** Values re-wrapped from an older key id to the current one. */
  rewrapped: number;
}

/**
 * `npm run reencrypt`: seals every value still in clear and re-wraps every value under an older key
 * id to the current one. Works in batches of `batchSize` rows, each its own transaction with its rows
 * locked `FOR UPDATE SKIP LOCKED`: an interrupted run keeps what it committed and the next run picks
 * up the rest (resumable); a row already current is never selected (idempotent); two runs at once
 * split the rows between them. Re-wrapping keeps the value's ciphertext and index, so nothing that
 * compares indexes (logins, "wallet changed?") notices. `stopAfterBatches` bounds a run (tests).
 */
export async function reencryptFields(
  db: Db,
  cipher: FieldCipher,
  options: { batchSize?: number; stopAfterBatches?: number; tables?: readonly SealedTable[] } = {},
): Promise<ReencryptReport[]> {
  const batchSize = options.batchSize ?? 200;
  let batchesLeft = options.stopAfterBatches ?? Number.POSITIVE_INFINITY;
  const reports: ReencryptReport[] = [];
  for (const spec of options.tables ?? SEALED_TABLES) {
    const report: ReencryptReport = { table: spec.table, sealed: 0, rewrapped: 0 };
    reports.push(report);
    const current = `v1.${cipher.currentKid}.%`;
    const needsWork = spec.columns.map((column) => `${column.clear} IS NOT NULL OR ${column.ciphertext} NOT LIKE $1`).join(' OR ');
    const select = `SELECT id, ${spec.owner} AS owner, ${spec.columns.map((column) => `${column.clear}, ${column.ciphertext}`).join(', ')}
                      FROM ${spec.table} WHERE (${needsWork})${spec.only ? ` AND ${spec.only}` : ''}
                     ORDER BY id LIMIT ${batchSize} FOR UPDATE SKIP LOCKED`;
    while (batchesLeft > 0) {
      batchesLeft -= 1;
      const done = await db.transaction(async (tx) => {
        const { rows } = await tx.query<Record<string, string | null>>(select, [current]);
        for (const row of rows) {
          const owner = row.owner;
          if (!owner) continue;
          const assignments: string[] = [];
          const values: unknown[] = [row.id];
          const set = (column: string, value: unknown) => {
            values.push(value);
            assignments.push(`${column} = $${values.length}`);
          };
          for (const column of spec.columns) {
            const clear = row[column.clear] ?? null;
            const sealed = row[column.ciphertext] ?? null;
            if (clear !== null) {
              set(column.ciphertext, cipher.encrypt(clear, column.context(owner)));
              if (column.index) set(column.index.column, column.index.of(cipher, clear));
              if (column.hint) set(column.hint.column, column.hint.of(clear));
              set(column.clear, null);
              report.sealed += 1;
            } else if (sealed !== null && !sealed.startsWith(`v1.${cipher.currentKid}.`)) {
              set(column.ciphertext, cipher.rewrap(sealed, column.context(owner)));
              report.rewrapped += 1;
            }
          }
          if (assignments.length > 0) await tx.query(`UPDATE ${spec.table} SET ${assignments.join(', ')} WHERE id = $1`, values);
        }
        return rows.length < batchSize;
      });
      if (done) break;
    }
  }
  return reports;
}
