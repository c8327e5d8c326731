import type { Db } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { ownerVisibleDetails, publicSubjectId } from '../audit/index.js';
import { formatPublicId, parsePublicId } from '../ids/index.js';
import type { AccountDeps, RequestOrigin } from './account-deps.js';
import { auditAuthEvent } from './account-records.js';
import { revokeAccountSessions, revokeSession } from './sessions.js';
import { accountError } from './errors.js';

/**
 * What an owner sees of their own security: the live sessions (one per login, a refresh-token
 * family) with where they were last used, ending one or every other one, and the account's activity
 * from `audit_log` (logins and failures, session ends, password, email, wallet and channel changes,
 * Telegram links), newest first.
 */

export interface SessionView {
  /** Public id, `ses_…`. */
  id: string;
  /** The login that started it. */
  createdAt: Date;
  /** The login or the latest refresh (access tokens in between are not recorded). */
  lastUsedAt: Date;
  expiresAt: Date;
  /** Of the login that started it (its `auth.login_succeeded` audit entry); null when not known. */
  userAgent: string | null;
  ip: string | null;
  /** The session of the access token asking. */
  isCurrent: boolean;
}

/**
 * The account's live sessions, most recently used first. Where each began (client IP, User-Agent)
 * comes from its login's audit entry, so nothing about the client is stored beside the token.
 */
export async function listSessions(deps: Pick<AccountDeps, 'db' | 'clock'>, input: { accountId: string; currentSessionId: string }): Promise<SessionView[]> {
  const { rows } = await deps.db.query<{ family_id: string; created_at: Date; issued_at: Date; expires_at: Date; user_agent: string | null; ip: string | null }>(
    `SELECT live.family_id, live.issued_at, live.expires_at,
            (SELECT min(f.issued_at) FROM refresh_tokens f WHERE f.account_id = live.account_id AND f.family_id = live.family_id) AS created_at,
            login.details->>'userAgent' AS user_agent, login.details->>'ip' AS ip
     FROM refresh_tokens live
     LEFT JOIN LATERAL (
       SELECT a.details FROM audit_log a
       WHERE a.actor_type = 'account' AND a.actor_id = $3 AND a.action = 'auth.login_succeeded' AND a.details->>'sessionId' = live.family_id::text
       ORDER BY a.id DESC LIMIT 1
     ) login ON true
     WHERE live.account_id = $1 AND live.rotated_at IS NULL AND live.revoked_at IS NULL AND live.expires_at > $2
     ORDER BY live.issued_at DESC, live.family_id`,
    [input.accountId, deps.clock.now(), input.accountId],
  );
  return rows.map((row) => ({
    id: formatPublicId('session', row.family_id),
    createdAt: row.created_at,
    lastUsedAt: row.issued_at,
    expiresAt: row.expires_at,
    userAgent: row.user_agent,
    ip: row.ip,
    isCurrent: row.family_id === input.currentSessionId,
  }));
}

function sessionNotFound(): AppError {
  return accountError('session_not_found', 'No such live session among yours; list them with GET /me/sessions');
}

/**
 * Ends one of the account's live sessions (the current one too: that is a logout, and its access
 * token stops working at once). Revoked as `logout`; audited as `auth.session_revoked`.
 *
 * @throws PermanentError `session_not_found` (malformed id, another account's, already ended).
 */
export async function revokeOwnSession(deps: Pick<AccountDeps, 'db' | 'clock'>, input: { accountId: string; currentSessionId: string; sessionPublicId: string; origin: RequestOrigin }): Promise<void> {
  let sessionId: string;
  try {
    sessionId = parsePublicId('session', input.sessionPublicId);
  } catch {
    throw sessionNotFound();
  }
  const now = deps.clock.now();
  const isRevoked = await deps.db.transaction(async (tx) => {
    const { rows } = await tx.query('SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND account_id = $2 LIMIT 1', [sessionId, input.accountId]);
    if (rows.length === 0 || !(await revokeSession(tx, { sessionId, reason: 'logout', now }))) return false;
    await auditAuthEvent(tx, { action: 'auth.session_revoked', accountId: input.accountId, now, origin: input.origin, details: { sessionId, isCurrent: sessionId === input.currentSessionId } });
    return true;
  });
  if (!isRevoked) throw sessionNotFound();
}

