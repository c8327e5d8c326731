import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db, Queryable, Tx } from '../db/index.js';

/**
 * Login sessions as rotating refresh-token families (`refresh_tokens`). A login starts a family;
 * every refresh replaces the presented token with a new one in the same family; presenting a token
 * that was already replaced is reuse (a copy was stolen, or the client raced itself) and revokes
 * the family, so both the thief's and the owner's newest token stop working. A family lives at most
 * `ttlSeconds` from login: rotation does not extend it. Only SHA-256 hashes are stored.
 */

/** Default absolute session lifetime: 14 days from login. */
export const DEFAULT_SESSION_TTL_SECONDS = 14 * 86_400;

/** `refresh_tokens.revoked_reason` values. */
export type SessionRevocationReason = 'logout' | 'reuse_detected' | 'password_changed' | 'password_reset' | 'email_changed' | 'account_disabled' | 'operator';

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** 32 random bytes, base64url (43 characters). */
function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface IssuedSession {
  sessionId: string;
  refreshToken: string;
  expiresAt: Date;
}

export async function startSession(tx: Tx, input: { accountId: string; now: Date; ttlSeconds?: number }): Promise<IssuedSession> {
  const sessionId = randomUUID();
  const refreshToken = newRefreshToken();
  const expiresAt = new Date(input.now.getTime() + (input.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS) * 1000);
  await tx.query(
    `INSERT INTO refresh_tokens (account_id, family_id, token_hash, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
    [input.accountId, sessionId, hashRefreshToken(refreshToken), input.now, expiresAt],
  );
  return { sessionId, refreshToken, expiresAt };
}

/**
 * Why a refresh token was refused: `unknown` (malformed or never issued), `expired`, `revoked`
 * (its session was ended), `reuse_detected` (already rotated: the session is revoked now),
 * `account_inactive` (disabled or deleted account).
 */
export type RefreshRefusal = 'unknown' | 'expired' | 'revoked' | 'reuse_detected' | 'account_inactive';

export type RotationOutcome =
  | { outcome: 'rotated'; accountId: string; session: IssuedSession }
  | { outcome: 'refused'; reason: RefreshRefusal; accountId?: string; sessionId?: string };

interface TokenRow {
  id: string;
  account_id: string;
  family_id: string;
  expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
  status: string;
}

/**
 * Replaces `token` with a new one in the same session, in the caller's transaction. On reuse the
 * session's live token is revoked here and the refusal returned (not thrown), so the revocation
 * commits with the transaction.
 */
export async function rotateRefreshToken(tx: Tx, input: { token: string; now: Date }): Promise<RotationOutcome> {
  if (!REFRESH_TOKEN_PATTERN.test(input.token)) return { outcome: 'refused', reason: 'unknown' };
  const { rows } = await tx.query<TokenRow>(
    `SELECT t.id, t.account_id, t.family_id, t.expires_at, t.rotated_at, t.revoked_at, a.status
     FROM refresh_tokens t JOIN accounts a ON a.id = t.account_id
     WHERE t.token_hash = $1
     FOR UPDATE OF t`,
    [hashRefreshToken(input.token)],
  );
  const row = rows[0];
  if (!row) return { outcome: 'refused', reason: 'unknown' };
  const known = { accountId: row.account_id, sessionId: row.family_id };
  if (row.revoked_at) return { outcome: 'refused', reason: 'revoked', ...known };
  if (row.rotated_at) {
    await revokeSession(tx, { sessionId: row.family_id, reason: 'reuse_detected', now: input.now });
    return { outcome: 'refused', reason: 'reuse_detected', ...known };
  }
  if (row.expires_at <= input.now) return { outcome: 'refused', reason: 'expired', ...known };
  if (row.status !== 'active') {
    await revokeSession(tx, { sessionId: row.family_id, reason: 'account_disabled', now: input.now });
    return { outcome: 'refused', reason: 'account_inactive', ...known };
  }

  const nextId = randomUUID();
  const refreshToken = newRefreshToken();
  // One statement: the old row is marked rotated (leaving the "one live token per family" index)
  // before the new row enters it, and the replaced_by foreign key is checked at the statement's end,
  // when the new row exists.
  const { rowCount } = await tx.query(
    `WITH rotated AS (
       UPDATE refresh_tokens SET rotated_at = $2, replaced_by = $3
       WHERE id = $1 AND rotated_at IS NULL AND revoked_at IS NULL
       RETURNING account_id, family_id, expires_at)
     INSERT INTO refresh_tokens (id, account_id, family_id, token_hash, issued_at, expires_at)
     SELECT $3, account_id, family_id, $4, $2, expires_at FROM rotated`,
    [row.id, input.now, nextId, hashRefreshToken(refreshToken)],
  );
  if (rowCount !== 1) return { outcome: 'refused', reason: 'revoked', ...known };
  return { outcome: 'rotated', accountId: row.account_id, session: { sessionId: row.family_id, refreshToken, expiresAt: row.expires_at } };
}

/** The session a refresh token belongs to (any state), for logout. */
export async function findSessionOfToken(q: Queryable, token: string): Promise<{ accountId: string; sessionId: string } | undefined> {
  if (!REFRESH_TOKEN_PATTERN.test(token)) return undefined;
  const { rows } = await q.query<{ account_id: string; family_id: string }>('SELECT account_id, family_id FROM refresh_tokens WHERE token_hash = $1', [
    hashRefreshToken(token),
  ]);
  const row = rows[0];
  return row ? { accountId: row.account_id, sessionId: row.family_id } : undefined;
}

/** Ends one session: its live token is revoked. Returns whether a live token was found. */
export async function revokeSession(q: Queryable, input: { sessionId: string; reason: SessionRevocationReason; now: Date }): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = $3 WHERE family_id = $1 AND rotated_at IS NULL AND revoked_at IS NULL`,
    [input.sessionId, input.now, input.reason],
  );
  return rowCount > 0;
}

/** Ends every session of an account, optionally but one (the caller's own, after a password change). Returns how many. */
export async function revokeAccountSessions(
  q: Queryable,
  input: { accountId: string; reason: SessionRevocationReason; now: Date; exceptSessionId?: string },
): Promise<number> {
  const { rowCount } = await q.query(
    `UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = $3
     WHERE account_id = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND ($4::uuid IS NULL OR family_id <> $4::uuid)`,
    [input.accountId, input.now, input.reason, input.exceptSessionId ?? null],
  );
  return rowCount;
}

/**
 * True while the session is live (its current token neither revoked nor expired) and the account is
 * active: checked on every authenticated request, so logout, a password change or a disabled
 * account end access tokens at once instead of after their 15 minutes.
 */
export async function isSessionActive(db: Db | Queryable, input: { accountId: string; sessionId: string; now: Date }): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM refresh_tokens t JOIN accounts a ON a.id = t.account_id
     WHERE t.family_id = $1 AND t.account_id = $2 AND t.rotated_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $3
       AND a.status = 'active'`,
    [input.sessionId, input.accountId, input.now],
  );
  return rows.length > 0;
}
