/**
 * The audit trail: who did what, when, to which row (`audit_log`, append-only: the database refuses
 * UPDATE, DELETE and TRUNCATE). Write it in the same transaction as the change it records, one
 * `recordAuditEvent` per action, with the request's id and client IP when a request caused it:
 *
 *   await recordAuditEvent(tx, { occurredAt: now, actor: { type: 'account', id: accountId }, action: 'channel.updated',
 *                                subject: { type: 'channel', id }, details, requestId, ip });
 *
 * A secret rotation is recorded with `recordSecretRotation(db, { secret: 'JWT_SECRET', operator, fromVersion,
 * toVersion, overlapEndsAt, at })` (`secret.rotated`; names and versions only). Reads: `searchAuditLog`
 * (the operator's `npm run audit -- search`) and `listOwnerAudit` (`GET /api/v1/me/audit`).
 */
export { type AuditActorType, type AuditEvent, recordAuditEvent } from './audit-log.js';
export { type SecretRotation, recordSecretRotation } from './secret-rotation.js';
export {
  type AuditFilter,
  type AuditRecord,
  type OwnerAuditEntry,
  type OwnerAuditPage,
  DEFAULT_AUDIT_PAGE_SIZE,
  listOwnerAudit,
  ownerVisibleDetails,
  publicSubjectId,
  searchAuditLog,
} from './audit-search.js';
