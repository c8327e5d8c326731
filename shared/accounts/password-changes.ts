import type { AccountDeps, RequestOrigin } from './account-deps.js';
import { auditAuthEvent, enqueueAccountMail, findAccountByEmail, retrieveAccountRow } from './account-records.js';
import { redeemEmailToken, revokeEmailTokens } from './email-tokens.js';
import { confirmAccountPassword } from './password-confirmation.js';
import { passwordProblem } from './password-policy.js';
import { hashPassword } from './passwords.js';
import { revokeAccountSessions } from './sessions.js';
import { tokenRefused, weakPassword } from './signup.js';
import { accountError } from './errors.js';

/**
 * Queues a reset mail when an active account has this address; does nothing otherwise. The caller
 * answers the same either way, so the address's existence does not leak.
 */
export async function requestPasswordReset(deps: AccountDeps, input: { email: string; origin: RequestOrigin }): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const account = await findAccountByEmail(tx, input.email);
    if (!account || account.status !== 'active') return;
    await enqueueAccountMail(tx, { kind: 'reset_password', accountId: account.id, now });
    await auditAuthEvent(tx, { action: 'account.password_reset_requested', accountId: account.id, now, origin: input.origin });
  });
}

/**
 * Sets a new password with a `reset_password` token (single use, 1 h). Also proves the mailbox, so
 * the address counts as verified; ends every session (whoever knew the old password is logged out)
 * and revokes every other live reset link.
 */
export async function resetPassword(deps: AccountDeps, input: { token: string; password: string; origin: RequestOrigin }): Promise<void> {
  // Validate before spending the token, so a refused password does not burn the link.
  const peeked = await deps.db.transaction((tx) => redeemEmailToken(tx, { token: input.token, purpose: 'reset_password', now: deps.clock.now(), peek: true }));
  if (peeked.outcome === 'refused') throw tokenRefused(peeked.reason);
  if (peeked.status !== 'active') throw tokenRefused('invalid');
  const problem = passwordProblem(input.password, peeked.email);
  if (problem) throw weakPassword('password', problem);
  const passwordHash = await hashPassword(input.password, deps.passwordParameters);

  const now = deps.clock.now();
  const outcome = await deps.db.transaction(async (tx) => {
    const redeemed = await redeemEmailToken(tx, { token: input.token, purpose: 'reset_password', now });
    if (redeemed.outcome === 'refused') return redeemed;
    await tx.query(
      `UPDATE accounts SET password_hash = $2, failed_login_count = 0, locked_until = NULL,
         email_verified_at = coalesce(email_verified_at, $3), updated_at = $3
       WHERE id = $1`,
      [redeemed.accountId, passwordHash, now],
    );
    const revoked = await revokeAccountSessions(tx, { accountId: redeemed.accountId, reason: 'password_reset', now });
    // Any other live reset link (a concurrent request) dies with this one.
    await revokeEmailTokens(tx, { accountId: redeemed.accountId, now, purposes: ['reset_password'] });
    await enqueueAccountMail(tx, { kind: 'password_changed', accountId: redeemed.accountId, now });
    await auditAuthEvent(tx, { action: 'account.password_reset', accountId: redeemed.accountId, now, origin: input.origin, details: { sessionsRevoked: revoked } });
    return redeemed;
  });
  if (outcome.outcome === 'refused') throw tokenRefused(outcome.reason);
}

/**
 * Changes the password after checking the current one (`confirmAccountPassword`). Every other
 * session ends and live reset links are revoked; the caller's own session (`sessionId`) stays, so
 * the user is not logged out of the tab they are using.
 */
export async function changePassword(
  deps: AccountDeps,
  input: { accountId: string; sessionId: string; currentPassword: string; newPassword: string; origin: RequestOrigin },
): Promise<void> {
  const account = await retrieveAccountRow(deps.db, input.accountId);
  if (!account || account.status !== 'active') throw accountError('unauthorized', 'Log in again');
  await confirmAccountPassword(deps, account, { password: input.currentPassword, origin: input.origin, action: 'account.password_change_failed', field: 'currentPassword', what: 'change it' });
  if (input.newPassword.normalize('NFKC') === input.currentPassword.normalize('NFKC')) {
    const message = 'Choose a password different from the current one';
    throw accountError('password_unchanged', message, { fields: { newPassword: message } });
  }
  const problem = passwordProblem(input.newPassword, account.email);
  if (problem) throw weakPassword('newPassword', problem);
  const passwordHash = await hashPassword(input.newPassword, deps.passwordParameters);
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await tx.query('UPDATE accounts SET password_hash = $2, updated_at = $3 WHERE id = $1', [account.id, passwordHash, now]);
    const revoked = await revokeAccountSessions(tx, { accountId: account.id, reason: 'password_changed', now, exceptSessionId: input.sessionId });
    // A reset link mailed before the change must not undo it.
    await revokeEmailTokens(tx, { accountId: account.id, now, purposes: ['reset_password'] });
    await enqueueAccountMail(tx, { kind: 'password_changed', accountId: account.id, now });
    await auditAuthEvent(tx, { action: 'account.password_changed', accountId: account.id, now, origin: input.origin, details: { sessionsRevoked: revoked } });
  });
}
