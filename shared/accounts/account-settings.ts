import { PermanentError } from '../errors/index.js';
import { isUniqueViolation } from '../db/index.js';
import type { AccountDeps, RequestOrigin } from './account-deps.js';
import { ACCOUNT_EMAIL_MATCH, type AccountRow, accountEmailMatchParams, accountEmailOf, auditAuthEvent, emailDomain, enqueueAccountMail, retrieveAccountRow, sealAccountEmail } from './account-records.js';
import { newEmailOf } from './email-tokens.js';
import { redeemEmailToken, revokeEmailTokens } from './email-tokens.js';
import { issueLinkCode, type IssuedLinkCode } from './link-codes.js';
import { confirmAccountPassword } from './password-confirmation.js';
import { revokeAccountSessions } from './sessions.js';
import { tokenRefused } from './signup.js';
import { accountError } from './errors.js';

async function activeAccount(deps: AccountDeps, accountId: string): Promise<AccountRow> {
  const account = await retrieveAccountRow(deps.db, accountId);
  if (!account || account.status !== 'active') throw accountError('unauthorized', 'Log in again');
  return account;
}

async function requirePassword(deps: AccountDeps, account: AccountRow, password: string, action: string, origin: RequestOrigin, what: string): Promise<void> {
  await confirmAccountPassword(deps, account, { password, origin, action, field: 'password', what });
}

export function emailNotVerified(): PermanentError {
  return accountError('email_not_verified', 'Verify your email address first (we can send the link again)');
}

/**
 * Starts an email change: the new address gets a confirmation link (1 h) and the current one a
 * notice. Whether the new address is taken is not revealed here: the mail job sends the new address
 * a notice instead of a link when it is, and confirmation re-checks.
 */
export async function requestEmailChange(deps: AccountDeps, input: { accountId: string; newEmail: string; password: string; origin: RequestOrigin }): Promise<void> {
  const account = await activeAccount(deps, input.accountId);
  if (!account.email_verified_at) throw emailNotVerified();
  await requirePassword(deps, account, input.password, 'account.email_change_failed', input.origin, 'change your address');
  if (account.email.toLowerCase() === input.newEmail.toLowerCase()) {
    const message = 'This is already your address';
    throw accountError('email_unchanged', message, { fields: { newEmail: message } });
  }
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await enqueueAccountMail(tx, { kind: 'email_change_requested', accountId: account.id, address: input.newEmail, now });
    await auditAuthEvent(tx, { action: 'account.email_change_requested', accountId: account.id, now, origin: input.origin, details: { newEmailDomain: emailDomain(input.newEmail) } });
  });
}

function emailTaken(): PermanentError {
  return accountError('email_taken', 'That address now belongs to another account; start again with another address');
}

/**
 * Completes an email change with a `change_email` token: the account takes the new address
 * (verified: the link reached it), every session ends, every other live mailed link (reset,
 * verification, another change) is revoked since it went to the previous address, and the previous
 * address is told.
 *
 * @throws PermanentError `invalid_token`, `token_expired`, or `email_taken` (409) when another
 *   account took the address meanwhile.
 */
