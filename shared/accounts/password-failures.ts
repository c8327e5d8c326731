import { createHash } from 'node:crypto';
import type { KeyValueStore } from '../kv/index.js';

/**
 * Wrong passwords counted per (account, client IP) in the key-value store: after
 * `PASSWORD_FAILURE_LIMIT` failures within `PASSWORD_FAILURE_WINDOW_SECONDS`, that IP may not try
 * that account's password again until the window ends. The count is never per account alone, so an
 * attacker guessing from one address cannot lock the owner out from another (the old account-wide
 * lockout was a denial of service). Login and every password confirmation (re-authentication for
 * payout changes, email change, deletion, password change) share the counter, so a stolen access
 * token gives no second place to guess. Counters expire on their own; a successful login from that
 * IP clears its counter.
 */
export const PASSWORD_FAILURE_LIMIT = 10;
export const PASSWORD_FAILURE_WINDOW_SECONDS = 15 * 60;

interface FailureWindow {
  count: number;
  /** ISO time the window ends. */
  resetAt: string;
}

function failureKey(accountId: string, ip: string | undefined): string {
  // Hashed so no IP sits in a store key; a missing IP (never behind Google's front end) is one bucket.
  const digest = createHash('sha256').update(`${accountId}|${ip ?? 'unknown'}`).digest('base64url').slice(0, 32);
  return `password-failures:${digest}`;
}

/** Seconds until this IP may try this account's password again; 0 when it may now. */
export async function passwordAttemptsBlockedFor(kv: KeyValueStore, input: { accountId: string; ip: string | undefined; now: Date }): Promise<number> {
  const entry = await kv.get<FailureWindow>(failureKey(input.accountId, input.ip));
  if (!entry || entry.count < PASSWORD_FAILURE_LIMIT) return 0;
  const remainingMs = Date.parse(entry.resetAt) - input.now.getTime();
  return remainingMs > 0 ? Math.ceil(remainingMs / 1000) : 0;
}

/** Counts one wrong password from `ip`; returns the count in the current window. */
export async function recordPasswordFailure(kv: KeyValueStore, input: { accountId: string; ip: string | undefined; now: Date }): Promise<number> {
  const now = input.now.getTime();
  const stored = await kv.update<FailureWindow>(
    failureKey(input.accountId, input.ip),
    (current) =>
      current && Date.parse(current.resetAt) > now
        ? { count: current.count + 1, resetAt: current.resetAt }
        : { count: 1, resetAt: new Date(now + PASSWORD_FAILURE_WINDOW_SECONDS * 1000).toISOString() },
    { ttlSeconds: PASSWORD_FAILURE_WINDOW_SECONDS },
  );
  return stored?.count ?? 1;
}

/** Forgets the failures of `ip` on this account (after a successful login from it). */
export async function clearPasswordFailures(kv: KeyValueStore, input: { accountId: string; ip: string | undefined }): Promise<void> {
  await kv.delete(failureKey(input.accountId, input.ip));
}
