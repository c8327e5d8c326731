import { PermanentError } from '../errors/index.js';
import type { AccountDeps, RequestOrigin } from './account-deps.js';
import { type AccountRow, auditAuthEvent, retrieveAccountRow } from './account-records.js';
import { passwordAttemptsBlockedFor, recordPasswordFailure } from './password-failures.js';
import { verifyPassword } from './passwords.js';
import { accountError } from './errors.js';

/** A wrong current password in a settings form: a field error, not a 401 (the session is fine). */
export function incorrectPassword(field: string): PermanentError {
  const message = 'The password is incorrect';
  return accountError('incorrect_password', message, { fields: { [field]: message } });
}

/** A sensitive change sent without the account's password. */
export function passwordRequired(field: string, what: string): PermanentError {
  const message = `Enter your current password to ${what}`;
  return accountError('password_required', message, { fields: { [field]: message } });
}

/**
 * Re-authentication: checks the account's password before a sensitive change made with an access
 * token (payout wallet, email, password, deletion). A wrong password is audited as `action` and
 * counted in the same per-(account, IP) window as login failures, so a stolen token adds no place
 * to guess; once that window is full this IP gets 429 `rate_limited` with Retry-After.
 *
 * @throws PermanentError `password_required` (no password given), `rate_limited`,
 *   `incorrect_password` (with `fields[field]`).
 */
export async function confirmAccountPassword(
  deps: AccountDeps,
  account: Pick<AccountRow, 'id' | 'email' | 'password_hash'>,
  input: { password: string | undefined; origin: RequestOrigin; action: string; field: string; what: string },
): Promise<void> {
  if (!input.password) throw passwordRequired(input.field, input.what);
  const client = { email: account.email, ip: input.origin.ip, now: deps.clock.now() };
  const blockedFor = await passwordAttemptsBlockedFor(deps.kv, client);
  if (blockedFor > 0) {
    throw accountError('rate_limited', `Too many wrong passwords; try again in ${blockedFor} seconds`, { retryAfterSeconds: blockedFor });
  }
  const check = await verifyPassword(account.password_hash, input.password, deps.passwordParameters);
  if (check.isValid) return;
  const failures = await recordPasswordFailure(deps.kv, client);
  await deps.db.transaction((tx) => auditAuthEvent(tx, { action: input.action, accountId: account.id, now: client.now, origin: input.origin, details: { reason: 'incorrect_password', failures } }));
  throw incorrectPassword(input.field);
}

/**
 * `confirmAccountPassword` for an account known by id (the channel routes), refusing an inactive one
 * like a dead session.
 */
export async function confirmPasswordOfAccount(
  deps: AccountDeps,
  input: { accountId: string; password: string | undefined; origin: RequestOrigin; action: string; field: string; what: string },
): Promise<void> {
  const account = await retrieveAccountRow(deps.db, input.accountId);
  if (!account || account.status !== 'active') throw accountError('unauthorized', 'Log in again');
  await confirmAccountPassword(deps, account, input);
}
