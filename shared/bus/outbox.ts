import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock/index.js';
import type { Db, Tx } from '../db/index.js';
import { errorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { TOPIC_SCHEMAS, type TopicMessage, type TopicName } from '../messages/index.js';
import { MESSAGE_ID_ATTRIBUTE } from './cloud-event.js';
import type { Publisher } from './publisher.js';

export interface EnqueueOptions {
  /** One message per logical event, e.g. `payment-settled:<payment id>`; a repeat enqueues nothing. */
  dedupeKey?: string;
  attributes?: Record<string, string>;
  /** When the message was written (from the stage's clock). */
  at: Date;
  /**
   * Only for re-driving a dead letter (`redriveDeadLetter`): publish under the letter's original
   * message id instead of a new one, so consumers that already handled it absorb the re-drive.
   */
  redrive?: { deadLetterId: bigint; originalMessageId: string };
}

export interface EnqueuedMessage {
  outboxId: bigint;
  /** The id consumers will de-duplicate on (`pgp_message_id`): new, or a re-driven letter's original. */
  messageId: string;
}

/**
 * Writes a message to the outbox inside the caller's transaction: it is published only if that
 * transaction commits, and it is never lost once it has. Returns undefined when `dedupeKey` was
 * already enqueued. An invalid message is a bug in the caller and throws before anything is written.
 */
export async function enqueueMessage<T extends TopicName>(
  tx: Tx,
  topic: T,
  message: TopicMessage<T>,
  options: EnqueueOptions,
): Promise<EnqueuedMessage | undefined> {
  const payload = TOPIC_SCHEMAS[topic].parse(message);
  const messageId = randomUUID();
  const { rows } = await tx.query<{ id: bigint }>(
    `INSERT INTO outbox (message_id, topic, payload, attributes, dedupe_key, created_at, dead_letter_id, original_message_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING id`,
    [
      messageId,
      topic,
      JSON.stringify(payload),
      JSON.stringify(options.attributes ?? {}),
      options.dedupeKey ?? null,
      options.at,
      options.redrive?.deadLetterId ?? null,
      options.redrive?.originalMessageId ?? null,
    ],
  );
  const row = rows[0];
  return row ? { outboxId: row.id, messageId: options.redrive?.originalMessageId ?? messageId } : undefined;
}

/**
 * Makes an already published outbox message due again, found by its dedupe key (or its message id):
 * the relay publishes the same row, with the same `pgp_message_id`, so a consumer that had in fact
 * applied it (handle-once, a unique dedupe key) does nothing, and one whose delivery was lost (a
 * crash, a dead letter) applies it now. A message not yet published is left to the relay. Returns
 * whether a message was made due.
 */
export async function republishMessage(tx: Tx, key: { dedupeKey: string } | { messageId: string }, at: Date): Promise<boolean> {
  const [column, value] = 'dedupeKey' in key ? ['dedupe_key', key.dedupeKey] : ['message_id', key.messageId];
  if (column === 'message_id' && !UUID.test(value)) return false;
  const { rowCount } = await tx.query(
    `UPDATE outbox SET published_at = NULL, provider_message_id = NULL, leased_until = NULL,
            republish_count = republish_count + 1, last_republished_at = $2
      WHERE ${column} = $1 AND published_at IS NOT NULL`,
    [value, at],
  );
  return rowCount === 1;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface RelayDeps {
  db: Db;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
}

export interface RelayOptions {
  /** Most rows to publish in this run. Default 100. */
  limit?: number;
  /** How long a claimed row is reserved for this relay before another may take it. Default 60 s. */
  leaseSeconds?: number;
}

export interface RelayReport {
  published: number;
  failed: number;
}

interface OutboxRow {
  id: bigint;
  message_id: string;
  topic: string;
  payload: unknown;
  attributes: Record<string, string>;
  original_message_id: string | null;
}

/**
 * Publishes what a request just queued, before an HTTP function answers: gen2 may throttle the CPU
 * once the response is sent. A failure is only logged; the scheduled `relay-outbox` publishes what
 * this misses.
 */
export async function relayAfterCommit(deps: RelayDeps): Promise<void> {
  await relayOutbox(deps, { limit: 20 }).catch((error: unknown) => deps.logger.warn('outbox.relay_after_commit_failed', { error }));
}

/**
 * Publishes outbox rows not yet published, oldest first. Rows are claimed with a lease in a short
 * transaction, published with no transaction open, then marked. Concurrent relays skip each other's
 * rows; a relay that dies after publishing but before marking leaves the row to be published again
 * after its lease, which consumers absorb because they de-duplicate on `pgp_message_id`.
 */
export async function relayOutbox(deps: RelayDeps, options: RelayOptions = {}): Promise<RelayReport> {
  const now = deps.clock.now();
  const leaseUntil = new Date(now.getTime() + (options.leaseSeconds ?? 60) * 1000);
  const claimed = await deps.db.transaction(async (tx) => {
    const { rows } = await tx.query<OutboxRow>(
      `UPDATE outbox SET leased_until = $1, publish_attempts = publish_attempts + 1
       WHERE id IN (
         SELECT id FROM outbox
         WHERE published_at IS NULL AND (leased_until IS NULL OR leased_until < $2)
         ORDER BY id
         LIMIT $3
         FOR UPDATE SKIP LOCKED)
       RETURNING id, message_id, topic, payload, attributes, original_message_id`,
      [leaseUntil, now, options.limit ?? 100],
    );
    return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
  });

  const report: RelayReport = { published: 0, failed: 0 };
  for (const row of claimed) {
    // A re-driven dead letter goes out under its original id (see sql/017); every other row under its own.
    const messageId = row.original_message_id ?? row.message_id;
    try {
      const providerMessageId = await deps.publisher.publish(row.topic, row.payload, {
        attributes: { ...row.attributes, [MESSAGE_ID_ATTRIBUTE]: messageId },
      });
      await deps.db.query(
        `UPDATE outbox SET published_at = $2, provider_message_id = $3, leased_until = NULL, last_error = NULL
         WHERE id = $1`,
        [row.id, deps.clock.now(), providerMessageId],
      );
      report.published++;
      deps.logger.debug('outbox.published', { outboxId: row.id, messageId, topic: row.topic, providerMessageId });
    } catch (error) {
      report.failed++;
      // Release the lease so the next relay run retries it; the error stays on the row for operators.
      await deps.db
        .query('UPDATE outbox SET leased_until = NULL, last_error = $2 WHERE id = $1', [row.id, errorCode(error)])
        .catch(() => undefined);
      deps.logger.warn('outbox.publish_failed', { outboxId: row.id, messageId, topic: row.topic, error });
    }
  }
  return report;
}
