import { recordAuditEvent } from '../audit/index.js';
import type { Db, Tx } from '../db/index.js';
import { AppError, PermanentError } from '../errors/index.js';
import { isTopicName, TOPIC_SCHEMAS, type TopicMessage, type TopicName } from '../messages/index.js';
import { MESSAGE_ID_ATTRIBUTE } from './cloud-event.js';
import { type DeadLetterRecord, findDeadLetter } from './dead-letters.js';
import { enqueueMessage } from './outbox.js';
import { busError } from './errors.js';

/*
 * Re-driving a dead letter = one outbox row, written in the transaction that records the re-drive,
 * that the relay publishes to the letter's topic under the letter's ORIGINAL message id
 * (`outbox.original_message_id` → `pgp_message_id`). Consequences:
 * - a consumer that had in fact handled the message finds its processed_messages record and does
 *   nothing; one that had not handles it now, once;
 * - re-driving twice publishes the same id twice, never two ids;
 * - nothing is published for a re-drive whose transaction rolled back, and nothing is lost once it
 *   committed: the relay after the next stage, or the `relay-outbox` job within a minute, sends it.
 * A re-driven letter is closed with resolution 'redriven'; if the message fails again the letter
 * re-opens (`recordDeadLetter`), so a re-drive can never hide a failure.
 */

/** Why a dead letter cannot be re-driven: a closed set, each with a message that says what to do. */
export type RedriveRefusalCode =
  | 'dead_letter_not_found'
  | 'dead_letter_without_topic'
  | 'dead_letter_unknown_topic'
  | 'dead_letter_without_message_id'
  | 'dead_letter_body_invalid'
  | 'dead_letter_resolved';

function refuse(code: RedriveRefusalCode, message: string, letter: Pick<DeadLetterRecord, 'id'> | bigint): PermanentError {
  return busError(code, message, { deadLetterId: String(typeof letter === 'bigint' ? letter : letter.id) });
}

// Attributes Pub/Sub adds when it forwards to a dead-letter topic (they describe that forward, not the
// message), and its reserved `goog` prefix, which a publish may not carry.
const NOT_REPUBLISHED_ATTRIBUTE = /^(CloudPubSubDeadLetter|goog)/;

interface RedrivePlan {
  topic: TopicName;
  messageId: string;
  message: TopicMessage<TopicName>;
  attributes: Record<string, string>;
}

/**
 * What re-driving `letter` would publish, or a `PermanentError` saying why it cannot be: no topic
 * (it came in over HTTP, or from a scheduled sweep: re-running that is the sweep's job), no message
 * id (handle-once could not recognise it), or a body that fails its topic's schema (it would only
 * be dead-lettered again).
 */
function planRedrive(letter: DeadLetterRecord): RedrivePlan {
  if (!letter.topic) {
    throw refuse('dead_letter_without_topic', `Dead letter ${letter.id} came from ${letter.source} with no topic: there is nothing to re-publish. Fix the cause, then resolve it with a reason.`, letter);
  }
  if (!isTopicName(letter.topic)) {
    throw refuse('dead_letter_unknown_topic', `Dead letter ${letter.id} names topic "${letter.topic}", which no consumer reads. Resolve it with a reason.`, letter);
  }
  if (!letter.messageId) {
    throw refuse('dead_letter_without_message_id', `Dead letter ${letter.id} has no message id, so a consumer could not tell a re-drive from a new message. Resolve it with a reason.`, letter);
  }
  let json: unknown;
  try {
    json = JSON.parse(letter.data ?? '');
  } catch {
    json = undefined;
  }
  const parsed = json === undefined ? undefined : TOPIC_SCHEMAS[letter.topic].safeParse(json);
  if (!parsed?.success) {
    throw refuse('dead_letter_body_invalid', `Dead letter ${letter.id}'s body is not a valid ${letter.topic} message: re-driving it would dead-letter it again. Resolve it with a reason.`, letter);
  }
  const attributes = Object.fromEntries(
    Object.entries(letter.attributes).filter(([key]) => key !== MESSAGE_ID_ATTRIBUTE && !NOT_REPUBLISHED_ATTRIBUTE.test(key)),
  );
  return { topic: letter.topic, messageId: letter.messageId, message: parsed.data, attributes };
}

