import type { Db } from '../db/index.js';
import { recordAuditEvent } from './audit-log.js';
import { auditError } from './errors.js';

/** A secret's name as configuration spells it (`JWT_SECRET`, `NOWPAYMENTS_IPN_SECRET`): never a value. */
const SECRET_NAME = /^[A-Z][A-Z0-9_]{1,63}$/;
/** A Secret Manager version number or alias (`7`, `latest`, `previous`). */
const VERSION = /^[A-Za-z0-9_-]{1,64}$/;

export interface SecretRotation {
  /** The secret's configuration name, e.g. `JWT_SECRET`. */
  secret: string;
  /** Who rotated it: an operator's name, or omitted for an automatic rotation (`system`). */
  operator?: string | undefined;
  /** Secret Manager versions (or key ids) before and after; never the values. */
  fromVersion?: string | null | undefined;
  toVersion?: string | null | undefined;
  /** Until when the previous value is still accepted (the overlap window), when there is one. */
  overlapEndsAt?: Date | null | undefined;
  at: Date;
}

/**
 * Audits one secret rotation as `secret.rotated` (subject `secret`/<name>, actor the operator or
 * `system`), in its own statement: the rotation itself happens in Secret Manager, not in this
 * database, so there is no transaction to share. Takes only names and version ids, so no secret
 * value can reach the audit log through it.
 *
 * @throws PermanentError `invalid_secret_name` when `secret` or a version does not look like a name
 *   (a value passed by mistake is refused, not stored).
 */
export async function recordSecretRotation(db: Db, rotation: SecretRotation): Promise<void> {
  if (!SECRET_NAME.test(rotation.secret)) {
    throw auditError('invalid_secret_name', 'Name the secret as configuration does (JWT_SECRET, NOWPAYMENTS_IPN_SECRET), never its value');
  }
  for (const version of [rotation.fromVersion, rotation.toVersion]) {
    if (version != null && !VERSION.test(version)) throw auditError('invalid_secret_name', 'A secret version is a Secret Manager version number or alias, never the value');
  }
  const operator = rotation.operator?.trim();
  await recordAuditEvent(db, {
    occurredAt: rotation.at,
    actor: operator ? { type: 'operator', id: operator } : { type: 'system' },
    action: 'secret.rotated',
    subject: { type: 'secret', id: rotation.secret },
    details: {
      fromVersion: rotation.fromVersion ?? null,
      toVersion: rotation.toVersion ?? null,
      overlapEndsAt: rotation.overlapEndsAt?.toISOString() ?? null,
    },
  });
}
