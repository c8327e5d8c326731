import { createHash, randomBytes } from 'node:crypto';
import type { Tx } from '../db/index.js';
import { fieldContext, loadFieldCipher } from '../field-crypto/index.js';
import { accountEmailOf } from './account-records.js';

/**
 * One-time tokens mailed to an account: email verification (24 h), password reset (1 h) and email
 * change confirmation (1 h). 32 random bytes, base64url; only the SHA-256 is stored. "Latest wins":
 * issuing one revokes the live token of the same purpose. A token is bound to its purpose, so a
 * reset token never verifies an address.
 */
export type EmailTokenPurpose = 'verify_email' | 'reset_password' | 'change_email';

export const EMAIL_TOKEN_TTL_SECONDS: Record<EmailTokenPurpose, number> = {
  verify_email: 24 * 3600,
  reset_password: 3600,
  change_email: 3600,
};

const EMAIL_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function hashEmailToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export async function issueEmailToken(
  tx: Tx,
  input: { accountId: string; purpose: EmailTokenPurpose; now: Date; newEmail?: string; ttlSeconds?: number },
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(input.now.getTime() + (input.ttlSeconds ?? EMAIL_TOKEN_TTL_SECONDS[input.purpose]) * 1000);
  await tx.query(`UPDATE email_tokens SET revoked_at = $3 WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL AND revoked_at IS NULL`, [
    input.accountId,
    input.purpose,
    input.now,
  ]);
  await tx.query(
    `INSERT INTO email_tokens (account_id, purpose, token_hash, new_email_ciphertext, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    [input.accountId, input.purpose, hashEmailToken(token), input.newEmail === undefined ? null : loadFieldCipher().encrypt(input.newEmail, fieldContext.newEmail(input.accountId)), input.now, expiresAt],
  );
  return { token, expiresAt };
}

/** `invalid`: malformed, never issued, for another purpose, used or replaced. `expired`: past its lifetime. */
export type EmailTokenRefusal = 'invalid' | 'expired';

export type EmailTokenOutcome =
  | { outcome: 'valid'; tokenId: string; accountId: string; newEmail: string | null; email: string; status: string }
  | { outcome: 'refused'; reason: EmailTokenRefusal };

/**
 * Looks a token up for `purpose` and, unless `peek`, marks it used (conditionally, so two racing
 * redemptions cannot both succeed), in the caller's transaction. `peek` lets a caller validate
 * input against the account before spending the token (a reset with a too-weak password).
 */
export async function redeemEmailToken(tx: Tx, input: { token: string; purpose: EmailTokenPurpose; now: Date; peek?: boolean }): Promise<EmailTokenOutcome> {
  if (!EMAIL_TOKEN_PATTERN.test(input.token)) return { outcome: 'refused', reason: 'invalid' };
  const { rows } = await tx.query<{
    id: string;
    account_id: string;
    new_email: string | null;
    new_email_ciphertext: string | null;
    expires_at: Date;
    used_at: Date | null;
    revoked_at: Date | null;
    email: string | null;
    email_ciphertext: string | null;
    status: string;
  }>(
    `SELECT t.id, t.account_id, t.new_email, t.new_email_ciphertext, t.expires_at, t.used_at, t.revoked_at, a.email, a.email_ciphertext, a.status
     FROM email_tokens t JOIN accounts a ON a.id = t.account_id
     WHERE t.token_hash = $1 AND t.purpose = $2`,
    [hashEmailToken(input.token), input.purpose],
  );
  const row = rows[0];
  if (!row || row.used_at || row.revoked_at) return { outcome: 'refused', reason: 'invalid' };
  if (row.expires_at <= input.now) return { outcome: 'refused', reason: 'expired' };
  if (!input.peek) {
    const { rowCount } = await tx.query(`UPDATE email_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL`, [row.id, input.now]);
    if (rowCount !== 1) return { outcome: 'refused', reason: 'invalid' };
  }
  return {
    outcome: 'valid',
    tokenId: row.id,
    accountId: row.account_id,
    newEmail: newEmailOf(row),
    email: accountEmailOf({ id: row.account_id, email: row.email, email_ciphertext: row.email_ciphertext }),
    status: row.status,
  };
}

/** The address a change_email token confirms, opened (or still in clear before re-encryption); null for other tokens. */
export function newEmailOf(row: { account_id: string; new_email: string | null; new_email_ciphertext: string | null }): string | null {
  if (row.new_email !== null) return row.new_email;
  return row.new_email_ciphertext === null ? null : loadFieldCipher().decrypt(row.new_email_ciphertext, fieldContext.newEmail(row.account_id));
}

/**
 * Revokes the account's live tokens, of `purposes` or of every purpose (deletion, email change).
 * Returns how many were live.
 */
export async function revokeEmailTokens(tx: Tx, input: { accountId: string; now: Date; purposes?: readonly EmailTokenPurpose[] }): Promise<number> {
  const { rowCount } = await tx.query(
    `UPDATE email_tokens SET revoked_at = $2
     WHERE account_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND ($3::text[] IS NULL OR purpose = ANY($3::text[]))`,
    [input.accountId, input.now, input.purposes ? [...input.purposes] : null],
  );
  return rowCount ?? 0;
}
