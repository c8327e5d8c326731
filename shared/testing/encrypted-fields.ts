import { accountEmailOf } from '../accounts/index.js';
import type { Queryable } from '../db/index.js';
import { loadFieldCipher } from '../field-crypto/index.js';

/**
 * Tests look rows up by the values they typed, which the database now holds only sealed: these read
 * through the blind index and open the ciphertext, as production code does.
 */
export async function accountIdByEmail(q: Queryable, email: string): Promise<string | undefined> {
  const { rows } = await q.query<{ id: string }>('SELECT id FROM accounts WHERE email_index = $1 OR lower(email) = lower($2)', [loadFieldCipher().emailIndex(email), email.trim()]);
  return rows[0]?.id;
}

/** The account's address, opened. */
export async function accountEmailById(q: Queryable, accountId: string): Promise<string> {
  const { rows } = await q.query<{ id: string; email: string | null; email_ciphertext: string | null }>('SELECT id, email, email_ciphertext FROM accounts WHERE id = $1', [accountId]);
  const row = rows[0];
  if (!row) throw new Error(`no account ${accountId}`);
  return accountEmailOf(row);
}

/** The blind index an account with this address is stored under. */
export function emailIndexOf(email: string): Buffer {
  return loadFieldCipher().emailIndex(email);
}
