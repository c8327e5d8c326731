import { enqueueMessage } from '../bus/index.js';
import type { Db, Tx } from '../db/index.js';
import type { Logger } from '../logging/index.js';

export interface OperatorAlert {
  /** What is wrong, dot.case: `stuck.payouts.requested`, `payout.replacement_fee_capped`. */
  kind: string;
  subjectType: string;
  subjectId: string;
  /**
   * Which occurrence this is about, e.g. the state and the moment the row entered it. A later
   * occurrence (the row left the state and came back) is a new alert; the same one never is.
   */
  episode: string;
  /** For people: what happened and what to do. */
  message: string;
  details?: Record<string, string | number | boolean | null>;
  at: Date;
  /**
   * For incidents that have no natural end to name an episode by (bursts): the alert is not raised
   * again for the same kind and subject until this many seconds after the last one was, whatever
   * its episode. An advisory lock per kind and subject (held to the end of the transaction) makes
   * concurrent callers take turns, so exactly one of them raises it.
   */
  coolDownSeconds?: number;
}

/**
 * Raises an alert for an operator once per subject and episode: a row in `operator_alerts`, an
 * `operator-alert-requested` message for the operator's Telegram chat (notify-operator) queued in
 * the same transaction, and one CRITICAL log line (Cloud Logging alerting policies match on
 * severity). Sweeps call it on every run; only the first call for an episode records, queues and
 * logs, and with `coolDownSeconds` only the first within the cool-down. Returns whether this call
 * raised it.
 *
 * Given a transaction, the alert commits or rolls back with the caller's effect (a rolled-back
 * alert sends nothing); given the database, it runs in a transaction of its own, so the row and its
 * message are never apart.
 */
export async function raiseOperatorAlert(q: Db | Tx, logger: Logger, alert: OperatorAlert): Promise<boolean> {
  const alertId = 'transaction' in q ? await q.transaction((tx) => insertAlert(tx, alert)) : await insertAlert(q, alert);
  const isRaised = alertId !== undefined;
  if (isRaised) {
    logger.critical(alert.kind, { subjectType: alert.subjectType, subjectId: alert.subjectId, episode: alert.episode, alert: alert.message, ...alert.details });
  }
  return isRaised;
}

/** The alert's row and its Telegram message, or nothing when the episode (or cool-down) already has one. */
async function insertAlert(tx: Tx, alert: OperatorAlert): Promise<bigint | undefined> {
  const coolDownSeconds = alert.coolDownSeconds;
  if (coolDownSeconds !== undefined) {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`operator-alert:${alert.kind}:${alert.subjectType}:${alert.subjectId}`]);
  }
  const { rows } = await tx.query<{ id: bigint }>(
    `INSERT INTO operator_alerts (alert, subject_type, subject_id, episode, message, details, raised_at)
     SELECT $1, $2, $3, $4, $5, $6, $7
      WHERE $8::float8 IS NULL OR NOT EXISTS (
        SELECT 1 FROM operator_alerts
         WHERE alert = $1 AND subject_type = $2 AND subject_id = $3 AND raised_at > $7::timestamptz - make_interval(secs => $8::float8))
     ON CONFLICT (alert, subject_type, subject_id, episode) DO NOTHING
     RETURNING id`,
    [alert.kind, alert.subjectType, alert.subjectId, alert.episode.slice(0, 200), alert.message.slice(0, 1000), JSON.stringify(alert.details ?? {}), alert.at, coolDownSeconds ?? null],
  );
  const alertId = rows[0]?.id;
  if (alertId === undefined) return undefined;
  await enqueueMessage(tx, 'operator-alert-requested', { alertId: alertId.toString() }, { at: alert.at, dedupeKey: `operator-alert-requested:${alertId}` });
  return alertId;
}
