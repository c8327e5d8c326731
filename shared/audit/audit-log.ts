import type { Queryable } from '../db/index.js';

/** Who acted, as `audit_log.actor_type` lists them. */
export type AuditActorType = 'system' | 'account' | 'telegram_user' | 'operator' | 'provider';

export interface AuditEvent {
  occurredAt: Date;
  actor: { type: AuditActorType; id?: string | null };
  /** dot.case, at least two segments: `channel.created`, `channel.wallet_changed`. */
  action: string;
  subject?: { type: string; id: string };
  /**
   * What changed, safe to keep for years: field names, masked addresses, amounts as decimal strings.
   * Never secrets, full payout addresses or email bodies.
   */
  details?: Record<string, unknown>;
  /** The HTTP request that caused it, to join with the request's log lines. */
  requestId?: string | null;
  /** The client IP of that request (kept as `details.ip`, where the activity views read it). */
  ip?: string | null | undefined;
}

/**
 * Appends one row to `audit_log` (append-only: the table refuses UPDATE, DELETE and TRUNCATE) in the
 * caller's transaction, so the record commits exactly when the change it describes does. An action
 * that changes nothing else (a CSV export) may pass the `Db` itself.
 */
export async function recordAuditEvent(tx: Queryable, event: AuditEvent): Promise<void> {
  await tx.query(
    `INSERT INTO audit_log (occurred_at, actor_type, actor_id, action, subject_type, subject_id, details, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      event.occurredAt,
      event.actor.type,
      event.actor.id ?? null,
      event.action,
      event.subject?.type ?? null,
      event.subject?.id ?? null,
      JSON.stringify({ ...(event.details ?? {}), ...(event.ip ? { ip: event.ip } : {}) }),
      event.requestId ?? null,
    ],
  );
}
