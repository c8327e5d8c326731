import type { Queryable } from '../db/index.js';
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
   * its episode. Call inside a transaction: an advisory lock per kind and subject makes concurrent
   * callers take turns, so exactly one of them raises it.
   */
  coolDownSeconds?: number;
}

/**
 * Raises an alert for an operator once per subject and episode: a row in `operator_alerts` and one
 * CRITICAL log line (Cloud Logging alerting policies match on severity). Sweeps call it on every
 * run; only the first call for an episode records and logs, and with `coolDownSeconds` only the
 * first within the cool-down. Returns whether this call raised it.
 */
export async function raiseOperatorAlert(q: Queryable, logger: Logger, alert: OperatorAlert): Promise<boolean> {
  const coolDownSeconds = alert.coolDownSeconds;
  if (coolDownSeconds !== undefined) {
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`operator-alert:${alert.kind}:${alert.subjectType}:${alert.subjectId}`]);
  }
  const { rowCount } = await q.query(
    `INSERT INTO operator_alerts (alert, subject_type, subject_id, episode, message, details, raised_at)
     SELECT $1, $2, $3, $4, $5, $6, $7
      WHERE $8::float8 IS NULL OR NOT EXISTS (
        SELECT 1 FROM operator_alerts
         WHERE alert = $1 AND subject_type = $2 AND subject_id = $3 AND raised_at > $7::timestamptz - make_interval(secs => $8::float8))
     ON CONFLICT (alert, subject_type, subject_id, episode) DO NOTHING`,
    [alert.kind, alert.subjectType, alert.subjectId, alert.episode.slice(0, 200), alert.message.slice(0, 1000), JSON.stringify(alert.details ?? {}), alert.at, coolDownSeconds ?? null],
  );
  const isRaised = rowCount === 1;
  if (isRaised) {
    logger.critical(alert.kind, { subjectType: alert.subjectType, subjectId: alert.subjectId, episode: alert.episode, alert: alert.message, ...alert.details });
  }
  return isRaised;
}
