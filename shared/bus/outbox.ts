import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock/index.js';
import type { Db, Queryable, Tx } from '../db/index.js';
import { errorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { TOPIC_SCHEMAS, type TopicMessage, type TopicName } from '../messages/index.js';
import { MESSAGE_ID_ATTRIBUTE } from './cloud-event.js';
import { busError } from './errors.js';
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
  const [enqueued] = await enqueueMessages(tx, [outboxMessage(topic, message, options)]);
  return enqueued;
}

/** One message for `enqueueMessages`, checked against its topic's schema when built. */
export interface OutboxMessage {
  topic: TopicName;
  payload: unknown;
  options: EnqueueOptions;
}

export function outboxMessage<T extends TopicName>(topic: T, message: TopicMessage<T>, options: EnqueueOptions): OutboxMessage {
  return { topic, payload: TOPIC_SCHEMAS[topic].parse(message), options };
}

/**
 * `enqueueMessage` for several messages in one statement (a stage that queues its follow-ups
 * together). Returns, in order, each message's row, or undefined for one whose `dedupeKey` was
 * already enqueued.
 */
export async function enqueueMessages(tx: Tx, messages: readonly OutboxMessage[]): Promise<(EnqueuedMessage | undefined)[]> {
  if (messages.length === 0) return [];
  const values: unknown[] = [];
  const rows = messages.map((entry) => {
    values.push(
      randomUUID(),
      entry.topic,
      JSON.stringify(entry.payload),
      JSON.stringify(entry.options.attributes ?? {}),
      entry.options.dedupeKey ?? null,
      entry.options.at,
      entry.options.redrive?.deadLetterId ?? null,
      entry.options.redrive?.originalMessageId ?? null,
    );
    const at = values.length - 7;
    return `($${at}::uuid, $${at + 1}, $${at + 2}::jsonb, $${at + 3}::jsonb, $${at + 4}, $${at + 5}::timestamptz, $${at + 6}::bigint, $${at + 7}::text)`;
  });
  const { rows: inserted } = await tx.query<{ id: bigint; message_id: string }>(
    `INSERT INTO outbox (message_id, topic, payload, attributes, dedupe_key, created_at, dead_letter_id, original_message_id)
     VALUES ${rows.join(', ')}
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING id, message_id::text AS message_id`,
    values,
  );
  const byMessageId = new Map(inserted.map((row) => [row.message_id, row.id]));
  return messages.map((entry, index) => {
    const messageId = values[index * 8] as string;
    const outboxId = byMessageId.get(messageId);
    if (outboxId === undefined) return undefined;
    queuedInScope.getStore()?.push(outboxId);
    return { outboxId, messageId: entry.options.redrive?.originalMessageId ?? messageId };
  });
}

// The outbox rows written while a request or delivery ran (ids of a rolled-back attempt included:
// they name no row, so relaying them finds nothing).
const queuedInScope = new AsyncLocalStorage<bigint[]>();

/**
 * The SQL of an INSERT that queues one `topic` message per row of `rows.from`, for a caller that
 * writes an effect and its messages in ONE statement (a data-modifying CTE, `… queued AS (${sql})`),
 * e.g. `recordOwnerWebhookEvents`. The other arguments are SQL over the rows: the JSON payload
 * (jsonb; it must satisfy the topic's schema, which SQL cannot check: keep it to ids), the dedupe
 * key (text) and the time (timestamptz). Returns the new rows' ids; pass them to
 * `trackInsertedOutboxRows` so the request or delivery publishes them after commit.
 */
export function outboxInsertSql(topic: TopicName, rows: { from: string; payload: string; dedupeKey: string; at: string }): string {
  if (!Object.hasOwn(TOPIC_SCHEMAS, topic)) throw busError('unknown_topic', 'No such topic in TOPIC_SCHEMAS', { topic });
  return `INSERT INTO outbox (message_id, topic, payload, created_at, dedupe_key)
       SELECT gen_random_uuid(), '${topic}', ${rows.payload}, ${rows.at}, ${rows.dedupeKey} FROM ${rows.from}
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id`;
}

