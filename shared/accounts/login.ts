import { PermanentError } from '../errors/index.js';
import { type IssuedAccessToken, signAccessToken } from './access-tokens.js';
import type { AccountDeps, RequestOrigin } from './account-deps.js';
import { auditAuthEvent, findAccountByEmail } from './account-records.js';
import { type IssuedDeviceToken, issueDeviceToken, NO_ACCOUNT_ID, recognisedDeviceId } from './device-tokens.js';
import { noteLoginFailure } from './login-failure-burst.js';
import { readAddress, recordAddressFailure, rememberLoginIp, UNRECOGNISED_FAILURE_LIMIT, UNRECOGNISED_FAILURE_WINDOW_SECONDS } from './login-address.js';
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

/** What a login gives besides the session: a device token for its cookie, which recognises this browser at the next login. */
export interface LoginTokens extends SessionTokens {
  device: IssuedDeviceToken;
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

/** Unrecognised clients may not try this address for a while; the same for every address, known or not. */
function unrecognisedClientsLocked(retryAfterSeconds: number): PermanentError {
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  return accountError(
    'rate_limited',
    `Too many failed logins for this address from devices and networks it has not logged in from. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}, log in from a device you used before, or reset your password.`,
    { retryAfterSeconds },
  );
}

/** The User-Agent as kept in an audit entry: printable, at most 256 characters; omitted when there is none. */
function userAgentDetail(origin: RequestOrigin): { userAgent?: string } {
  const userAgent = origin.userAgent?.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 256);
  return userAgent ? { userAgent } : {};
}

type LoginFailure = 'unknown_email' | 'wrong_password' | 'locked' | 'unrecognised_locked' | 'account_inactive';

/** How the client was recognised, for the audit entry. */
type Recognition = 'device' | 'known_ip' | 'none';

/**
 * Checks the password and starts a session.
 *
 * Limits (none of them can lock the owner out of a browser or network they logged in from):
 * - per (address, client): after `PASSWORD_FAILURE_LIMIT` failures within
 *   `PASSWORD_FAILURE_WINDOW_SECONDS` that client gets the same 401 for that address (even with the
 *   right password) until the window ends. The client is the device when the browser presents the
 *   account's device token, else the IP.
 * - per address, for unrecognised clients only (no device token of the account, not from an IP the
 *   account logged in from in the last 30 days): after `UNRECOGNISED_FAILURE_LIMIT` failures within
 *   `UNRECOGNISED_FAILURE_WINDOW_SECONDS`, every unrecognised client gets 429 `rate_limited` with
 *   Retry-After for that address, so rotating IPs buys an attacker nothing.
 * - per IP, at the route (`login-ip`).
 * A success clears the client's count, makes its IP known and (re-)issues its device token. A hash
 * made with older scrypt parameters is replaced.
 *
 * Known and unknown addresses do the same work until the password is found right: one scrypt
 * verification (against a dummy hash for an unknown address), one device-token MAC, the same reads
 * of the counters and, on failure, the same updates (every failure counts, whatever its reason),
 * then one audit insert.
 *
 * @throws PermanentError `invalid_credentials`, or `rate_limited` (unrecognised clients locked out of the address).
 */
export async function logIn(
  deps: AccountDeps,
  input: { email: string; password: string; origin: RequestOrigin; deviceToken?: string | undefined },
): Promise<LoginTokens> {
  const account = await findAccountByEmail(deps.db, input.email);
  const check = account
    ? await verifyPassword(account.password_hash, input.password, deps.passwordParameters)
    : { isValid: await verifyAgainstDummyHash(input.password, deps.passwordParameters), needsRehash: false };
  const now = deps.clock.now();
  const deviceId = recognisedDeviceId(deps.accessTokens, input.deviceToken, account?.id ?? NO_ACCOUNT_ID, now);
  const client = { email: input.email, ip: input.origin.ip, deviceId, now };
  // Read for every address, known or not, before anything depends on the account.
  const [blockedFor, address] = await Promise.all([passwordAttemptsBlockedFor(deps.kv, client), readAddress(deps.kv, client)]);
  const recognition: Recognition = deviceId ? 'device' : address.isKnownIp ? 'known_ip' : 'none';

  let failure: LoginFailure | undefined;
  if (blockedFor > 0) failure = 'locked';
  else if (recognition === 'none' && address.unrecognisedBlockedFor > 0) failure = 'unrecognised_locked';
  else if (!account) failure = 'unknown_email';
  else if (account.status !== 'active') failure = 'account_inactive';
  else if (!check.isValid) failure = 'wrong_password';

  if (failure || !account) {
    const isCounted = failure !== 'locked' && failure !== 'unrecognised_locked';
    const [failures, unrecognisedFailures] = isCounted
      ? await Promise.all([
          recordPasswordFailure(deps.kv, client),
          recordAddressFailure(deps.kv, { ...client, isRecognised: recognition !== 'none' }),
        ])
      : [0, 0];
    await deps.db.transaction(async (tx) => {
      if (account && failures === PASSWORD_FAILURE_LIMIT) {
        const details = { failures, windowSeconds: PASSWORD_FAILURE_WINDOW_SECONDS, client: deviceId ? 'device' : 'ip' };
        await auditAuthEvent(tx, { action: deviceId ? 'auth.login_blocked_for_device' : 'auth.login_blocked_for_ip', accountId: account.id, now, origin: input.origin, details });
        deps.logger.warn('auth.login_blocked_for_client', { accountId: account.id, client: details.client, requestId: input.origin.requestId });
      }
      if (account && recognition === 'none' && unrecognisedFailures === UNRECOGNISED_FAILURE_LIMIT) {
        const details = { failures: unrecognisedFailures, windowSeconds: UNRECOGNISED_FAILURE_WINDOW_SECONDS };
        await auditAuthEvent(tx, { action: 'auth.login_blocked_for_unrecognised_clients', accountId: account.id, now, origin: input.origin, details });
        deps.logger.warn('auth.login_blocked_for_unrecognised_clients', { accountId: account.id, requestId: input.origin.requestId });
      }
      await auditAuthEvent(tx, { action: 'auth.login_failed', accountId: account?.id, now, origin: input.origin, details: { reason: failure, recognised: recognition } });
    });
    await noteLoginFailure(deps, { ip: input.origin.ip, email: input.email, at: now });
    if (failure === 'unrecognised_locked') throw unrecognisedClientsLocked(address.unrecognisedBlockedFor);
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
    await auditAuthEvent(tx, {
      action: 'auth.login_succeeded',
      accountId: account.id,
      now,
      origin: input.origin,
      // The session list (`listSessions`) shows where each session began from this entry.
      details: { sessionId: started.sessionId, rehashed: Boolean(rehash), recognised: recognition, ...userAgentDetail(input.origin) },
    });
    return started;
  });
  await Promise.all([clearPasswordFailures(deps.kv, client), rememberLoginIp(deps.kv, client)]);
  const access = await signAccessToken(deps.accessTokens, { accountId: account.id, sessionId: session.sessionId }, now);
  const device = issueDeviceToken(deps.accessTokens, { accountId: account.id, now, deviceId });
  return { accountId: account.id, access, session, device };
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
