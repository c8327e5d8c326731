/**
 * The audit trail: who did what, when, to which row (`audit_log`, append-only). Write it in the same
 * transaction as the change it records.
 *
 *   await recordAuditEvent(tx, { occurredAt: now, actor: { type: 'account', id: accountId },
 *                                action: 'channel.updated', subject: { type: 'channel', id }, details });
 */
export { type AuditActorType, type AuditEvent, recordAuditEvent } from './audit-log.js';
