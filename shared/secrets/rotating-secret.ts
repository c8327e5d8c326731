import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A signing or verification secret that can rotate without downtime (Stripe's signing-secret
 * rotation): `current` signs and verifies; `previous` only verifies, and only until `until`. Both
 * carry a `kid`, a short public name derived from the value (never the value itself), for JWT
 * headers and for logs saying which key matched.
 */
export interface SecretVersion {
  value: string;
  /** `k` + the first 10 base64url characters of SHA-256(value): 60 bits, enough to tell keys apart, nothing to brute-force from. */
  kid: string;
}

export interface RotatingSecret {
  current: SecretVersion;
  /** The value `current` replaced; accepted while `now < until`. */
  previous?: SecretVersion & { until: Date };
}

/** Which version of a secret a request matched: logged as `key: 'current' | 'previous'` with its kid. */
export type SecretRole = 'current' | 'previous';

export interface AcceptedVersion extends SecretVersion {
  role: SecretRole;
}

/** The public key id of a secret value (see {@link SecretVersion.kid}). */
export function keyIdOf(value: string): string {
  return `k${createHash('sha256').update(value, 'utf8').digest('base64url').slice(0, 10)}`;
}

/**
 * A rotating secret from its values. A `previous` equal to `current` is dropped (outside a rotation
 * the previous slot may simply repeat the current value), as is one without a value.
 */
export function rotatingSecret(current: string, previous?: { value: string; until: Date }): RotatingSecret {
  const secret: RotatingSecret = { current: { value: current, kid: keyIdOf(current) } };
  if (previous && previous.value !== '' && previous.value !== current) {
    secret.previous = { value: previous.value, kid: keyIdOf(previous.value), until: previous.until };
  }
  return secret;
}

/**
 * The versions that verify at `now`: `current` first, then `previous` while its overlap lasts.
 * A string is a secret that never rotated (tests, one-off callers).
 */
export function acceptedVersions(secret: RotatingSecret | string, now: Date): AcceptedVersion[] {
  const ring = typeof secret === 'string' ? rotatingSecret(secret) : secret;
  const accepted: AcceptedVersion[] = [{ ...ring.current, role: 'current' }];
  if (ring.previous && now.getTime() < ring.previous.until.getTime()) {
    accepted.push({ value: ring.previous.value, kid: ring.previous.kid, role: 'previous' });
  }
  return accepted;
}

/**
 * Which accepted version `given` equals, compared in constant time whatever the lengths (both
 * sides are hashed first) and against every version, so a wrong value costs the same work
 * whichever version it resembles. Undefined when none (or `given` is absent).
 */
export function matchingVersion(given: string | undefined, accepted: readonly AcceptedVersion[]): AcceptedVersion | undefined {
  const digest = createHash('sha256').update(given ?? '', 'utf8').digest();
  let match: AcceptedVersion | undefined;
  for (const version of accepted) {
    const expected = createHash('sha256').update(version.value, 'utf8').digest();
    if (timingSafeEqual(digest, expected) && match === undefined) match = version;
  }
  return given === undefined || given === '' ? undefined : match;
}
