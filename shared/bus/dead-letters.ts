import * as z from 'zod';
import type { Queryable } from '../db/index.js';
import { busError } from './errors.js';

export interface DeadLetter {
  /** The function or entry point that gave up on the input. */
  source: string;
  topic?: string;
  messageId?: string;
  reasonCode: string;
  reason: string;
  /** The body as received. */
  data?: string;
  attributes?: Record<string, string>;
  deliveryAttempt?: number;
  at: Date;
}

/**
 * What `recordDeadLetter` did:
 * - `recorded`: a new record;
 * - `reopened`: the message had been re-driven and failed again, so its record is open again (with
 *   the new reason) and needs an operator as much as a new one;
 * - `already_recorded`: a redelivery of a failure already on record; nothing changed.
 */
export interface RecordedDeadLetter {
  id: bigint;
  outcome: 'recorded' | 'reopened' | 'already_recorded';
}

/** The command that shows a dead letter, for the `action` field of the alert logged with it. */
export function deadLetterAction(id: bigint): string {
  return `npm run dead-letters -- show ${id}`;
}

/**
 * Keeps input that can never succeed for an operator. Recording the same message twice (a
 * redelivered poison message) keeps the first record; a message that an operator re-drove and that
 * failed again re-opens its record. Returns the record's id either way.
 */
export async function recordDeadLetter(db: Queryable, letter: DeadLetter): Promise<RecordedDeadLetter> {
  const reason = letter.reason.slice(0, 2000);
  const attributes = JSON.stringify(letter.attributes ?? {});
  const { rows } = await db.query<{ id: bigint }>(
    `INSERT INTO dead_letters (source, topic, message_id, reason_code, reason, data, attributes, delivery_attempt, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (source, message_id) WHERE message_id IS NOT NULL DO NOTHING
     RETURNING id`,
    [
      letter.source,
      letter.topic ?? null,
      letter.messageId ?? null,
      letter.reasonCode,
      reason,
      letter.data?.slice(0, 100_000) ?? null,
      attributes,
      letter.deliveryAttempt ?? null,
      letter.at,
    ],
  );
  if (rows[0]) return { id: rows[0].id, outcome: 'recorded' };

  // Only a re-driven record re-opens: one an operator resolved by hand stays resolved, and an open
  // one keeps its first reason (the usual case: the same poison message delivered again).
  const reopened = await db.query<{ id: bigint }>(
    `UPDATE dead_letters
        SET resolved_at = NULL, resolution = NULL, resolved_by = NULL, resolution_note = NULL, reopened_at = $3,
            reason_code = $4, reason = $5, attributes = $6, delivery_attempt = $7
      WHERE source = $1 AND message_id = $2 AND resolution = 'redriven'
      RETURNING id`,
    [letter.source, letter.messageId, letter.at, letter.reasonCode, reason, attributes, letter.deliveryAttempt ?? null],
  );
  if (reopened.rows[0]) return { id: reopened.rows[0].id, outcome: 'reopened' };

  const existing = await db.query<{ id: bigint }>('SELECT id FROM dead_letters WHERE source = $1 AND message_id = $2', [letter.source, letter.messageId]);
  // Under read committed the conflicting row is visible by now; in an older snapshot it may not be,
  // and retrying the delivery is better than dropping the record.
  if (!existing.rows[0]) throw busError('dead_letter_conflict', 'The dead letter was recorded concurrently; retry', { source: letter.source });
  return { id: existing.rows[0].id, outcome: 'already_recorded' };
}

const AttributesSchema = z.record(z.string(), z.string());

/** One row of `dead_letters`, as an operator sees it. */
export interface DeadLetterRecord {
  id: bigint;
  source: string;
  /** Undefined for input that came in over HTTP or from a scheduled sweep: nothing to re-publish to. */
  topic: string | undefined;
  messageId: string | undefined;
  reasonCode: string;
  reason: string;
  /** The body as received (decoded from base64 for Pub/Sub messages). */
  data: string | undefined;
  attributes: Record<string, string>;
  deliveryAttempt: number | undefined;
  createdAt: Date;
  /** When a re-driven message failed again and re-opened the record. */
  reopenedAt: Date | undefined;
  /** The latest failure: `reopenedAt`, else `createdAt`. Lists sort and filter on it. */
  lastFailedAt: Date;
  redriveCount: number;
  lastRedrivenAt: Date | undefined;
  lastRedrivenBy: string | undefined;
  resolvedAt: Date | undefined;
  resolution: 'redriven' | 'resolved' | undefined;
  resolvedBy: string | undefined;
  resolutionNote: string | undefined;
}

