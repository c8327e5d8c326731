import type { Queryable } from '../db/index.js';
import { type PublicIdKind, PUBLIC_ID_PREFIXES, formatPublicId } from '../ids/index.js';
import { auditError } from './errors.js';

/**
 * Reading the audit trail: the operator's search (`npm run audit -- search`) and an owner's own
 * entries (`GET /api/v1/me/audit`). An owner's entries are what the account did, what was done to
 * it, and what anyone (the system, an operator, a Telegram user) did to its channels and payouts.
 */

export interface AuditRecord {
  /** The row's id: entries are appended in this order. */
  id: bigint;
  occurredAt: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  subjectType: string | null;
  subjectId: string | null;
  details: Record<string, unknown>;
  requestId: string | null;
}

export interface AuditFilter {
  /** Entries of this account (see above), by its uuid. */
  ownerAccountId?: string | undefined;
  /** An exact action (`payout.held`) or a prefix ending in `.*` (`payout.*`). */
  action?: string | undefined;
  since?: Date | undefined;
  requestId?: string | undefined;
  /** Only entries with an id below (newest-first paging) or above (oldest-first) this one. */
  beforeId?: bigint | undefined;
  afterId?: bigint | undefined;
  order?: 'newest_first' | 'oldest_first';
  limit: number;
}

const ACTION_FILTER = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The owner scope: the account as actor or subject, its channels, its payouts. */
const OWNER_SCOPE = (p: string) => `(
  (l.actor_type = 'account' AND l.actor_id = ${p})
  OR (l.subject_type = 'account' AND l.subject_id = ${p})
  OR (l.subject_type = 'channel' AND l.subject_id IN (SELECT c.id::text FROM channels c WHERE c.owner_account_id::text = ${p}))
  OR (l.subject_type = 'payout' AND l.subject_id IN (SELECT po.id::text FROM payouts po WHERE po.owner_account_id::text = ${p})))`;

/**
 * Audit entries matching every filter given, at most `limit`.
 *
 * @throws PermanentError `invalid_audit_filter` for an action pattern or owner id that cannot match.
 */
export async function searchAuditLog(q: Queryable, filter: AuditFilter): Promise<AuditRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.ownerAccountId !== undefined) {
    if (!UUID.test(filter.ownerAccountId)) throw auditError('invalid_audit_filter', 'An owner is named by its account uuid');
    where.push(OWNER_SCOPE(param(filter.ownerAccountId.toLowerCase())));
  }
  if (filter.action !== undefined) {
    if (!ACTION_FILTER.test(filter.action)) throw auditError('invalid_audit_filter', 'An action is dot.case (payout.held), or a prefix ending in .* (payout.*)');
    if (filter.action.endsWith('.*')) where.push(`starts_with(l.action, ${param(filter.action.slice(0, -1))})`);
    else where.push(`l.action = ${param(filter.action)}`);
  }
  if (filter.since !== undefined) where.push(`l.occurred_at >= ${param(filter.since)}`);
  if (filter.requestId !== undefined) where.push(`l.request_id = ${param(filter.requestId)}`);
  if (filter.beforeId !== undefined) where.push(`l.id < ${param(filter.beforeId)}`);
  if (filter.afterId !== undefined) where.push(`l.id > ${param(filter.afterId)}`);
  const { rows } = await q.query<{
    id: bigint; occurred_at: Date; actor_type: string; actor_id: string | null; action: string;
    subject_type: string | null; subject_id: string | null; details: Record<string, unknown>; request_id: string | null;
  }>(
    `SELECT l.id, l.occurred_at, l.actor_type, l.actor_id, l.action, l.subject_type, l.subject_id, l.details, l.request_id
       FROM audit_log l
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY l.id ${filter.order === 'oldest_first' ? 'ASC' : 'DESC'}
      LIMIT ${param(filter.limit)}`,
    params,
  );
  return rows.map((row) => ({
    id: BigInt(row.id),
    occurredAt: row.occurred_at,
    actorType: row.actor_type,
    actorId: row.actor_id,
    action: row.action,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    details: row.details,
    requestId: row.request_id,
  }));
}

export interface OwnerAuditEntry {
  occurredAt: Date;
  action: string;
  /** `account` (the owner), `telegram_user`, `system`, `operator`: an operator's name is not shown. */
  actorType: string;
  subject: { type: string; id: string | null } | null;
  ip: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

export interface OwnerAuditPage {
  items: OwnerAuditEntry[];
  nextCursor: string | null;
}

export const DEFAULT_AUDIT_PAGE_SIZE = 50;

function encodeCursor(id: bigint): string {
  return Buffer.from(`audit:${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): bigint {
  const text = /^[A-Za-z0-9_-]{1,40}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const id = /^audit:([1-9]\d{0,18})$/.exec(text)?.[1];
  if (!id) throw auditError('invalid_cursor', 'This cursor is not valid for this list. Start again without a cursor.', { fields: { 'query.cursor': 'not a cursor of this list' } });
  return BigInt(id);
}

/** A subject's public id (`ch_…`, `po_…`) where its kind has one; null otherwise (it is not shown raw). */
export function publicSubjectId(type: string | null, id: string | null): string | null {
  if (!type || !id || !Object.hasOwn(PUBLIC_ID_PREFIXES, type)) return null;
  try {
    return formatPublicId(type as PublicIdKind, id);
  } catch {
    return null;
  }
}

/** Details as an owner sees them: the IP apart (shown on its own), session ids as their public `ses_…`. */
export function ownerVisibleDetails(details: Record<string, unknown>): Record<string, unknown> {
  const { ip: _ip, ...rest } = details;
  for (const key of ['sessionId', 'kept']) {
    const value = rest[key];
    if (typeof value === 'string') rest[key] = publicSubjectId('session', value) ?? value;
  }
  return rest;
}

/**
 * The account's audit entries, newest first, one page (`limit` 1–100) after `cursor`: everything
 * `/me/activity` shows plus what the system, operators and Telegram users did to its channels and
 * payouts (holds, approvals, rejections, broadcasts), each with its request id.
 *
 * @throws PermanentError `invalid_cursor`.
 */
export async function listOwnerAudit(q: Queryable, input: { accountId: string; cursor?: string | undefined; limit?: number | undefined }): Promise<OwnerAuditPage> {
  const limit = Math.min(100, Math.max(1, input.limit ?? DEFAULT_AUDIT_PAGE_SIZE));
  const beforeId = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
  const rows = await searchAuditLog(q, { ownerAccountId: input.accountId, beforeId, order: 'newest_first', limit: limit + 1 });
  const page = rows.slice(0, limit);
  return {
    items: page.map((row) => ({
      occurredAt: row.occurredAt,
      action: row.action,
      actorType: row.actorType,
      subject: row.subjectType ? { type: row.subjectType, id: publicSubjectId(row.subjectType, row.subjectId) } : null,
      ip: typeof row.details.ip === 'string' ? row.details.ip : null,
      requestId: row.requestId,
      details: ownerVisibleDetails(row.details),
    })),
    nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!.id) : null,
  };
}
