import type { Queryable } from '../db/index.js';

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
 * Keeps input that can never succeed for an operator. Recording the same message twice (a
 * redelivered poison message) keeps the first record. Returns true when this call recorded it.
 */
export async function recordDeadLetter(db: Queryable, letter: DeadLetter): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO dead_letters (source, topic, message_id, reason_code, reason, data, attributes, delivery_attempt, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (source, message_id) WHERE message_id IS NOT NULL DO NOTHING`,
    [
      letter.source,
      letter.topic ?? null,
      letter.messageId ?? null,
      letter.reasonCode,
      letter.reason.slice(0, 2000),
      letter.data?.slice(0, 100_000) ?? null,
      JSON.stringify(letter.attributes ?? {}),
      letter.deliveryAttempt ?? null,
      letter.at,
    ],
  );
  return rowCount === 1;
}
