import { PermanentError } from '../errors/index.js';
import { type IssuedAccessToken, signAccessToken } from './access-tokens.js';
import type { AccountDeps, RequestOrigin } from './account-deps.js';
import { auditAuthEvent, findAccountByEmail } from './account-records.js';
import { clearPasswordFailures, PASSWORD_FAILURE_LIMIT, PASSWORD_FAILURE_WINDOW_SECONDS, passwordAttemptsBlockedFor, recordPasswordFailure } from './password-failures.js';
import { hashPassword, verifyAgainstDummyHash, verifyPassword } from './passwords.js';
import { findSessionOfToken, type IssuedSession, revokeSession, rotateRefreshToken, startSession } from './sessions.js';
import { accountError } from './errors.js';

/** An access token for the response body and a refresh token for the cookie. */
export interface SessionTokens {
  accountId: string;
  access: IssuedAccessToken;
  session: IssuedSession;
}

/**
 * The one answer for every failed login (unknown address, wrong password, locked, disabled): the
 * caller cannot learn which, and the timing matches because a password is always verified.
 */
export function invalidCredentials(): PermanentError {
  return accountError(
    'invalid_credentials',
    'Email or password is incorrect, or too many wrong passwords came from your network: wait 15 minutes or reset your password.',
  );
}

type LoginFailure = 'unknown_email' | 'wrong_password' | 'locked' | 'account_inactive';

/**
 * Checks the password and starts a session. After `PASSWORD_FAILURE_LIMIT` failed logins for an
 * address from one client IP within `PASSWORD_FAILURE_WINDOW_SECONDS`, that IP gets the same
 * refusal for that address (even with the right password) until the window ends; other IPs are not
 * affected, so nobody can lock the owner out. A successful login clears that IP's count. A hash made
 * with older scrypt parameters is replaced.
 *
 * Known and unknown addresses do the same work until the password is found right: one scrypt
 * verification (against a dummy hash for an unknown address), one read of the failure counter and,
 * on failure, one update of it (every failure counts, whatever its reason), then one audit insert.
 *
 * @throws PermanentError `invalid_credentials` for every kind of failure.
 */
export async function logIn(deps: AccountDeps, input: { email: string; password: string; origin: RequestOrigin }): Promise<SessionTokens> {
  const account = await findAccountByEmail(deps.db, input.email);
  const check = account
    ? await verifyPassword(account.password_hash, input.password, deps.passwordParameters)
    : { isValid: await verifyAgainstDummyHash(input.password, deps.passwordParameters), needsRehash: false };
  const now = deps.clock.now();
  const client = { email: input.email, ip: input.origin.ip, now };
  // Read for every address, known or not, before anything depends on the account.
  const isLocked = (await passwordAttemptsBlockedFor(deps.kv, client)) > 0;

  let failure: LoginFailure | undefined;
  if (isLocked) failure = 'locked';
  else if (!account) failure = 'unknown_email';
  else if (account.status !== 'active') failure = 'account_inactive';
  else if (!check.isValid) failure = 'wrong_password';

  if (failure || !account) {
    const failures = failure === 'locked' ? 0 : await recordPasswordFailure(deps.kv, client);
    await deps.db.transaction(async (tx) => {
      if (account && failures === PASSWORD_FAILURE_LIMIT) {
        const details = { failures, windowSeconds: PASSWORD_FAILURE_WINDOW_SECONDS };
        await auditAuthEvent(tx, { action: 'auth.login_blocked_for_ip', accountId: account.id, now, origin: input.origin, details });
        deps.logger.warn('auth.login_blocked_for_ip', { accountId: account.id, requestId: input.origin.requestId });
      }
      await auditAuthEvent(tx, { action: 'auth.login_failed', accountId: account?.id, now, origin: input.origin, details: { reason: failure } });
    });
    throw invalidCredentials();
  }

  const rehash = check.needsRehash ? await hashPassword(input.password, deps.passwordParameters) : undefined;
  const session = await deps.db.transaction(async (tx) => {
    await tx.query(
      `UPDATE accounts SET last_login_at = $2, updated_at = $2, password_hash = coalesce($3, password_hash)
       WHERE id = $1`,
      [account.id, now, rehash ?? null],
    );
    const started = await startSession(tx, { accountId: account.id, now, ttlSeconds: deps.sessionTtlSeconds });
    await auditAuthEvent(tx, { action: 'auth.login_succeeded', accountId: account.id, now, origin: input.origin, details: { sessionId: started.sessionId, rehashed: Boolean(rehash) } });
    return started;
  });
  await clearPasswordFailures(deps.kv, client);
  const access = await signAccessToken(deps.accessTokens, { accountId: account.id, sessionId: session.sessionId }, now);
  return { accountId: account.id, access, session };
}

/** The refusal for a refresh token that cannot be used; the client must log in again. */
export function invalidRefreshToken(): PermanentError {
  return accountError('invalid_refresh_token', 'The session has ended; log in again');
}

/**
 * Rotates the refresh token and issues a new access token. Reuse of a rotated token revokes the
 * whole session (audited as `auth.refresh_reuse_detected`).
 *
 * @throws PermanentError `invalid_refresh_token`.
 */
export async function refreshSession(deps: AccountDeps, input: { refreshToken: string; origin: RequestOrigin }): Promise<SessionTokens> {
  const now = deps.clock.now();
  const outcome = await deps.db.transaction(async (tx) => {
    const rotated = await rotateRefreshToken(tx, { token: input.refreshToken, now });
    if (rotated.outcome === 'refused' && rotated.reason === 'reuse_detected') {
      await auditAuthEvent(tx, { action: 'auth.refresh_reuse_detected', accountId: rotated.accountId, now, origin: input.origin, details: { sessionId: rotated.sessionId } });
    }
    return rotated;
  });
  if (outcome.outcome === 'refused') {
    if (outcome.reason === 'reuse_detected') deps.logger.warn('auth.refresh_reuse_detected', { accountId: outcome.accountId, sessionId: outcome.sessionId, requestId: input.origin.requestId });
    throw invalidRefreshToken();
  }
  const access = await signAccessToken(deps.accessTokens, { accountId: outcome.accountId, sessionId: outcome.session.sessionId }, now);
  return { accountId: outcome.accountId, access, session: outcome.session };
}

/** Ends the session of `refreshToken`. Unknown or already ended sessions are fine: logout is idempotent. */
export async function logOut(deps: AccountDeps, input: { refreshToken: string | undefined; origin: RequestOrigin }): Promise<void> {
  if (!input.refreshToken) return;
  const found = await findSessionOfToken(deps.db, input.refreshToken);
  if (!found) return;
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    if (await revokeSession(tx, { sessionId: found.sessionId, reason: 'logout', now })) {
      await auditAuthEvent(tx, { action: 'auth.logged_out', accountId: found.accountId, now, origin: input.origin, details: { sessionId: found.sessionId } });
    }
  });
}
