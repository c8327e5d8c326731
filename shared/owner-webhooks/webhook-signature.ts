import { createHmac } from 'node:crypto';

/** The header every delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=<hex>]`. */
export const SIGNATURE_HEADER = 'PayGate-Signature';

/** Longest overlap an owner may pick when rotating a secret: 7 days, in hours. Default 24. */
export const MAX_ROTATION_OVERLAP_HOURS = 168;
export const DEFAULT_ROTATION_OVERLAP_HOURS = 24;

/**
 * An endpoint's signing secret: `whsec_` + base64url(HMAC-SHA256(OWNER_WEBHOOK_SIGNING_KEY,
 * "<endpoint uuid>:<version>")). Derived, never stored: a copy of the database holds no secret, and
 * a rotation is a version bump. Rotating OWNER_WEBHOOK_SIGNING_KEY itself changes every endpoint's
 * secret at once (docs/webhooks.md says when that is worth it).
 */
export function endpointSecret(signingKey: string, endpointId: string, version: number): string {
  return `whsec_${createHmac('sha256', signingKey).update(`${endpointId}:${version}`).digest('base64url')}`;
}

/** The hex HMAC-SHA256 of `<t>.<body>` with one secret (the whole `whsec_…` string is the key). */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * The header value for one delivery: one `v1` per secret, the current first; during a rotation's
 * overlap the previous secret signs too, so a receiver still configured with it keeps verifying.
 */
export function signatureHeader(secrets: readonly string[], timestamp: number, body: string): string {
  return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${signatureOf(secret, timestamp, body)}`)].join(',');
}

/** The secrets that sign a delivery made at `now`: the current one, and the previous during its overlap. */
export function signingSecrets(
  signingKey: string,
  endpoint: { id: string; secretVersion: number; previousSecretUntil: Date | null },
  now: Date,
): string[] {
  const secrets = [endpointSecret(signingKey, endpoint.id, endpoint.secretVersion)];
  if (endpoint.previousSecretUntil !== null && endpoint.previousSecretUntil > now && endpoint.secretVersion > 1) {
    secrets.push(endpointSecret(signingKey, endpoint.id, endpoint.secretVersion - 1));
  }
  return secrets;
}
