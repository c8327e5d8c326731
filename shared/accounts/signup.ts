import { randomUUID } from 'node:crypto';
import { PermanentError } from '../errors/index.js';
import type { AccountDeps, RequestOrigin } from './account-deps.js';
import { auditAuthEvent, emailDomain, enqueueAccountMail, findAccountByEmail, retrieveAccountRow, sealAccountEmail } from './account-records.js';
import { redeemEmailToken } from './email-tokens.js';
import { passwordProblem } from './password-policy.js';
import { hashPassword } from './passwords.js';
import { accountError } from './errors.js';

/** Thrown for a password the policy refuses; `fields.<field>` says why. */
export function weakPassword(field: string, problem: string): PermanentError {
  return accountError('weak_password', problem, { fields: { [field]: problem } });
}

/**
 * Creates an unverified account and queues its verification mail. If the address is taken, the
 * owner of that address is mailed instead ("someone tried to sign up"), and the caller cannot tell
 * the difference: same result, and the password is hashed either way so the timing matches.
 */
export async function signUp(deps: AccountDeps, input: { email: string; password: string; origin: RequestOrigin }): Promise<void> {
  const problem = passwordProblem(input.password, input.email);
  if (problem) throw weakPassword('password', problem);
  const passwordHash = await hashPassword(input.password, deps.passwordParameters);
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    // The address is sealed for the new id, so the id is made here. A row still in clear (before
    // `npm run reencrypt`) is found by the lookup; two racing sign-ups meet at the blind index.
    const known = await findAccountByEmail(tx, input.email);
    const id = randomUUID();
    const sealed = sealAccountEmail(id, input.email);
    const { rows } = known
      ? { rows: [] }
      : await tx.query<{ id: string }>(
          `INSERT INTO accounts (id, email_ciphertext, email_index, email_hint, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)
           ON CONFLICT DO NOTHING RETURNING id`,
          [id, sealed.ciphertext, sealed.index, sealed.hint, passwordHash, now],
        );
    const created = rows[0];
    if (created) {
      await enqueueAccountMail(tx, { kind: 'verify_email', accountId: created.id, now });
      await auditAuthEvent(tx, { action: 'account.signed_up', accountId: created.id, now, origin: input.origin, details: { emailDomain: emailDomain(input.email) } });
      return;
    }
    const existing = known ?? (await findAccountByEmail(tx, input.email));
    if (!existing) throw accountError('signup_conflict_unreadable', 'signup conflict without an existing account');
    await enqueueAccountMail(tx, { kind: 'signup_attempted', accountId: existing.id, now });
    await auditAuthEvent(tx, { action: 'account.signup_repeated', accountId: existing.id, now, origin: input.origin });
  });
  deps.logger.info('account.signup_received', { requestId: input.origin.requestId });
}

/** The error for a refused one-time link. */
export function tokenRefused(reason: 'invalid' | 'expired'): PermanentError {
  return reason === 'expired'
    ? accountError('link_expired', 'This link has expired; request a new one')
    : accountError('invalid_link', 'This link is not valid or was already used; request a new one');
}

/** Marks the address verified with a `verify_email` token (single use). */
export async function verifyEmail(deps: AccountDeps, input: { token: string; origin: RequestOrigin }): Promise<void> {
  const now = deps.clock.now();
  const outcome = await deps.db.transaction(async (tx) => {
    const redeemed = await redeemEmailToken(tx, { token: input.token, purpose: 'verify_email', now });
    if (redeemed.outcome === 'refused') return redeemed;
    if (redeemed.status !== 'active') return { outcome: 'refused' as const, reason: 'invalid' as const };
    await tx.query('UPDATE accounts SET email_verified_at = coalesce(email_verified_at, $2), updated_at = $2 WHERE id = $1', [redeemed.accountId, now]);
    await auditAuthEvent(tx, { action: 'account.email_verified', accountId: redeemed.accountId, now, origin: input.origin });
    return redeemed;
  });
  if (outcome.outcome === 'refused') throw tokenRefused(outcome.reason);
}

/** Queues a fresh verification mail (the earlier link stops working). */
export async function requestVerificationMail(deps: AccountDeps, input: { accountId: string; origin: RequestOrigin }): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    const account = await retrieveAccountRow(tx, input.accountId);
    if (!account || account.status !== 'active') throw accountError('unauthorized', 'Log in again');
    if (account.email_verified_at) throw accountError('email_already_verified', 'This address is already verified');
    await enqueueAccountMail(tx, { kind: 'verify_email', accountId: account.id, now });
    await auditAuthEvent(tx, { action: 'account.verification_resent', accountId: account.id, now, origin: input.origin });
  });
}