/**
 * "Log out everywhere": ends every live session of the account except the one asking, which stays
 * so the owner can go on (to end it too, log out). Returns how many ended; revoked as `logout`,
 * audited as `auth.sessions_revoked`.
 */
export async function revokeOtherSessions(deps: Pick<AccountDeps, 'db' | 'clock'>, input: { accountId: string; currentSessionId: string; origin: RequestOrigin }): Promise<number> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const revoked = await revokeAccountSessions(tx, { accountId: input.accountId, reason: 'logout', now, exceptSessionId: input.currentSessionId });
    await auditAuthEvent(tx, { action: 'auth.sessions_revoked', accountId: input.accountId, now, origin: input.origin, details: { sessionsRevoked: revoked, kept: input.currentSessionId } });
    return revoked;
  });
}

export interface ActivityEntry {
  occurredAt: Date;
  /** `auth.login_succeeded`, `auth.login_failed`, `channel.wallet_changed`, … (docs/dashboard-api.md lists them). */
  action: string;
  /** Who acted: the account itself, a Telegram user (linking), the system, an operator. */
  actorType: string;
  /** What it concerned, with a public id where it has one (`acc_…`, `ch_…`, `po_…`). */
  subject: { type: string; id: string | null } | null;
  /** The client IP of the request, when it came from one. */
  ip: string | null;
  /** What the audit entry holds besides (safe to show: no secrets, masked wallets, address domains). */
  details: Record<string, unknown>;
}

export interface ActivityPage {
  items: ActivityEntry[];
  nextCursor: string | null;
}

export const DEFAULT_ACTIVITY_PAGE_SIZE = 50;

const CURSOR = /^[A-Za-z0-9_-]{1,40}$/;

function encodeCursor(id: string): string {
  return Buffer.from(`activity:${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const text = CURSOR.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const id = /^activity:([1-9]\d{0,18})$/.exec(text)?.[1];
  if (!id) throw accountError('invalid_cursor', 'This cursor is not valid for this list. Start again without a cursor.', { fields: { 'query.cursor': 'not a cursor of this list' } });
  return id;
}

/**
 * The account's audit entries, newest first, one page (`limit`, at most 100) after `cursor`: what it
 * did (actor) and what was done to it (subject, e.g. a Telegram user linking it, failed logins).
 *
 * @throws PermanentError `invalid_cursor`.
 */
export async function listActivity(deps: { db: Db }, input: { accountId: string; cursor?: string | undefined; limit?: number | undefined }): Promise<ActivityPage> {
  const limit = Math.min(100, Math.max(1, input.limit ?? DEFAULT_ACTIVITY_PAGE_SIZE));
  const before = input.cursor === undefined ? null : decodeCursor(input.cursor);
  const { rows } = await deps.db.query<{ id: string; occurred_at: Date; action: string; actor_type: string; subject_type: string | null; subject_id: string | null; details: Record<string, unknown> }>(
    `SELECT id::text AS id, occurred_at, action, actor_type, subject_type, subject_id, details
     FROM audit_log
     WHERE ((actor_type = 'account' AND actor_id = $1) OR (subject_type = 'account' AND subject_id = $1))
       AND ($2::bigint IS NULL OR id < $2::bigint)
     ORDER BY id DESC
     LIMIT $3`,
    [input.accountId, before, limit + 1],
  );
  const page = rows.slice(0, limit);
  return {
    items: page.map((row) => ({
      occurredAt: row.occurred_at,
      action: row.action,
      actorType: row.actor_type,
      subject: row.subject_type ? { type: row.subject_type, id: publicSubjectId(row.subject_type, row.subject_id) } : null,
      ip: typeof row.details.ip === 'string' ? row.details.ip : null,
      details: ownerVisibleDetails(row.details),
    })),
    nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!.id) : null,
  };
}