/** Why `letter` cannot be re-driven as it stands, or undefined when it can (for `show`). */
export function redriveRefusalOf(letter: DeadLetterRecord): RedriveRefusal | undefined {
  if (letter.resolution === 'resolved') {
    return { deadLetterId: letter.id, code: 'dead_letter_resolved', message: `Dead letter ${letter.id} was resolved by an operator; it is not re-driven.` };
  }
  try {
    planRedrive(letter);
    return undefined;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { deadLetterId: letter.id, code: error.code, message: error.message };
  }
}

export interface RedriveInput {
  deadLetterId: bigint;
  /** Who asked (audit_log.actor_id). */
  operator: string;
  at: Date;
}

export interface Redrive {
  deadLetterId: bigint;
  topic: TopicName;
  /** The original id, published in `pgp_message_id`. */
  messageId: string;
  /** The outbox row the relay publishes. */
  outboxId: bigint;
  /** How often this letter has now been re-driven, this time included. */
  redriveCount: number;
}

function assertOperator(operator: string): void {
  if (operator.trim() === '') throw busError('operator_required', 'Name the operator (--operator <name>): every re-drive and resolution is audited.');
}

async function redriveLocked(tx: Tx, letter: DeadLetterRecord, input: Pick<RedriveInput, 'operator' | 'at'>): Promise<Redrive> {
  const plan = planRedrive(letter);
  const { rows } = await tx.query<{ redrive_count: number }>(
    `UPDATE dead_letters
        SET redrive_count = redrive_count + 1, last_redriven_at = $2, last_redriven_by = $3,
            resolved_at = $2, resolution = 'redriven', resolved_by = $3, resolution_note = NULL
      WHERE id = $1
      RETURNING redrive_count`,
    [letter.id, input.at, input.operator],
  );
  const redriveCount = rows[0]?.redrive_count ?? letter.redriveCount + 1;
  const enqueued = await enqueueMessage(tx, plan.topic, plan.message, {
    at: input.at,
    attributes: plan.attributes,
    // The count is taken under the row lock: one outbox row per re-drive, even if this transaction is retried.
    dedupeKey: `dead-letter-redrive:${letter.id}:${redriveCount}`,
    redrive: { deadLetterId: letter.id, originalMessageId: plan.messageId },
  });
  if (!enqueued) throw busError('redrive_already_queued', `dead letter ${letter.id}: re-drive ${redriveCount} was already queued`);
  await recordAuditEvent(tx, {
    occurredAt: input.at,
    actor: { type: 'operator', id: input.operator },
    action: 'dead_letter.redriven',
    subject: { type: 'dead_letter', id: String(letter.id) },
    details: { topic: plan.topic, messageId: plan.messageId, source: letter.source, outboxId: String(enqueued.outboxId), redriveCount },
  });
  return { deadLetterId: letter.id, topic: plan.topic, messageId: plan.messageId, outboxId: enqueued.outboxId, redriveCount };
}

/**
 * Re-publishes one dead letter to its topic under its original message id (see the note at the top
 * of this file), marks it re-driven and audits it. The message goes out with the next relay run.
 * A letter already re-driven may be re-driven again (after a fix); one an operator resolved may not.
 *
 * @throws PermanentError with a `RedriveRefusalCode`, or `operator_required`.
 */
export async function redriveDeadLetter(db: Db, input: RedriveInput): Promise<Redrive> {
  assertOperator(input.operator);
  return db.transaction(async (tx) => {
    const letter = await findDeadLetter(tx, input.deadLetterId, { lock: true });
    if (!letter) throw refuse('dead_letter_not_found', `No dead letter has id ${input.deadLetterId}.`, input.deadLetterId);
    if (letter.resolution === 'resolved') {
      throw refuse('dead_letter_resolved', `Dead letter ${letter.id} was resolved by ${letter.resolvedBy ?? 'an operator'} (${letter.resolutionNote ?? 'no reason given'}); it is not re-driven.`, letter);
    }
    return redriveLocked(tx, letter, input);
  });
}

export interface RedriveBatchInput {
  topic: string;
  /** Letters whose latest failure is at or after this instant… */
  since: Date;
  /** …and before this one. Default: no upper bound. */
  until?: Date;
  operator: string;
  at: Date;
  /** List what would be re-driven and refused, change nothing. */
  isDryRun?: boolean;
}

export interface RedriveRefusal {
  deadLetterId: bigint;
  code: string;
  message: string;
}

export interface RedriveBatchReport {
  isDryRun: boolean;
  /** Re-driven (or, in a dry run, that would be), oldest failure first. In a dry run `outboxId` is undefined and `redriveCount` is the count it would reach. */
  redriven: (Omit<Redrive, 'outboxId'> & { outboxId: bigint | undefined })[];
  refused: RedriveRefusal[];
}

