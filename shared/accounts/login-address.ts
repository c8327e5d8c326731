import { createHash } from 'node:crypto';
import type { KeyValueStore } from '../kv/index.js';

/**
 * What the key-value store keeps per address tried at login, known or not (so both read alike):
 * the IPs the account logged in from successfully lately ("known IPs", 30 days), and the failed
 * logins of unrecognised clients in the current window (15 minutes).
 *
 * A client is recognised when it presents the account's device token (`device-tokens.ts`) or comes
 * from a known IP. Failed logins of unrecognised clients count against the address as a whole: after
 * `UNRECOGNISED_FAILURE_LIMIT` within `UNRECOGNISED_FAILURE_WINDOW_SECONDS`, unrecognised clients get
 * 429 for that address until the window ends, whatever IPs they rotate through. Recognised clients
 * are never refused by this limit (only by their own per-device or per-IP one), so an attacker can
 * make strangers wait but cannot lock the owner out of the browsers and networks they use.
 */
export const UNRECOGNISED_FAILURE_LIMIT = 20;
export const UNRECOGNISED_FAILURE_WINDOW_SECONDS = 15 * 60;
/** An IP stays known this long after its last successful login. */
export const KNOWN_IP_TTL_SECONDS = 30 * 86_400;
/** At most this many known IPs per address, the most recently used. */
export const MAX_KNOWN_IPS = 10;

interface KnownIps {
  /** Shortened SHA-256 of the IP → ISO time of its last successful login. */
  ips: Record<string, string>;
}

interface FailureWindow {
  count: number;
  /** ISO time the window ends. */
  resetAt: string;
}

/** Hashed store key part: neither an address nor an IP ever sits in a key or a value. */
export function digestOf(...parts: string[]): string {
  return createHash('sha256').update(parts.join('|')).digest('base64url').slice(0, 32);
}

const normalised = (email: string) => email.trim().toLowerCase();
const knownIpsKey = (email: string) => `login-known-ips:${digestOf(normalised(email))}`;
const unrecognisedKey = (email: string) => `login-unrecognised:${digestOf(normalised(email))}`;
const ipDigest = (ip: string | undefined) => (ip ? digestOf('ip', ip) : undefined);

/** What a login attempt needs to know about the address. */
export interface AddressView {
  isKnownIp: boolean;
  /** Seconds until unrecognised clients may try this address again; 0 when they may now. */
  unrecognisedBlockedFor: number;
}

/** Two reads, in parallel, for every attempt. */
export async function readAddress(kv: KeyValueStore, input: { email: string; ip: string | undefined; now: Date }): Promise<AddressView> {
  const [known, window] = await Promise.all([kv.get<KnownIps>(knownIpsKey(input.email)), kv.get<FailureWindow>(unrecognisedKey(input.email))]);
  const digest = ipDigest(input.ip);
  const lastSeen = digest === undefined ? undefined : known?.ips[digest];
  const isKnownIp = lastSeen !== undefined && Date.parse(lastSeen) + KNOWN_IP_TTL_SECONDS * 1000 > input.now.getTime();
  const remainingMs = window && window.count >= UNRECOGNISED_FAILURE_LIMIT ? Date.parse(window.resetAt) - input.now.getTime() : 0;
  return { isKnownIp, unrecognisedBlockedFor: remainingMs > 0 ? Math.ceil(remainingMs / 1000) : 0 };
}

/**
 * One update for every failed login: an unrecognised client's failure counts against the address; a
 * recognised client's leaves the window as it is (the same store call, so both take the same time).
 * Returns the window's count.
 */
export async function recordAddressFailure(kv: KeyValueStore, input: { email: string; isRecognised: boolean; now: Date }): Promise<number> {
  const now = input.now.getTime();
  const stored = await kv.update<FailureWindow>(
    unrecognisedKey(input.email),
    (current) => {
      const live = current && Date.parse(current.resetAt) > now ? current : undefined;
      if (input.isRecognised) return live;
      return live ? { count: live.count + 1, resetAt: live.resetAt } : { count: 1, resetAt: new Date(now + UNRECOGNISED_FAILURE_WINDOW_SECONDS * 1000).toISOString() };
    },
    { ttlSeconds: UNRECOGNISED_FAILURE_WINDOW_SECONDS },
  );
  return stored?.count ?? 0;
}

/** After a successful login: `ip` becomes (or stays) known for the address; the oldest beyond `MAX_KNOWN_IPS` are forgotten. */
export async function rememberLoginIp(kv: KeyValueStore, input: { email: string; ip: string | undefined; now: Date }): Promise<void> {
  const digest = ipDigest(input.ip);
  if (!digest) return;
  const now = input.now.getTime();
  await kv.update<KnownIps>(
    knownIpsKey(input.email),
    (current) => ({
      ips: Object.fromEntries(
        Object.entries({ ...(current?.ips ?? {}), [digest]: input.now.toISOString() })
          .filter(([, lastSeen]) => Date.parse(lastSeen) + KNOWN_IP_TTL_SECONDS * 1000 > now)
          .sort(([, a], [, b]) => Date.parse(b) - Date.parse(a))
          .slice(0, MAX_KNOWN_IPS),
      ),
    }),
    { ttlSeconds: KNOWN_IP_TTL_SECONDS },
  );
}