export async function confirmEmailChange(deps: AccountDeps, input: { token: string; origin: RequestOrigin }): Promise<void> {
  const now = deps.clock.now();
  try {
    const outcome = await deps.db.transaction(async (tx) => {
      const redeemed = await redeemEmailToken(tx, { token: input.token, purpose: 'change_email', now });
      if (redeemed.outcome === 'refused') return redeemed;
      if (redeemed.status !== 'active' || !redeemed.newEmail) return { outcome: 'refused' as const, reason: 'invalid' as const };
      const { rows } = await tx.query(`SELECT 1 FROM accounts WHERE ${ACCOUNT_EMAIL_MATCH} AND id <> $3`, [...accountEmailMatchParams(redeemed.newEmail), redeemed.accountId]);
      if (rows.length > 0) return { outcome: 'taken' as const };
      const sealed = sealAccountEmail(redeemed.accountId, redeemed.newEmail);
      await tx.query(
        'UPDATE accounts SET email = NULL, email_ciphertext = $2, email_index = $3, email_hint = $4, email_verified_at = $5, updated_at = $5 WHERE id = $1',
        [redeemed.accountId, sealed.ciphertext, sealed.index, sealed.hint, now],
      );
      const revoked = await revokeAccountSessions(tx, { accountId: redeemed.accountId, reason: 'email_changed', now });
      const tokensRevoked = await revokeEmailTokens(tx, { accountId: redeemed.accountId, now });
      await enqueueAccountMail(tx, { kind: 'email_changed', accountId: redeemed.accountId, address: redeemed.email, now });
      await auditAuthEvent(tx, {
        action: 'account.email_changed',
        accountId: redeemed.accountId,
        now,
        origin: input.origin,
        details: { fromDomain: emailDomain(redeemed.email), toDomain: emailDomain(redeemed.newEmail), sessionsRevoked: revoked, tokensRevoked },
      });
      return redeemed;
    });
    if (outcome.outcome === 'refused') throw tokenRefused(outcome.reason);
    if (outcome.outcome === 'taken') throw emailTaken();
  } catch (error) {
    // Another account took the address between our check and the update.
    if (isUniqueViolation(error)) throw emailTaken();
    throw error;
  }
}

/**
 * Cancels a pending email change: the live confirmation link stops working. Idempotent: with nothing
 * pending it changes nothing and writes no audit entry. Returns whether a change was pending.
 */
export async function cancelEmailChange(deps: AccountDeps, input: { accountId: string; origin: RequestOrigin }): Promise<boolean> {
  const account = await activeAccount(deps, input.accountId);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const revoked = await revokeEmailTokens(tx, { accountId: account.id, now, purposes: ['change_email'] });
    if (revoked > 0) await auditAuthEvent(tx, { action: 'account.email_change_cancelled', accountId: account.id, now, origin: input.origin });
    return revoked > 0;
  });
}

/**
 * Deletes the account (soft): status `deleted`, the address replaced by a placeholder so it can sign
 * up again, the Telegram link released, every session, mail token and link code revoked. Refused
 * while the account still has channels that are not deleted (subscribers and balances depend on them).
 */
export async function deleteAccount(deps: AccountDeps, input: { accountId: string; password: string; origin: RequestOrigin }): Promise<void> {
  const account = await activeAccount(deps, input.accountId);
  await requirePassword(deps, account, input.password, 'account.delete_failed', input.origin, 'delete the account');
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const { rows } = await tx.query(`SELECT 1 FROM channels WHERE owner_account_id = $1 AND status <> 'deleted' LIMIT 1`, [account.id]);
    if (rows.length > 0) throw accountError('account_has_channels', 'Delete your channels first; then the account can be deleted');
    const placeholder = sealAccountEmail(account.id, `deleted+${account.id}@deleted.invalid`);
    const { rowCount } = await tx.query(
      `UPDATE accounts SET status = 'deleted', deleted_at = $2, email = NULL, email_ciphertext = $3, email_index = $4, email_hint = $5,
         telegram_user_id = NULL, telegram_linked_at = NULL, updated_at = $2
       WHERE id = $1 AND status = 'active'`,
      [account.id, now, placeholder.ciphertext, placeholder.index, placeholder.hint],
    );
    if (rowCount !== 1) throw accountError('unauthorized', 'Log in again');
    // The schema's revocation reasons have no "deleted"; a deleted account is a disabled one for sessions.
    const revoked = await revokeAccountSessions(tx, { accountId: account.id, reason: 'account_disabled', now });
    await revokeEmailTokens(tx, { accountId: account.id, now });
    await tx.query('UPDATE telegram_link_codes SET revoked_at = $2 WHERE account_id = $1 AND used_at IS NULL AND revoked_at IS NULL', [account.id, now]);
    await enqueueAccountMail(tx, { kind: 'account_deleted', accountId: account.id, address: account.email, now });
    await auditAuthEvent(tx, { action: 'account.deleted', accountId: account.id, now, origin: input.origin, details: { sessionsRevoked: revoked } });
  });
}