/** The most letters one batch takes; run it again for more. */
export const REDRIVE_BATCH_LIMIT = 500;

/**
 * Re-drives every open dead letter of `topic` that failed in the window, each in its own
 * transaction (one that cannot be re-driven is reported and does not stop the others). A letter
 * resolved or re-driven meanwhile by someone else is left alone.
 *
 * @throws PermanentError `dead_letter_unknown_topic` when no consumer reads `topic`.
 */
export async function redriveDeadLetters(db: Db, input: RedriveBatchInput): Promise<RedriveBatchReport> {
  assertOperator(input.operator);
  if (!isTopicName(input.topic)) throw busError('dead_letter_unknown_topic', `No consumer reads a topic named "${input.topic}".`, { topic: input.topic });
  const { rows } = await db.query<{ id: bigint }>(
    `SELECT id FROM dead_letters
      WHERE topic = $1 AND resolved_at IS NULL AND coalesce(reopened_at, created_at) >= $2
        AND ($3::timestamptz IS NULL OR coalesce(reopened_at, created_at) < $3)
      ORDER BY coalesce(reopened_at, created_at), id
      LIMIT ${REDRIVE_BATCH_LIMIT}`,
    [input.topic, input.since, input.until ?? null],
  );
  const report: RedriveBatchReport = { isDryRun: input.isDryRun === true, redriven: [], refused: [] };
  for (const { id } of rows) {
    try {
      if (input.isDryRun) {
        const letter = await findDeadLetter(db, id);
        if (!letter) continue;
        const plan = planRedrive(letter);
        report.redriven.push({ deadLetterId: id, topic: plan.topic, messageId: plan.messageId, outboxId: undefined, redriveCount: letter.redriveCount + 1 });
        continue;
      }
      const redrive = await db.transaction(async (tx) => {
        const letter = await findDeadLetter(tx, id, { lock: true });
        return letter && letter.resolvedAt === undefined ? redriveLocked(tx, letter, input) : undefined;
      });
      if (redrive) report.redriven.push(redrive);
    } catch (error) {
      if (!(error instanceof AppError) || error.isRetryable) throw error;
      report.refused.push({ deadLetterId: id, code: error.code, message: error.message });
    }
  }
  return report;
}

export interface ResolveInput {
  deadLetterId: bigint;
  operator: string;
  /** Why nothing more is to be done; kept on the letter and in the audit log. */
  reason: string;
  at: Date;
}

/**
 * Closes an open dead letter without re-driving it (the cause was handled another way, or the
 * input was worthless), with the operator's reason, audited.
 *
 * @throws PermanentError `dead_letter_not_found`, `dead_letter_resolved` (already closed, re-driven
 *   or resolved), `operator_required`, `reason_required`.
 */
export async function resolveDeadLetter(db: Db, input: ResolveInput): Promise<DeadLetterRecord> {
  assertOperator(input.operator);
  const reason = input.reason.trim();
  if (reason === '') throw busError('reason_required', 'Say why the dead letter needs nothing more (--reason <text>).');
  return db.transaction(async (tx) => {
    const letter = await findDeadLetter(tx, input.deadLetterId, { lock: true });
    if (!letter) throw refuse('dead_letter_not_found', `No dead letter has id ${input.deadLetterId}.`, input.deadLetterId);
    if (letter.resolvedAt) {
      throw refuse('dead_letter_resolved', `Dead letter ${letter.id} is already closed (${letter.resolution ?? 'resolved'} by ${letter.resolvedBy ?? 'an operator'} at ${letter.resolvedAt.toISOString()}).`, letter);
    }
    await tx.query(`UPDATE dead_letters SET resolved_at = $2, resolution = 'resolved', resolved_by = $3, resolution_note = $4 WHERE id = $1`, [
      letter.id,
      input.at,
      input.operator,
      reason.slice(0, 2000),
    ]);
    await recordAuditEvent(tx, {
      occurredAt: input.at,
      actor: { type: 'operator', id: input.operator },
      action: 'dead_letter.resolved',
      subject: { type: 'dead_letter', id: String(letter.id) },
      details: { topic: letter.topic ?? null, messageId: letter.messageId ?? null, source: letter.source, reason: reason.slice(0, 500) },
    });
    return { ...letter, resolvedAt: input.at, resolution: 'resolved', resolvedBy: input.operator, resolutionNote: reason.slice(0, 2000) };
  });
}
