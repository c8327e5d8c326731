import { createHash } from 'node:crypto';
import type { KeyValueStore } from '../kv/index.js';

/**
 * Wrong passwords counted per (address, client) in the key-value store, the client being the
 * browser's device id when it presents a valid device token for the account (`device-tokens.ts`),
 * else its IP. After `PASSWORD_FAILURE_LIMIT` failures within `PASSWORD_FAILURE_WINDOW_SECONDS`,
 * that client may not try that address's password again until the window ends. The count is never
 * per address alone, so an attacker guessing from one network cannot lock the owner out from
 * another, nor out of the owner's own browser on the same network (the address-wide limit, which
 * spares recognised clients, is `login-address.ts`). Login and every password confirmation
 * (re-authentication for payout, chat and Telegram-link changes, email change, deletion, password
 * change) share the counter, so a stolen access token gives no second place to guess. Counters
 * expire on their own; a successful login clears the client's counter.
 *
 * Keyed by the normalised address, not the account id, so a login for an unknown address counts and
 * reads exactly like one for a known address: the same key-value operations either way (timing).
 */
export const PASSWORD_FAILURE_LIMIT = 10;
export const PASSWORD_FAILURE_WINDOW_SECONDS = 15 * 60;

interface FailureWindow {
  count: number;
  /** ISO time the window ends. */
  resetAt: string;
}

/** Who is guessing: the address tried (as typed; compared case-insensitively), the client's IP and recognised device. */
export interface PasswordClient {
  email: string;
  ip: string | undefined;
  /** The device id of a valid device token for the account: counted per device instead of per IP. */
  deviceId?: string | undefined;
}

function failureKey(client: PasswordClient): string {
  // Hashed so no address or IP sits in a store key; a missing IP (never behind Google's front end) is one bucket.
  const who = client.deviceId ? `device:${client.deviceId}` : (client.ip ?? 'unknown');
  const digest = createHash('sha256').update(`${client.email.trim().toLowerCase()}|${who}`).digest('base64url').slice(0, 32);
  return `password-failures:${digest}`;
}

/** Seconds until this IP may try this address's password again; 0 when it may now. */
export async function passwordAttemptsBlockedFor(kv: KeyValueStore, input: PasswordClient & { now: Date }): Promise<number> {
  const entry = await kv.get<FailureWindow>(failureKey(input));
  if (!entry || entry.count < PASSWORD_FAILURE_LIMIT) return 0;
  const remainingMs = Date.parse(entry.resetAt) - input.now.getTime();
  return remainingMs > 0 ? Math.ceil(remainingMs / 1000) : 0;
}

/** Counts one wrong password from `ip`; returns the count in the current window. */
export async function recordPasswordFailure(kv: KeyValueStore, input: PasswordClient & { now: Date }): Promise<number> {
  const now = input.now.getTime();
  const stored = await kv.update<FailureWindow>(
    failureKey(input),
    (current) =>
      current && Date.parse(current.resetAt) > now
        ? { count: current.count + 1, resetAt: current.resetAt }
        : { count: 1, resetAt: new Date(now + PASSWORD_FAILURE_WINDOW_SECONDS * 1000).toISOString() },
    { ttlSeconds: PASSWORD_FAILURE_WINDOW_SECONDS },
  );
  return stored?.count ?? 1;
}

/** Forgets the failures of `ip` on this address (after a successful login from it). */
export async function clearPasswordFailures(kv: KeyValueStore, input: PasswordClient): Promise<void> {
  await kv.delete(failureKey(input));
}