/**
 * Counts outbox rows a caller inserted with its own SQL (one statement that writes the effect and its
 * messages together, e.g. `recordOwnerWebhookEvents`) as queued by the current request or delivery,
 * so `relayAfterCommit` publishes them like rows from `enqueueMessages`.
 */
export function trackInsertedOutboxRows(outboxIds: readonly bigint[]): void {
  queuedInScope.getStore()?.push(...outboxIds);
}

/**
 * Runs `work` (a request, a delivery) and returns, with its result, the outbox ids it queued, so that
 * the caller publishes exactly those after commit (`relayAfterCommit`) instead of whatever else is
 * in the outbox: a request never waits on other requests' messages.
 */
export async function trackQueuedMessages<T>(work: () => Promise<T>): Promise<{ result: T; queued: bigint[] }> {
  const queued: bigint[] = [];
  const result = await queuedInScope.run(queued, work);
  return { result, queued };
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

/**
 * Makes the stage messages of stuck work due again, in one statement (the watchdog's re-drive,
 * `redriveStuckWork`): the published outbox rows `o` that `stuck.match` ties to a row of
 * `stuck.table` in `stuck.condition` whose `stuck.since` lies between `lookbackStart` and `cutoff`,
 * published before `cutoff` and created after `lookbackStart`. Like `republishMessage`, the same
 * message id goes out again. The arguments are SQL. Returns how many messages were made due.
 */
export async function republishStuckMessages(
  db: Queryable,
  stuck: { table: string; condition: string; since: string; match: string },
  window: { now: Date; cutoff: Date; lookbackStart: Date },
): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE outbox o SET published_at = NULL, provider_message_id = NULL, leased_until = NULL,
            republish_count = o.republish_count + 1, last_republished_at = $1
       FROM ${stuck.table}
      WHERE (${stuck.condition}) AND ${stuck.since} < $2 AND ${stuck.since} > $3
        AND o.published_at < $2 AND o.created_at > $3 AND (${stuck.match})`,
    [window.now, window.cutoff, window.lookbackStart],
  );
  return rowCount;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface RelayDeps {
  db: Db;
  publisher: Publisher;
  clock: Clock;
  logger: Logger;
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

/** Rows older than this that are still unpublished were evidently missed by their writer's relay. */
const ORPHAN_AGE_SECONDS = 30;

/**
 * Publishes what a request or delivery just queued (`trackQueuedMessages`), before an HTTP function
 * answers (gen2 may throttle the CPU once the response is sent), together with a few rows of the
 * same topics whose own writer failed to publish them (older than 30 s), so a backlog drains between
 * scheduled relays. A
 * failure is only logged; the scheduled `relay-outbox` publishes what this misses.
 */
export async function relayAfterCommit(deps: RelayDeps, queued: readonly bigint[]): Promise<void> {
  if (queued.length === 0) return;
  await relayOutbox(deps, { only: queued, orphans: 5 }).catch((error: unknown) => deps.logger.warn('outbox.relay_after_commit_failed', { error }));
}

/**
 * Runs `work` (an HTTP request's handling) and then, before the caller answers, publishes the outbox
 * rows it queued: `trackQueuedMessages` and `relayAfterCommit` together.
 */
export async function runAndRelay<T>(deps: RelayDeps, work: () => Promise<T>): Promise<T> {
  // trackQueuedMessages inlined: one promise fewer on every request, most of which queue nothing.
  const queued: bigint[] = [];
  const result = await queuedInScope.run(queued, work);
  if (queued.length > 0) await relayAfterCommit(deps, queued);
  return result;
}

export interface RelayOptions {
  /** Most rows to publish in this run. Default 100. */
  limit?: number;
  /** How long a claimed row is reserved for this relay before another may take it. Default 60 s. */
  leaseSeconds?: number;
  /**
   * Publish only these rows (what the caller queued), plus up to `orphans` rows left unsent for 30 s
   * on the same topics: a function's service account may publish only to the topics it queues to
   * (least privilege, see shared/deploy/function-access.ts), so it never takes another topic's row.
   */
  only?: readonly bigint[];
  orphans?: number;
}

/**
 * Publishes outbox rows not yet published, oldest first. Rows are claimed with a lease in one
 * statement, published concurrently with no transaction open (the Pub/Sub client sends them in
 * parallel), then marked in one statement. Concurrent relays skip each other's rows; a relay that
 * dies after publishing but before marking leaves the row to be published again after its lease,
 * which consumers absorb because they de-duplicate on `pgp_message_id`.
 */
export async function relayOutbox(deps: RelayDeps, options: RelayOptions = {}): Promise<RelayReport> {
  const now = deps.clock.now();
  const leaseUntil = new Date(now.getTime() + (options.leaseSeconds ?? 60) * 1000);
  const due = `published_at IS NULL AND (leased_until IS NULL OR leased_until < $2)`;
  const candidates = options.only
    ? `id IN (SELECT id FROM outbox WHERE id = ANY($3::bigint[]) AND ${due} FOR UPDATE SKIP LOCKED)
       OR id IN (SELECT id FROM outbox WHERE ${due} AND created_at < $4
                   AND topic IN (SELECT topic FROM outbox WHERE id = ANY($3::bigint[]))
                 ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED)`
    : `id IN (SELECT id FROM outbox WHERE ${due} ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)`;
  const params = options.only
    ? [leaseUntil, now, options.only.map(String), new Date(now.getTime() - ORPHAN_AGE_SECONDS * 1000), options.orphans ?? 0]
    : [leaseUntil, now, options.limit ?? 100];
  // One statement, so no explicit transaction: the row locks are held only while it runs.
  const { rows: claimed } = await deps.db.query<OutboxRow>(
    `UPDATE outbox SET leased_until = $1, publish_attempts = publish_attempts + 1
      WHERE ${candidates}
      RETURNING id, message_id, topic, payload, attributes, original_message_id`,
    params,
  );
  claimed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const outcomes = await Promise.all(
    claimed.map(async (row) => {
      // A re-driven dead letter goes out under its original id (see sql/017); every other row under its own.
      const messageId = row.original_message_id ?? row.message_id;
      try {
        const providerMessageId = await deps.publisher.publish(row.topic, row.payload, {
          attributes: { ...row.attributes, [MESSAGE_ID_ATTRIBUTE]: messageId },
        });
        deps.logger.debug('outbox.published', { outboxId: row.id, messageId, topic: row.topic, providerMessageId });
        return { row, providerMessageId };
      } catch (error) {
        deps.logger.warn('outbox.publish_failed', { outboxId: row.id, messageId, topic: row.topic, error });
        return { row, error };
      }
    }),
  );

  const published = outcomes.filter((outcome): outcome is { row: OutboxRow; providerMessageId: string } => 'providerMessageId' in outcome);
  const failed = outcomes.filter((outcome): outcome is { row: OutboxRow; error: unknown } => 'error' in outcome);
  if (published.length > 0) {
    await deps.db.query(
      `UPDATE outbox SET published_at = $1, provider_message_id = sent.provider_message_id, leased_until = NULL, last_error = NULL
         FROM unnest($2::bigint[], $3::text[]) AS sent (id, provider_message_id)
        WHERE outbox.id = sent.id`,
      [deps.clock.now(), published.map((outcome) => String(outcome.row.id)), published.map((outcome) => outcome.providerMessageId)],
    );
  }
  if (failed.length > 0) {
    // Release the leases so the next relay run retries them; the error stays on the row for operators.
    await deps.db
      .query(
        `UPDATE outbox SET leased_until = NULL, last_error = failure.last_error
           FROM unnest($1::bigint[], $2::text[]) AS failure (id, last_error)
          WHERE outbox.id = failure.id`,
        [failed.map((outcome) => String(outcome.row.id)), failed.map((outcome) => errorCode(outcome.error))],
      )
      .catch(() => undefined);
  }
  return { published: published.length, failed: failed.length };
}