export interface AccountProfile {
  accountId: string;
  email: string;
  emailVerifiedAt: Date | null;
  createdAt: Date;
  telegram: { isLinked: boolean; userId: bigint | null; username: string | null; linkedAt: Date | null };
  /** A change of address waiting for its link to be followed (the link was mailed), or null. */
  pendingEmailChange: { newEmail: string; expiresAt: Date } | null;
}

/** The account as its owner sees it, with its Telegram link and any email change still pending. */
export async function retrieveAccountProfile(deps: Pick<AccountDeps, 'db' | 'clock'>, accountId: string): Promise<AccountProfile> {
  const { rows } = await deps.db.query<{
    id: string;
    email: string | null;
    email_ciphertext: string | null;
    email_verified_at: Date | null;
    created_at: Date;
    status: string;
    telegram_user_id: bigint | null;
    telegram_linked_at: Date | null;
    username: string | null;
    pending_email: string | null;
    pending_email_ciphertext: string | null;
    pending_expires_at: Date | null;
  }>(
    `SELECT a.id, a.email, a.email_ciphertext, a.email_verified_at, a.created_at, a.status, a.telegram_user_id, a.telegram_linked_at, u.username,
            t.new_email AS pending_email, t.new_email_ciphertext AS pending_email_ciphertext, t.expires_at AS pending_expires_at
     FROM accounts a LEFT JOIN telegram_users u ON u.id = a.telegram_user_id
     LEFT JOIN email_tokens t ON t.account_id = a.id AND t.purpose = 'change_email' AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $2
     WHERE a.id = $1`,
    [accountId, deps.clock.now()],
  );
  const row = rows[0];
  if (!row || row.status !== 'active') throw accountError('unauthorized', 'Log in again');
  return {
    accountId: row.id,
    email: accountEmailOf(row),
    emailVerifiedAt: row.email_verified_at,
    createdAt: row.created_at,
    telegram: {
      isLinked: row.telegram_user_id !== null,
      userId: row.telegram_user_id === null ? null : BigInt(row.telegram_user_id),
      username: row.username,
      linkedAt: row.telegram_linked_at,
    },
    pendingEmailChange:
      row.pending_expires_at === null || (row.pending_email === null && row.pending_email_ciphertext === null)
        ? null
        : { newEmail: newEmailOf({ account_id: row.id, new_email: row.pending_email, new_email_ciphertext: row.pending_email_ciphertext }) ?? '', expiresAt: row.pending_expires_at },
  };
}

/** Link codes live 10 minutes: long enough to open Telegram, short enough to be useless if seen later. */
export const TELEGRAM_LINK_TTL_SECONDS = 10 * 60;

/**
 * Issues a one-time code for `/start link_<code>` (the previous live code stops working). Needs a
 * verified address, and the password when a Telegram account is linked already: re-linking decides
 * who manages the channels, so a stolen access token must not be enough (a password given for a
 * first link is checked too). Redeeming the code mails the owner (`redeemLinkCode`).
 *
 * @throws PermanentError `email_not_verified`, `password_required` (re-link without a password),
 *   `incorrect_password`, `rate_limited`.
 */
export async function createTelegramLinkCode(deps: AccountDeps, input: { accountId: string; password?: string | undefined; origin: RequestOrigin }): Promise<IssuedLinkCode> {
  const account = await activeAccount(deps, input.accountId);
  if (!account.email_verified_at) throw emailNotVerified();
  const isRelink = account.telegram_user_id !== null;
  if (isRelink || input.password !== undefined) {
    await confirmAccountPassword(deps, account, { password: input.password, origin: input.origin, action: 'account.telegram_link_refused', field: 'password', what: 'link another Telegram account' });
  }
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const issued = await issueLinkCode(tx, { accountId: account.id, now, ttlSeconds: TELEGRAM_LINK_TTL_SECONDS });
    await auditAuthEvent(tx, {
      action: 'account.telegram_link_code_issued',
      accountId: account.id,
      now,
      origin: input.origin,
      details: { codeId: issued.id, relink: isRelink, reauthenticated: input.password !== undefined },
    });
    return issued;
  });
}
