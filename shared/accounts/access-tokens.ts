import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { formatPublicId, parsePublicId } from '../ids/index.js';
import { accountError } from './errors.js';

/**
 * Dashboard access tokens: HS256 JWTs signed with JWT_SECRET, 15 minutes by default, sent as
 * `Authorization: Bearer`. Claims: `iss`, `aud`, `sub` (the account's public id `acc_…`), `sid` (the
 * session = refresh-token family, so revoking a session ends its access tokens at once), `jti`,
 * `iat`, `exp`. Verification pins the algorithm, issuer and audience.
 */
export interface AccessTokenSettings {
  /** JWT_SECRET as given (configuration requires ≥ 32 random bytes, base64 or hex; the text is the HMAC key). */
  secret: string;
  /** Default 900 (15 minutes). */
  ttlSeconds?: number;
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

function keyOf(settings: AccessTokenSettings): Uint8Array {
  return new TextEncoder().encode(settings.secret);
}

export async function signAccessToken(settings: AccessTokenSettings, subject: AccessTokenSubject, now: Date): Promise<IssuedAccessToken> {
  const ttl = settings.ttlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
  const issuedAt = Math.floor(now.getTime() / 1000);
  const token = await new SignJWT({ sid: subject.sessionId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setSubject(formatPublicId('account', subject.accountId))
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttl)
    .sign(keyOf(settings));
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
  try {
    const { payload } = await jwtVerify(token, keyOf(settings), {
      algorithms: ['HS256'],
      issuer: ACCESS_TOKEN_ISSUER,
      audience: ACCESS_TOKEN_AUDIENCE,
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
      currentDate: now,
    });
    if (typeof payload.sid !== 'string' || !UUID.test(payload.sid)) throw accountError('invalid_token', 'The access token is not valid; log in again');
    return { accountId: parsePublicId('account', payload.sub), sessionId: payload.sid };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw accountError('token_expired', 'The access token has expired; refresh it');
    throw accountError('invalid_token', 'The access token is not valid; log in again');
  }
}
