import { republishStuckMessages } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { errorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { raiseOperatorAlert } from './operator-alerts.js';
import { STATE_MACHINES, type StateMachine, idExpression, sinceExpression, stateCondition } from './state-owners.js';

export interface WatchdogDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

/** Rows older than this are not looked at (an older stuck row was alerted when it passed its limit). */
const LOOKBACK_SECONDS = 30 * 86_400;
/** Most alerts raised per state and run; the rest come on the next run (alerted rows drop out). */
const ALERTS_PER_STATE = 100;

export interface WatchReport {
  /** Alerts raised in this run, by `machine.state`. */
  raised: Record<string, number>;
  /** States whose query failed (logged; the others still ran). */
  failed: string[];
}

const alertKind = (machine: StateMachine, state: string) => `stuck.${machine.name}.${state}`;

/** The episode a stuck row is in: its state and when it entered it, so a row alerted once is not alerted again. */
function episodeSql(state: string, since: string): string {
  return `'${state}@' || to_char((${since}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/**
 * The watchdog (run by `reconcile` every 5 minutes): every row that has sat in a non-terminal state
 * longer than its limit (`STATE_MACHINES`) gets one operator alert — a row in `operator_alerts` and
 * a CRITICAL log line naming what to do. A row that stays stuck is not alerted again; one that moves
 * on and gets stuck again is a new episode.
 */
export async function watchStuckWork(deps: WatchdogDeps): Promise<WatchReport> {
  const now = deps.clock.now();
  const report: WatchReport = { raised: {}, failed: [] };
  for (const machine of STATE_MACHINES) {
    for (const [state, owned] of Object.entries(machine.states)) {
      const kind = alertKind(machine, state);
      const since = sinceExpression(machine, owned);
      try {
        const { rows } = await deps.db.query<{ subject_id: string; since: Date; episode: string }>(
          `SELECT ${idExpression(machine)} AS subject_id, ${since} AS since, ${episodeSql(state, since)} AS episode
             FROM ${machine.table}
            WHERE (${stateCondition(machine, state)}) AND ${since} < $1 AND ${since} > $2
              AND NOT EXISTS (SELECT 1 FROM operator_alerts a
                               WHERE a.alert = $3 AND a.subject_type = $4 AND a.subject_id = ${idExpression(machine)} AND a.episode = ${episodeSql(state, since)})
            ORDER BY 2
            LIMIT ${ALERTS_PER_STATE}`,
          [new Date(now.getTime() - owned.alertAfterSeconds * 1000), new Date(now.getTime() - LOOKBACK_SECONDS * 1000), kind, machine.name],
        );
        for (const row of rows) {
          const isRaised = await raiseOperatorAlert(deps.db, deps.logger, {
            kind,
            subjectType: machine.name,
            subjectId: row.subject_id,
            episode: row.episode,
            message: owned.alert,
            details: { state, since: row.since.toISOString(), limitSeconds: owned.alertAfterSeconds, owner: owned.owner },
            at: now,
          });
          if (isRaised) report.raised[`${machine.name}.${state}`] = (report.raised[`${machine.name}.${state}`] ?? 0) + 1;
        }
      } catch (error) {
        report.failed.push(`${machine.name}.${state}`);
        deps.logger.error('watchdog.query_failed', { machine: machine.name, state, code: errorCode(error), error });
      }
    }
  }
  return report;
}

export interface RedriveReport {
  /** Rows moved on (messages re-published, rows updated), by `machine.state`. */
  redriven: Record<string, number>;
  failed: string[];
}

/**
 * Re-drives what `owner` owns declaratively (`republishMatch` or `redriveStatement` in STATE_MACHINES):
 * rows that sat past `redriveAfterSeconds` get their stage message re-published (same message id,
 * at most once per `redriveAfterSeconds`: a message published since then is in flight) or the
 * owner's statement applied. Owners with code of their own (track-payouts) do theirs themselves.
 */
export async function redriveStuckWork(deps: WatchdogDeps, owner: string): Promise<RedriveReport> {
  const now = deps.clock.now();
  const report: RedriveReport = { redriven: {}, failed: [] };
  for (const machine of STATE_MACHINES) {
    for (const [state, owned] of Object.entries(machine.states)) {
      if (owned.owner !== owner || owned.redriveAfterSeconds === null) continue;
      if (!owned.republishMatch && !owned.redriveStatement) continue;
      const cutoff = new Date(now.getTime() - owned.redriveAfterSeconds * 1000);
      const since = sinceExpression(machine, owned);
      try {
        const rowCount = owned.republishMatch
          ? await republishStuckMessages(
              deps.db,
              { table: machine.table, condition: stateCondition(machine, state), since, match: owned.republishMatch },
              { now, cutoff, lookbackStart: new Date(now.getTime() - LOOKBACK_SECONDS * 1000) },
            )
          : await owned.redriveStatement!(deps.db, now, cutoff);
        if (rowCount > 0) {
          report.redriven[`${machine.name}.${state}`] = rowCount;
          deps.logger.warn('watchdog.redriven', { machine: machine.name, state, rows: rowCount, redrive: owned.redrive });
        }
      } catch (error) {
        report.failed.push(`${machine.name}.${state}`);
        deps.logger.error('watchdog.redrive_failed', { machine: machine.name, state, code: errorCode(error), error });
      }
    }
  }
  return report;
}
