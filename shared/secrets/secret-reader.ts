import type { Logger } from '../logging/index.js';
import { secretsError } from './errors.js';
import { type RotatingSecret, rotatingSecret } from './rotating-secret.js';
import type { SecretStore } from './secret-store.js';

/**
 * Where a function gets a rotating secret. `read()` is called per request and is cheap (a cached
 * value); `reload()` is for a verifier that saw a key it does not know (a JWT `kid`, a signature
 * matching nothing): it re-reads the source unless it did so moments ago, and returns the secret
 * only when it changed, so the caller retries once with the new keys or refuses at once. `now` is
 * the caller's clock (cache ages, and whether the previous value's overlap is over).
 */
export interface SecretReader {
  read(now: Date): Promise<RotatingSecret>;
  reload(now: Date): Promise<RotatingSecret | undefined>;
  /** What `read(now)` would answer without asking the source, or undefined: for a path that must not wait. */
  cached(now: Date): RotatingSecret | undefined;
}

/** A secret fixed for the life of the instance (environment values): nothing to reload. */
export function fixedSecretReader(secret: RotatingSecret): SecretReader {
  return { read: async () => secret, reload: async () => undefined, cached: () => secret };
}

/** Secret Manager aliases per role, and the annotation holding when `previous` stops verifying. */
export const CURRENT_ALIAS = 'current';
export const PREVIOUS_ALIAS = 'previous';
export const PREVIOUS_UNTIL_ANNOTATION = 'previous-until';

export interface SecretManagerReaderOptions {
  store: SecretStore;
  /** Secret id, the kebab-case of the variable (`jwt-secret`). */
  secretId: string;
  logger: Logger;
  /** How long a value read is used before asking again, seconds. Default 300: a rotation reaches every instance within 5 minutes. */
  cacheSeconds?: number;
  /** Least time between two reads forced by `reload()`, seconds. Default 10: forged requests cannot turn into a flood of Secret Manager calls. */
  minReloadSeconds?: number;
  /** Why a value read is unusable (the variable's own rule), or undefined; registers it for log redaction too. */
  problemOf?: (value: string) => string | undefined;
}

/** Reads `versions/current` and, while the overlap lasts, `versions/previous` of one secret. */
export async function readFromSecretManager(
  store: SecretStore,
  secretId: string,
  now: Date,
  problemOf: (value: string) => string | undefined = () => undefined,
): Promise<RotatingSecret> {
  const checked = (value: string, version: number) => {
    const problem = value === '' ? 'is empty' : problemOf(value);
    if (problem !== undefined) throw secretsError('secret_misconfigured', `Secret ${secretId} version ${version}: ${problem}`, { secretId, version });
    return value;
  };
  const { aliases, annotations } = await store.describe(secretId);
  const currentVersion = aliases[CURRENT_ALIAS];
  if (currentVersion === undefined) {
    throw secretsError('secret_misconfigured', `Secret ${secretId} has no "${CURRENT_ALIAS}" alias; run npm run secrets -- rotate ${secretId}`, { secretId });
  }
  const current = checked(await store.access(secretId, currentVersion), currentVersion);
  const previousVersion = aliases[PREVIOUS_ALIAS];
  const until = new Date(annotations[PREVIOUS_UNTIL_ANNOTATION] ?? Number.NaN);
  if (previousVersion === undefined || previousVersion === currentVersion || !(until.getTime() > now.getTime())) return rotatingSecret(current);
  // A previous version that cannot be read (disabled or destroyed to end the overlap early, e.g. a
  // leaked key) verifies nothing: never keep accepting it because an old read said so.
  const previous = await store.access(secretId, previousVersion).catch(() => undefined);
  if (previous === undefined) return rotatingSecret(current);
  return rotatingSecret(current, { value: checked(previous, previousVersion), until });
}

/**
 * A rotating secret read from Secret Manager through its aliases, cached `cacheSeconds`. When a
 * refresh fails the last value keeps serving (logged), so a Secret Manager outage does not stop
 * authentication; with nothing cached yet it throws `secret_unavailable` (503, retried).
 */
export function createSecretManagerReader(options: SecretManagerReaderOptions): SecretReader {
  const cacheMs = (options.cacheSeconds ?? 300) * 1000;
  const minReloadMs = (options.minReloadSeconds ?? 10) * 1000;
  let cached: { secret: RotatingSecret; readAtMs: number } | undefined;
  let inFlight: Promise<RotatingSecret> | undefined;

  const fetchNow = (now: Date): Promise<RotatingSecret> => {
    inFlight ??= (async () => {
      try {
        const secret = await readFromSecretManager(options.store, options.secretId, now, options.problemOf);
        if (cached && cached.secret.current.kid !== secret.current.kid) {
          options.logger.info('secrets.rotated', { secretId: options.secretId, kid: secret.current.kid, previousKid: secret.previous?.kid });
        }
        cached = { secret, readAtMs: now.getTime() };
        return secret;
      } catch (error) {
        if (!cached) throw secretsError('secret_unavailable', `Secret ${options.secretId} could not be read`, { secretId: options.secretId }, error);
        // Keep serving what we have; ask again after another reload interval, not on every request.
        cached.readAtMs = now.getTime() - cacheMs + minReloadMs;
        options.logger.warn('secrets.refresh_failed', { secretId: options.secretId, kid: cached.secret.current.kid, error });
        return cached.secret;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const fresh = (now: Date) => (cached && now.getTime() - cached.readAtMs < cacheMs ? cached.secret : undefined);
  return {
    async read(now) {
      return fresh(now) ?? fetchNow(now);
    },
    cached: fresh,
    async reload(now) {
      const before = cached;
      if (before && now.getTime() - before.readAtMs < minReloadMs) return undefined;
      const secret = await fetchNow(now);
      const isChanged = !before || before.secret.current.kid !== secret.current.kid || before.secret.previous?.kid !== secret.previous?.kid;
      return isChanged ? secret : undefined;
    },
  };
}