interface DeadLetterRow {
  id: bigint;
  source: string;
  topic: string | null;
  message_id: string | null;
  reason_code: string;
  reason: string;
  data: string | null;
  attributes: unknown;
  delivery_attempt: number | null;
  created_at: Date;
  reopened_at: Date | null;
  last_failed_at: Date;
  redrive_count: number;
  last_redriven_at: Date | null;
  last_redriven_by: string | null;
  resolved_at: Date | null;
  resolution: 'redriven' | 'resolved' | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

/** The columns `toDeadLetterRecord` reads; `FROM dead_letters d`. */
const DEAD_LETTER_COLUMNS = `d.id, d.source, d.topic, d.message_id, d.reason_code, d.reason, d.data, d.attributes, d.delivery_attempt,
  d.created_at, d.reopened_at, coalesce(d.reopened_at, d.created_at) AS last_failed_at, d.redrive_count, d.last_redriven_at,
  d.last_redriven_by, d.resolved_at, d.resolution, d.resolved_by, d.resolution_note`;

function toDeadLetterRecord(row: DeadLetterRow): DeadLetterRecord {
  const attributes = AttributesSchema.safeParse(row.attributes);
  return {
    id: row.id,
    source: row.source,
    topic: row.topic ?? undefined,
    messageId: row.message_id ?? undefined,
    reasonCode: row.reason_code,
    reason: row.reason,
    data: row.data ?? undefined,
    // Attributes come from Pub/Sub as strings; anything else (typed by hand) is not shown as such.
    attributes: attributes.success ? attributes.data : {},
    deliveryAttempt: row.delivery_attempt ?? undefined,
    createdAt: row.created_at,
    reopenedAt: row.reopened_at ?? undefined,
    lastFailedAt: row.last_failed_at,
    redriveCount: row.redrive_count,
    lastRedrivenAt: row.last_redriven_at ?? undefined,
    lastRedrivenBy: row.last_redriven_by ?? undefined,
    resolvedAt: row.resolved_at ?? undefined,
    resolution: row.resolution ?? undefined,
    resolvedBy: row.resolved_by ?? undefined,
    resolutionNote: row.resolution_note ?? undefined,
  };
}

export interface DeadLetterFilter {
  topic?: string;
  source?: string;
  /** Only letters whose latest failure is at or after this instant. */
  since?: Date;
  /** Also letters already re-driven or resolved. Default false: what still needs an operator. */
  includeResolved?: boolean;
  /** Most rows returned. Default 200. */
  limit?: number;
}

/** Dead letters, newest failure first. */
export async function listDeadLetters(db: Queryable, filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
  const { rows } = await db.query<DeadLetterRow>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters d
      WHERE ($1::text IS NULL OR d.topic = $1) AND ($2::text IS NULL OR d.source = $2)
        AND ($3::timestamptz IS NULL OR coalesce(d.reopened_at, d.created_at) >= $3)
        AND ($4 OR d.resolved_at IS NULL)
      ORDER BY coalesce(d.reopened_at, d.created_at) DESC, d.id DESC
      LIMIT $5`,
    [filter.topic ?? null, filter.source ?? null, filter.since ?? null, filter.includeResolved ?? false, filter.limit ?? 200],
  );
  return rows.map(toDeadLetterRecord);
}

/** One re-drive of a dead letter: the outbox row that carries it and whether the relay has published it. */
export interface DeadLetterRedriveRow {
  outboxId: bigint;
  queuedAt: Date;
  publishedAt: Date | undefined;
  /** The relay's last failure code while it could not publish. */
  lastError: string | undefined;
}

export interface DeadLetterDetail extends DeadLetterRecord {
  redrives: DeadLetterRedriveRow[];
}

/**
 * One dead letter, or undefined when no letter has this id. `lock` takes its row lock (inside a
 * transaction), so that re-drives and resolutions of one letter happen one after the other.
 */
export async function findDeadLetter(db: Queryable, id: bigint, options: { lock?: boolean } = {}): Promise<DeadLetterRecord | undefined> {
  const { rows } = await db.query<DeadLetterRow>(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters d WHERE d.id = $1${options.lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ? toDeadLetterRecord(rows[0]) : undefined;
}

/** One dead letter with its re-drives, or undefined when no letter has this id. */
export async function retrieveDeadLetter(db: Queryable, id: bigint): Promise<DeadLetterDetail | undefined> {
  const letter = await findDeadLetter(db, id);
  if (!letter) return undefined;
  const outbox = await db.query<{ id: bigint; created_at: Date; published_at: Date | null; last_error: string | null }>(
    'SELECT id, created_at, published_at, last_error FROM outbox WHERE dead_letter_id = $1 ORDER BY id',
    [id],
  );
  return {
    ...letter,
    redrives: outbox.rows.map((redrive) => ({
      outboxId: redrive.id,
      queuedAt: redrive.created_at,
      publishedAt: redrive.published_at ?? undefined,
      lastError: redrive.last_error ?? undefined,
    })),
  };
}
