import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { formatPublicId, parsePublicId } from '../ids/index.js';
import type { Logger } from '../logging/index.js';
import { acceptedVersions, type AcceptedVersion, type RotatingSecret, type SecretReader } from '../secrets/index.js';
import { accountError } from './errors.js';

/**
 * Dashboard access tokens: HS256 JWTs signed with JWT_SECRET, 15 minutes by default, sent as
 * `Authorization: Bearer`. Claims: `iss`, `aud`, `sub` (the account's public id `acc_…`), `sid` (the
 * session = refresh-token family, so revoking a session ends its access tokens at once), `jti`,
 * `iat`, `exp`. Verification pins the algorithm, issuer and audience.
 *
 * Keys rotate with an overlap: the header's `kid` names the key (a hash prefix, never the key).
 * New tokens use the current key; the previous key verifies until its `until`, which rotation sets
 * at least one token lifetime after the switch, so no token in flight is refused. A token without a
 * `kid` (issued before kids existed) is tried against every accepted key.
 */
export interface AccessTokenSettings {
  /**
   * JWT_SECRET as given (configuration requires ≥ 32 random bytes, base64 or hex; the text is the
   * HMAC key), or the rotating secret (current + previous until its overlap ends).
   */
  secret: string | RotatingSecret;
  /** Default 900 (15 minutes). */
  ttlSeconds?: number;
  /**
   * Re-reads the keys when a token names a `kid` we do not know (another instance already read a
   * rotated secret); resolves to the new keys, or undefined when nothing changed. Optional.
   */
  reload?: () => Promise<RotatingSecret | undefined>;
  /** Told which key verified a token signed with the previous one (`jwt.previous_key_used`). Optional. */
  logger?: Logger;
}

/**
 * The settings for one request from the JWT key's reader (environment or Secret Manager, cached):
 * the keys as they are now, and a reload for a token naming a kid this instance has not read yet.
 */
export async function accessTokenSettingsOf(reader: SecretReader, now: Date, logger?: Logger): Promise<AccessTokenSettings> {
  return { secret: await reader.read(now), reload: () => reader.reload(now), logger };
}

export const ACCESS_TOKEN_ISSUER = 'paygateprime';
export const ACCESS_TOKEN_AUDIENCE = 'paygateprime-dashboard';
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 900;

export interface AccessTokenSubject {
  accountId: string;
  sessionId: string;
}

export interface IssuedAccessToken {
  token: string;
  expiresAt: Date;
  expiresInSeconds: number;
}

function keyOf(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

export async function signAccessToken(settings: AccessTokenSettings, subject: AccessTokenSubject, now: Date): Promise<IssuedAccessToken> {
  const ttl = settings.ttlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  const issuedAt = Math.floor(now.getTime() / 1000);
  const signing = acceptedVersions(settings.secret, now)[0]!;
  const token = await new SignJWT({ sid: subject.sessionId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: signing.kid })
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setSubject(formatPublicId('account', subject.accountId))
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttl)
    .sign(keyOf(signing.value));
  return { token, expiresAt: new Date((issuedAt + ttl) * 1000), expiresInSeconds: ttl };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The account and session an access token names.
 *
 * @throws PermanentError `token_expired` (the client should refresh) or `invalid_token` (anything
 *   else: malformed, another algorithm, bad signature, wrong issuer or audience, missing claims).
 */
export async function verifyAccessToken(settings: AccessTokenSettings, token: string, now: Date): Promise<AccessTokenSubject> {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    throw accountError('invalid_token', 'The access token is not valid; log in again');
  }
  let keys = keysFor(acceptedVersions(settings.secret, now), kid);
  if (keys.length === 0 && typeof kid === 'string' && settings.reload) {
    // A kid we do not know: another instance may have read a rotated secret before this one.
    const reloaded = await settings.reload();
    if (reloaded) keys = keysFor(acceptedVersions(reloaded, now), kid);
  }
  let failure: unknown = new joseErrors.JWSSignatureVerificationFailed();
  for (const key of keys) {
    try {
      const subject = await verifyWith(key, token, now);
      if (key.role === 'previous') settings.logger?.info('jwt.previous_key_used', { kid: key.kid, sessionId: subject.sessionId });
      return subject;
    } catch (error) {
      failure = error;
      if (!(error instanceof joseErrors.JWSSignatureVerificationFailed)) break;
    }
  }
  if (failure instanceof joseErrors.JWTExpired) throw accountError('token_expired', 'The access token has expired; refresh it');
  throw accountError('invalid_token', 'The access token is not valid; log in again');
}

/** The keys to try: the one the `kid` names, or every accepted key for a token without one. */
function keysFor(accepted: AcceptedVersion[], kid: unknown): AcceptedVersion[] {
  if (kid === undefined) return accepted;
  return accepted.filter((version) => version.kid === kid);
}

async function verifyWith(key: AcceptedVersion, token: string, now: Date): Promise<AccessTokenSubject> {
  const { payload } = await jwtVerify(token, keyOf(key.value), {
    algorithms: ['HS256'],
    issuer: ACCESS_TOKEN_ISSUER,
    audience: ACCESS_TOKEN_AUDIENCE,
    requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
    currentDate: now,
  });
  if (typeof payload.sid !== 'string' || !UUID.test(payload.sid)) throw accountError('invalid_token', 'The access token is not valid; log in again');
  return { accountId: parsePublicId('account', payload.sub), sessionId: payload.sid };
}
