import type { Db, Tx } from '../db/index.js';
import type { FieldCipher } from './field-cipher.js';
import { fieldContext } from './field-cipher.js';
import { maskAddress, maskEmail } from './masking.js';

/** One value sealed at rest: its clear column (rows from before migration 029), ciphertext, and what sits beside it. */
export interface SealedColumn {
  clear: string;
  ciphertext: string;
  context: (ownerAccountId: string) => string;
  index?: (cipher: FieldCipher, value: string) => Buffer;
  hint?: (value: string) => string;
}

/** What `reencryptFields` computed for one column of one row; absent when the column needs nothing. */
export interface SealedValue {
  ciphertext: string;
  /** Null on a re-wrap: the index and hint stay as they are. */
  index: Buffer | null;
  hint: string | null;
}

/**
 * A table with sealed columns, declared by the folder that owns (and alone writes) the table.
 * `selectBatch` returns `id`, `owner` (the AAD's account id) and each column's clear and ciphertext
 * value for rows that still need work — a clear value, or a ciphertext not matching `$1`
 * (`v1.<current kid>.%`) — at most `$2` rows, `FOR UPDATE SKIP LOCKED`. `update` writes one row's
 * new values and nulls the clear columns it sealed.
 */
export interface SealedTable {
  table: string;
  columns: readonly SealedColumn[];
  selectBatch: string;
  update: (tx: Tx, id: string, values: Readonly<Record<string, SealedValue | undefined>>) => Promise<void>;
}

/** Column helpers for the owners' declarations. */
export const sealedColumn = {
  email: (clear: string, ciphertext: string, context: (ownerAccountId: string) => string, options: { isIndexed?: boolean } = {}): SealedColumn => ({
    clear,
    ciphertext,
    context,
    ...(options.isIndexed ? { index: (cipher: FieldCipher, value: string) => cipher.emailIndex(value), hint: maskEmail } : {}),
  }),
  wallet: (clear: string, ciphertext: string, options: { hasHint: boolean }): SealedColumn => ({
    clear,
    ciphertext,
    context: fieldContext.payoutWallet,
    index: (cipher, value) => cipher.walletIndex(value),
    ...(options.hasHint ? { hint: maskAddress } : {}),
  }),
  extraId: (clear: string, ciphertext: string, options: { isIndexed: boolean }): SealedColumn => ({
    clear,
    ciphertext,
    context: fieldContext.payoutExtraId,
    ...(options.isIndexed ? { index: (cipher: FieldCipher, value: string) => cipher.extraIdIndex(value) } : {}),
  }),
};

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
 * compares indexes (logins, "wallet changed?") notices. `tables` come from the folders that own
 * them (`accountSealedTables`, `channelSealedTables`, `payoutSealedTables`, `chainTransferSealedTables`). `stopAfterBatches`
 * bounds a run (tests).
 */
export async function reencryptFields(
  db: Db,
  cipher: FieldCipher,
  tables: readonly SealedTable[],
  options: { batchSize?: number; stopAfterBatches?: number } = {},
): Promise<ReencryptReport[]> {
  const batchSize = options.batchSize ?? 200;
  let batchesLeft = options.stopAfterBatches ?? Number.POSITIVE_INFINITY;
  const reports: ReencryptReport[] = [];
  for (const spec of tables) {
    const report: ReencryptReport = { table: spec.table, sealed: 0, rewrapped: 0 };
    reports.push(report);
    const currentPrefix = `v1.${cipher.currentKid}.`;
    while (batchesLeft > 0) {
      batchesLeft -= 1;
      const done = await db.transaction(async (tx) => {
        const { rows } = await tx.query<Record<string, string | null>>(spec.selectBatch, [`${currentPrefix}%`, batchSize]);
        for (const row of rows) {
          const owner = row.owner;
          if (!row.id || !owner) continue;
          const values: Record<string, SealedValue | undefined> = {};
          for (const column of spec.columns) {
            const clear = row[column.clear] ?? null;
            const sealed = row[column.ciphertext] ?? null;
            if (clear !== null) {
              values[column.ciphertext] = {
                ciphertext: cipher.encrypt(clear, column.context(owner)),
                index: column.index?.(cipher, clear) ?? null,
                hint: column.hint?.(clear) ?? null,
              };
              report.sealed += 1;
            } else if (sealed !== null && !sealed.startsWith(currentPrefix)) {
              values[column.ciphertext] = { ciphertext: cipher.rewrap(sealed, column.context(owner)), index: null, hint: null };
              report.rewrapped += 1;
            }
          }
          if (Object.keys(values).length > 0) await spec.update(tx, row.id, values);
        }
        return rows.length < batchSize;
      });
      if (done) break;
    }
  }
  return reports;
}
