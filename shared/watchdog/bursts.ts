import type { Tx } from '../db/index.js';
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
 * Records one event of a burst rule and raises the rule's operator alert when the sliding window
 * now holds more than the limit: a row in `operator_alerts` and one CRITICAL log line, once per
 * subject per cool-down (`raiseOperatorAlert` with `coolDownSeconds`).
 *
 * Runs in the caller's transaction, so an event whose effect rolls back is not counted and the alert
 * commits with it. Events of one rule and subject take turns on an advisory lock, so concurrent
 * events on any number of instances are counted exactly: each sees every event committed before it,
 * and of many events crossing the limit at once exactly one raises the alert. Old rows are pruned
 * here (`FOR UPDATE SKIP LOCKED`: concurrent pruners never wait on each other).
 */
export async function recordBurstEvent(tx: Tx, logger: Logger, rule: BurstRule, event: BurstEvent): Promise<BurstVerdict> {
  const { limit } = rule;
  const windowStart = new Date(event.at.getTime() - limit.windowMinutes * 60_000);
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`burst:${rule.kind}:${event.subjectId}`]);
  await tx.query(
    `DELETE FROM burst_events WHERE id IN (
       SELECT id FROM burst_events WHERE rule = $1 AND occurred_at <= $2 ORDER BY occurred_at LIMIT ${PRUNE_BATCH} FOR UPDATE SKIP LOCKED)`,
    [rule.kind, windowStart],
  );
  await tx.query('INSERT INTO burst_events (rule, subject_id, actor_key, occurred_at) VALUES ($1, $2, $3, $4)', [rule.kind, event.subjectId, event.actorKey ?? null, event.at]);
  const { rows } = await tx.query<{ events: number; actors: number }>(
    `SELECT count(*)::int AS events, count(DISTINCT actor_key)::int AS actors
       FROM burst_events WHERE rule = $1 AND subject_id = $2 AND occurred_at > $3`,
    [rule.kind, event.subjectId, windowStart],
  );
  const counts: BurstCounts = { events: rows[0]?.events ?? 1, actors: rows[0]?.actors ?? 0, windowMinutes: limit.windowMinutes };
  const isBurst = rule.countsActors ? counts.actors > limit.maxEvents : counts.events > limit.maxEvents && counts.actors >= (limit.minActors ?? 0);
  if (!isBurst) return { ...counts, isRaised: false };
  const isRaised = await raiseOperatorAlert(tx, logger, {
    kind: rule.kind,
    subjectType: rule.subjectType,
    subjectId: event.subjectId,
    episode: event.at.toISOString(),
    at: event.at,
    coolDownSeconds: limit.coolDownMinutes * 60,
    message: rule.describe(event.subjectId, counts),
    details: { events: counts.events, actors: counts.actors, windowMinutes: limit.windowMinutes, maxEvents: limit.maxEvents, coolDownMinutes: limit.coolDownMinutes },
  });
  return { ...counts, isRaised };
}
