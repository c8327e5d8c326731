import type { AccountDeps, RequestOrigin } from './account-deps.js';
import { auditAuthEvent, enqueueAccountMail, findAccountByEmail, retrieveAccountRow } from './account-records.js';
import { redeemEmailToken, revokeEmailTokens } from './email-tokens.js';
import { type IssuedDeviceToken, issueDeviceToken, NO_ACCOUNT_ID, recognisedDeviceId } from './device-tokens.js';
import { digestOf, readAddress } from './login-address.js';
import { confirmAccountPassword } from './password-confirmation.js';
import { passwordProblem } from './password-policy.js';
import { hashPassword } from './passwords.js';
import { revokeAccountSessions } from './sessions.js';
import { tokenRefused, weakPassword } from './signup.js';
import { accountError } from './errors.js';

/** Reset requests one client (IP) may make for one address per hour; beyond them it gets 429. */
export const RESET_REQUESTS_PER_CLIENT = 3;
/** Reset mails one address gets per hour on requests from unrecognised clients; beyond them requests are answered but mail nothing. */
export const RESET_MAILS_PER_ADDRESS = 3;
const RESET_WINDOW_SECONDS = 3600;

/**
 * Queues a reset mail when an active account has this address; does nothing otherwise. The caller
 * answers the same either way, so the address's existence does not leak.
 *
 * Limits that cannot lock the owner out: one client (IP) gets 429 after `RESET_REQUESTS_PER_CLIENT`
 * requests for an address within an hour; requests from unrecognised clients (no device token of
 * the account, not from a known IP) mail at most `RESET_MAILS_PER_ADDRESS` links per address and
 * hour, and further ones are answered alike but mail nothing (audited as
 * `account.password_reset_suppressed`): a stranger rotating IPs cannot flood the inbox, the newest
 * link already mailed still works (only the newest does), and the owner's own browser or network
 * always gets a fresh one.
 *
 * @throws PermanentError `rate_limited` (this client asked too often for this address).
 */
export async function requestPasswordReset(deps: AccountDeps, input: { email: string; origin: RequestOrigin; deviceToken?: string | undefined }): Promise<void> {
  const now = deps.clock.now();
  const perClient = await deps.kv.increment(`reset-requests:${digestOf(input.email.trim().toLowerCase(), input.origin.ip ?? 'unknown')}`, { windowSeconds: RESET_WINDOW_SECONDS });
  if (perClient.count > RESET_REQUESTS_PER_CLIENT) {
    const retryAfterSeconds = Math.max(1, Math.ceil((perClient.resetAt.getTime() - now.getTime()) / 1000));
    throw accountError('rate_limited', `Too many reset requests for this address from your network; try again in ${retryAfterSeconds} seconds`, { retryAfterSeconds });
  }
  const account = await findAccountByEmail(deps.db, input.email);
  const isRecognisedDevice = recognisedDeviceId(deps.accessTokens, input.deviceToken, account?.id ?? NO_ACCOUNT_ID, now) !== undefined;
  const address = await readAddress(deps.kv, { email: input.email, ip: input.origin.ip, now });
  let isSuppressed = false;
  if (!isRecognisedDevice && !address.isKnownIp) {
    const mails = await deps.kv.increment(`reset-mails:${digestOf(input.email.trim().toLowerCase())}`, { windowSeconds: RESET_WINDOW_SECONDS });
    isSuppressed = mails.count > RESET_MAILS_PER_ADDRESS;
  }
  await deps.db.transaction(async (tx) => {
    if (!account || account.status !== 'active') return;
    if (isSuppressed) {
      await auditAuthEvent(tx, { action: 'account.password_reset_suppressed', accountId: account.id, now, origin: input.origin, details: { mailsPerHour: RESET_MAILS_PER_ADDRESS } });
      return;
    }
    await enqueueAccountMail(tx, { kind: 'reset_password', accountId: account.id, now });
    await auditAuthEvent(tx, { action: 'account.password_reset_requested', accountId: account.id, now, origin: input.origin });
  });
  if (isSuppressed && account) deps.logger.info('auth.password_reset_suppressed', { accountId: account.id, requestId: input.origin.requestId });
}

/**
 * Sets a new password with a `reset_password` token (single use, 1 h). Also proves the mailbox, so
 * the address counts as verified; ends every session (whoever knew the old password is logged out)
 * and revokes every other live reset link. Returns a device token for the browser that did it: it
 * proved the mailbox, so its next login is a recognised one.
 */
export async function resetPassword(deps: AccountDeps, input: { token: string; password: string; origin: RequestOrigin }): Promise<{ device: IssuedDeviceToken }> {
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
  return { device: issueDeviceToken(deps.accessTokens, { accountId: outcome.accountId, now }) };
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
