import type { Db, Queryable, Tx } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { raiseOperatorAlert } from './operator-alerts.js';

/**
 * When a burst is one: more than `maxEvents` events for one subject within the last
 * `windowMinutes` (a sliding window), from at least `minActors` distinct actors when the rule counts
 * them, or more than `maxEvents` distinct actors when it counts only them (`countsActors`).
 */
export interface BurstLimit {
  /** The alert is raised when the count goes above this (≥ 1). */
  maxEvents: number;
  /** Length of the sliding window, minutes (≥ 1). */
  windowMinutes: number;
  /** Distinct actors needed besides the count (login failures: addresses tried). Default: none. */
  minActors?: number;
  /** After an alert, the same alert for the same subject stays quiet this long, minutes (≥ 1). */
  coolDownMinutes: number;
}


export interface BurstRule {
  /** The alert raised, dot.case (`ipn.signature_failures_burst`); also the counter's name. */
  kind: string;
  /** What the rule counts per, for the alert: `endpoint`, `network`, `channel`. */
  subjectType: string;
  limit: BurstLimit;
  /**
   * Count distinct actors instead of events (failed payments: a payment reported failed twice, or
   * underpaid and then expired, is one failure).
   */
  countsActors?: boolean;
  /** The alert's text for people: what happened and what to do. */
  describe(subjectId: string, counts: BurstCounts): string;
}

/** A window's counts, each counted up to the limit + 1 (enough to tell a burst, bounded work). */
export interface BurstCounts {
  events: number;
  actors: number;
  windowMinutes: number;
}

export interface BurstEvent {
  subjectId: string;
  /** A digest or row id, never personal data in clear; needed when the rule counts actors. */
  actorKey?: string | undefined;
  at: Date;
}

export interface BurstVerdict extends BurstCounts {
  /** Whether this event raised the rule's alert (the first over the limit outside the cool-down). */
  isRaised: boolean;
}

/** Old events removed per recorded event: more than one arrives, so the table stays a window long. */
const PRUNE_BATCH = 100;

/**
 * Records one event of a burst rule in the caller's transaction and raises the rule's operator
 * alert when the sliding window now holds more than the limit: a row in `operator_alerts` and one
 * CRITICAL log line, once per subject per cool-down (`raiseOperatorAlert` with `coolDownSeconds`).
 *
 * An event whose effect rolls back is not counted, and the alert commits with it. Events of one rule
 * and subject take turns on an advisory lock until the caller commits, so concurrent events on any
 * number of instances are counted exactly (each sees every event before it) and of many events
 * crossing the limit at once exactly one raises the alert. For events with no transaction of their
 * own and no bound on their rate, use `countBurstEvent`.
 */
export async function recordBurstEvent(tx: Tx, logger: Logger, rule: BurstRule, event: BurstEvent): Promise<BurstVerdict> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`burst:${rule.kind}:${event.subjectId}`]);
  const counts = await insertAndCount(tx, rule, event);
  return { ...counts, isRaised: isBurst(rule, counts) ? await raiseBurstAlert(tx, logger, rule, event, counts) : false };
}

/**
 * Records one event that is not part of a transaction (a refused request) and raises the rule's
 * alert as `recordBurstEvent` does, without making events wait on each other: a flood of them (a
 * forger hammering the IPN endpoint) must not hold database connections in a queue. The event is
 * committed before the window is counted, so of events arriving at once the last to commit sees them
 * all; counts stop at the limit + 1 (bounded work per event, however large the flood). Once over the
 * limit, an alert still in its cool-down is seen by one read; only a possible new alert takes the
 * cool-down's lock, so exactly one event raises it.
 */
export async function countBurstEvent(db: Db, logger: Logger, rule: BurstRule, event: BurstEvent): Promise<BurstVerdict> {
  const counts = await insertAndCount(db, rule, event);
  if (!isBurst(rule, counts)) return { ...counts, isRaised: false };
  const coolDownStart = new Date(event.at.getTime() - rule.limit.coolDownMinutes * 60_000);
  const { rows } = await db.query<{ isQuiet: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM operator_alerts WHERE alert = $1 AND subject_type = $2 AND subject_id = $3 AND raised_at > $4) AS "isQuiet"`,
    [rule.kind, rule.subjectType, event.subjectId, coolDownStart],
  );
  if (rows[0]?.isQuiet) return { ...counts, isRaised: false };
  return { ...counts, isRaised: await db.transaction((tx) => raiseBurstAlert(tx, logger, rule, event, counts)) };
}

/** Prunes old events of the rule, records this one and counts the subject's window (capped at the limit + 1). */
async function insertAndCount(q: Queryable, rule: BurstRule, event: BurstEvent): Promise<BurstCounts> {
  const { limit } = rule;
  const windowStart = new Date(event.at.getTime() - limit.windowMinutes * 60_000);
  // SKIP LOCKED: concurrent pruners never wait on each other.
  await q.query(
    `DELETE FROM burst_events WHERE id IN (
       SELECT id FROM burst_events WHERE rule = $1 AND occurred_at <= $2 ORDER BY occurred_at LIMIT ${PRUNE_BATCH} FOR UPDATE SKIP LOCKED)`,
    [rule.kind, windowStart],
  );
  await q.query('INSERT INTO burst_events (rule, subject_id, actor_key, occurred_at) VALUES ($1, $2, $3, $4)', [rule.kind, event.subjectId, event.actorKey ?? null, event.at]);
  const { rows } = await q.query<{ events: number; actors: number }>(
    `SELECT (SELECT count(*)::int FROM (SELECT 1 FROM burst_events WHERE rule = $1 AND subject_id = $2 AND occurred_at > $3 LIMIT $4) AS e) AS events,
            (SELECT count(*)::int FROM (SELECT DISTINCT actor_key FROM burst_events
                                         WHERE rule = $1 AND subject_id = $2 AND occurred_at > $3 AND actor_key IS NOT NULL LIMIT $4) AS a) AS actors`,
    [rule.kind, event.subjectId, windowStart, limit.maxEvents + 1],
  );
  return { events: rows[0]?.events ?? 1, actors: rows[0]?.actors ?? 0, windowMinutes: limit.windowMinutes };
}

function isBurst(rule: BurstRule, counts: BurstCounts): boolean {
  const { limit } = rule;
  return rule.countsActors ? counts.actors > limit.maxEvents : counts.events > limit.maxEvents && counts.actors >= (limit.minActors ?? 0);
}

function raiseBurstAlert(tx: Tx, logger: Logger, rule: BurstRule, event: BurstEvent, counts: BurstCounts): Promise<boolean> {
  const { limit } = rule;
  return raiseOperatorAlert(tx, logger, {
    kind: rule.kind,
    subjectType: rule.subjectType,
    subjectId: event.subjectId,
    episode: event.at.toISOString(),
    at: event.at,
    coolDownSeconds: limit.coolDownMinutes * 60,
    message: rule.describe(event.subjectId, counts),
    details: { events: counts.events, actors: counts.actors, windowMinutes: limit.windowMinutes, maxEvents: limit.maxEvents, coolDownMinutes: limit.coolDownMinutes },
  });
}
