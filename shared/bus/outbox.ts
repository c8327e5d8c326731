import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock/index.js';
import type { AlongsideWrite, Db, Queryable, Tx } from '../db/index.js';
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
export async function enqueueMessages(
  tx: Tx,
  messages: readonly OutboxMessage[],
  /** `alongside`: a write run in the same statement as the messages' insert, even when there is no message. */
  options: { alongside?: AlongsideWrite } = {},
): Promise<(EnqueuedMessage | undefined)[]> {
  const { alongside } = options;
  if (messages.length === 0) {
    if (alongside) await tx.query(alongside.sql, alongside.params);
    return [];
  }
  const insert = outboxInsert(messages, 1 + (alongside?.params.length ?? 0));
  const { rows } = await tx.query<InsertedOutboxRow>(
    alongside ? `WITH alongside AS (${alongside.sql}) ${insert.sql}` : insert.sql,
    [...(alongside?.params ?? []), ...insert.params],
  );
  return insert.inserted(tx, rows);
}

/** What the outbox INSERT of `outboxInsert` returns per row it wrote (`payload` only with `fillId`). */
export interface InsertedOutboxRow {
  id: bigint;
  message_id: string;
  payload?: unknown;
}

/**
 * Stands in for an id that the statement queueing a message learns itself (the row it upserts): in
 * a message's payload and dedupe key, `outboxInsert`'s `fillId` replaces it in SQL. A valid UUID, so
 * the topic's schema checks the message as it will be.
 */
export const ID_FILLED_BY_SQL = '00000000-0000-4000-8000-0000000f111d';

/** An outbox INSERT of known messages, to run alone (`enqueueMessages`) or as a CTE of the caller's statement. */
export interface OutboxInsert {
  /** `INSERT … RETURNING id, message_id` (for a CTE: `queued AS (${sql})`, then select its rows). */
  sql: string;
  params: unknown[];
  /**
   * Call with the rows the INSERT returned, in the transaction that ran it (or with the database,
   * when it ran as one statement of its own): returns, per message in order, its row or undefined
   * (its `dedupeKey` was already enqueued), and hands the rows to the request or delivery running
   * (`trackQueuedMessages`) once the transaction commits (at once for a statement of its own).
   */
  inserted(q: Tx | Queryable, rows: readonly InsertedOutboxRow[]): (EnqueuedMessage | undefined)[];
}

/**
 * Builds the INSERT of `messages` into the outbox, its parameters numbered from `firstParam`, for
 * `enqueueMessages` or for a caller that writes an effect and its messages in one statement. With
 * `when` (SQL over the caller's CTEs), rows are written only where it holds (`… WHERE EXISTS (SELECT 1
 * FROM settled)`). Inside a request or delivery that relays what it queued, each row is written
 * already leased to it (`OWNED_LEASE_SECONDS`): after commit it publishes the row from what it holds
 * in memory and marks it, with no claim statement (`relayAfterCommit`), and no other relay takes the
 * row meanwhile; if it never does (it crashed, its publish failed), the lease runs out and the row is
 * an orphan like any other. With `fillId` (SQL over the caller's CTEs, text), `ID_FILLED_BY_SQL` in
 * the messages' payloads and dedupe keys is replaced by that id, and the INSERT returns the payload.
 */
export function outboxInsert(messages: readonly OutboxMessage[], firstParam = 1, options: { when?: string; fillId?: string } = {}): OutboxInsert {
  const scope = queuedInScope.getStore();
  const params: unknown[] = [];
  const rows = messages.map((entry) => {
    const at = entry.options.at;
    params.push(
      randomUUID(),
      entry.topic,
      JSON.stringify(entry.payload),
      JSON.stringify(entry.options.attributes ?? {}),
      entry.options.dedupeKey ?? null,
      at,
      entry.options.redrive?.deadLetterId ?? null,
      entry.options.redrive?.originalMessageId ?? null,
      scope ? new Date(at.getTime() + OWNED_LEASE_SECONDS * 1000) : null,
      scope ? 1 : 0, // the publish it is leased for
    );
    const n = firstParam + params.length - PARAMS_PER_ROW;
    const filled = (param: string) => (options.fillId ? `replace(${param}, '${ID_FILLED_BY_SQL}', ${options.fillId})` : param);
    return `($${n}::uuid, $${n + 1}::text, ${filled(`$${n + 2}::text`)}::jsonb, $${n + 3}::jsonb, ${filled(`$${n + 4}::text`)}, $${n + 5}::timestamptz, $${n + 6}::bigint, $${n + 7}::text, $${n + 8}::timestamptz, $${n + 9}::int)`;
  });
  const columns = 'message_id, topic, payload, attributes, dedupe_key, created_at, dead_letter_id, original_message_id, leased_until, publish_attempts';
  const values = `VALUES ${rows.join(', ')}`;
  return {
    sql: `INSERT INTO outbox (${columns})
     ${options.when ? `SELECT * FROM (${values}) AS queued (${columns}) WHERE ${options.when}` : values}
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING id, message_id::text AS message_id${options.fillId ? ', payload' : ''}`,
    params,
    inserted: (q, insertedRows) => {
      const rowByMessageId = new Map(insertedRows.map((row) => [row.message_id, row]));
      const queued: QueuedOutboxRow[] = [];
      const enqueued = messages.map((entry, index) => {
        const messageId = params[index * PARAMS_PER_ROW] as string;
        const row = rowByMessageId.get(messageId);
        if (row === undefined) return undefined;
        const outboxId = BigInt(row.id);
        const publishedAs = entry.options.redrive?.originalMessageId ?? messageId;
        const payload = options.fillId ? row.payload : entry.payload;
        queued.push({ id: outboxId, leased: { topic: entry.topic, payload, attributes: entry.options.attributes ?? {}, messageId: publishedAs } });
        return { outboxId, messageId: publishedAs };
      });
      if (scope && queued.length > 0) {
        if ('inTransaction' in q) (q as Tx).onCommit(() => scope.push(...queued));
        else scope.push(...queued);
      }
      return enqueued;
    },
  };
}

const PARAMS_PER_ROW = 10;

/**
 * How long a row written inside a relaying request or delivery is leased to it: from the insert until
 * it publishes after commit. As long as the orphan age, so such a row is left alone exactly as long as
 * an unleased one would be.
 */
const OWNED_LEASE_SECONDS = 30;

/**
 * An outbox row a request or delivery queued: its id, and when it was written leased to it
 * (`outboxInsert`), what to publish, so the relay after commit need not claim and read it.
 */
export interface QueuedOutboxRow {
  id: bigint;
  leased?: { topic: TopicName; payload: unknown; attributes: Record<string, string>; messageId: string };
}

// The outbox rows written while a request or delivery ran, added when their transaction commits
// (rows of `outboxInsertSql`, written by the caller's own SQL, when the caller tracks them).
const queuedInScope = new AsyncLocalStorage<QueuedOutboxRow[]>();

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
  // Pushed now, not on commit: the relay claims such rows by id, and an id that was rolled back names none.
  queuedInScope.getStore()?.push(...outboxIds.map((id) => ({ id })));
}

/**
 * Runs `work` (a request, a delivery) and returns, with its result, the outbox ids it queued, so that
 * the caller publishes exactly those after commit (`relayAfterCommit`) instead of whatever else is
 * in the outbox: a request never waits on other requests' messages.
 */
export async function trackQueuedMessages<T>(work: () => Promise<T>, queued: QueuedOutboxRow[] = []): Promise<{ result: T; queued: QueuedOutboxRow[] }> {
  // `queued` given by the caller keeps what committed even when `work` throws afterwards.
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

/** How many left-behind rows a request's relay drains besides its own (`relayAfterCommit`). */
const ORPHANS_PER_REQUEST = 5;

/**
 * Publishes what a request or delivery just queued (`trackQueuedMessages`), before an HTTP function
 * answers (gen2 may throttle the CPU once the response is sent), together with a few rows of the
 * same topics whose own writer failed to publish them (older than 30 s), so a backlog drains between
 * scheduled relays. Rows written leased to the caller (`outboxInsert`) are published from memory and
 * then marked, the orphans claimed in that same statement: one statement in all; rows it only knows
 * by id are claimed first (`relayOutbox`). A failure is only logged; the scheduled `relay-outbox`
 * publishes what this misses.
 */
export async function relayAfterCommit(deps: RelayDeps, queued: readonly QueuedOutboxRow[]): Promise<void> {
  if (queued.length === 0) return;
  const leased: OutboxRow[] = [];
  const byId: bigint[] = [];
  for (const row of queued) {
    if (row.leased) {
      const { topic, payload, attributes, messageId } = row.leased;
      leased.push({ id: row.id, message_id: messageId, topic, payload, attributes, original_message_id: null });
    } else byId.push(row.id);
  }
  try {
    if (byId.length > 0) await relayOutbox(deps, { only: byId, orphans: ORPHANS_PER_REQUEST, alsoTopicsOf: leased });
    if (leased.length > 0) await publishLeasedRows(deps, leased, byId.length > 0 ? 0 : ORPHANS_PER_REQUEST);
  } catch (error) {
    deps.logger.warn('outbox.relay_after_commit_failed', { error });
  }
}

/**
 * Publishes rows leased to the caller since their insert, then marks them and, in the same statement,
 * claims up to `orphans` unleased rows of their topics older than 30 s, which it publishes and marks
 * in turn (a second round only when there are any).
 */
async function publishLeasedRows(deps: RelayDeps, rows: readonly OutboxRow[], orphans: number): Promise<void> {
  const { published, failed } = await publishRows(deps, rows);
  const now = deps.clock.now();
  let claimed: OutboxRow[] = [];
  if (published.length > 0 && orphans > 0) {
    const { rows: orphanRows } = await deps.db.query<OutboxRow>(
      `WITH marked AS (${MARK_PUBLISHED_SQL} RETURNING outbox.id)
       UPDATE outbox SET leased_until = $4, publish_attempts = publish_attempts + 1
        WHERE id IN (SELECT id FROM outbox
                      WHERE published_at IS NULL AND (leased_until IS NULL OR leased_until < $1) AND created_at < $5
                        AND topic = ANY($6::text[]) AND id <> ALL($2::bigint[])
                      ORDER BY id LIMIT $7 FOR UPDATE SKIP LOCKED)
        RETURNING id, message_id, topic, payload, attributes, original_message_id`,
      [
        ...markPublishedParams(now, published),
        new Date(now.getTime() + DEFAULT_LEASE_SECONDS * 1000),
        new Date(now.getTime() - ORPHAN_AGE_SECONDS * 1000),
        [...new Set(rows.map((row) => row.topic))],
        orphans,
      ],
    );
    claimed = orphanRows;
  } else if (published.length > 0) {
    await deps.db.query(MARK_PUBLISHED_SQL, markPublishedParams(now, published));
  }
  await releaseFailedRows(deps, failed);
  if (claimed.length > 0) await publishAndMark(deps, claimed);
}

/**
 * Runs `work` (an HTTP request's handling) and then, before the caller answers, publishes the outbox
 * rows it queued: `trackQueuedMessages` and `relayAfterCommit` together.
 */
export async function runAndRelay<T>(deps: RelayDeps, work: () => Promise<T>): Promise<T> {
  // trackQueuedMessages inlined: one promise fewer on every request, most of which queue nothing.
  const queued: QueuedOutboxRow[] = [];
  try {
    return await queuedInScope.run(queued, work);
  } finally {
    // Also when `work` failed after a transaction committed: its rows go out now, not after their lease.
    if (queued.length > 0) await relayAfterCommit(deps, queued);
  }
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
  /** With `only`: orphans may also be of these rows' topics (rows the caller publishes itself). */
  alsoTopicsOf?: readonly { topic: string }[];
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
  const leaseUntil = new Date(now.getTime() + (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000);
  const due = `published_at IS NULL AND (leased_until IS NULL OR leased_until < $2)`;
  const candidates = options.only
    ? `id IN (SELECT id FROM outbox WHERE id = ANY($3::bigint[]) AND ${due} FOR UPDATE SKIP LOCKED)
       OR id IN (SELECT id FROM outbox WHERE ${due} AND created_at < $4
                   AND (topic IN (SELECT topic FROM outbox WHERE id = ANY($3::bigint[])) OR topic = ANY($6::text[]))
                 ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED)`
    : `id IN (SELECT id FROM outbox WHERE ${due} ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)`;
  const params = options.only
    ? [
        leaseUntil,
        now,
        options.only.map(String),
        new Date(now.getTime() - ORPHAN_AGE_SECONDS * 1000),
        options.orphans ?? 0,
        [...new Set((options.alsoTopicsOf ?? []).map((row) => row.topic))],
      ]
    : [leaseUntil, now, options.limit ?? 100];
  // One statement, so no explicit transaction: the row locks are held only while it runs.
  const { rows: claimed } = await deps.db.query<OutboxRow>(
    `UPDATE outbox SET leased_until = $1, publish_attempts = publish_attempts + 1
      WHERE ${candidates}
      RETURNING id, message_id, topic, payload, attributes, original_message_id`,
    params,
  );
  return publishAndMark(deps, claimed);
}

const DEFAULT_LEASE_SECONDS = 60;

/** Publishes claimed rows concurrently (the Pub/Sub client sends them in parallel), then marks the sent and releases the failed. */
async function publishAndMark(deps: RelayDeps, rows: OutboxRow[]): Promise<RelayReport> {
  const { published, failed } = await publishRows(deps, rows);
  if (published.length > 0) await deps.db.query(MARK_PUBLISHED_SQL, markPublishedParams(deps.clock.now(), published));
  await releaseFailedRows(deps, failed);
  return { published: published.length, failed: failed.length };
}

interface PublishedRow {
  row: OutboxRow;
  providerMessageId: string;
}

interface FailedRow {
  row: OutboxRow;
  error: unknown;
}

async function publishRows(deps: RelayDeps, rows: readonly OutboxRow[]): Promise<{ published: PublishedRow[]; failed: FailedRow[] }> {
  const sorted = [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const outcomes = await Promise.all(
    sorted.map(async (row): Promise<PublishedRow | FailedRow> => {
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
  return {
    published: outcomes.filter((outcome): outcome is PublishedRow => 'providerMessageId' in outcome),
    failed: outcomes.filter((outcome): outcome is FailedRow => 'error' in outcome),
  };
}

/** Marks published rows ($1 now, $2 ids, $3 provider message ids). */
const MARK_PUBLISHED_SQL = `UPDATE outbox SET published_at = $1, provider_message_id = sent.provider_message_id, leased_until = NULL, last_error = NULL
         FROM unnest($2::bigint[], $3::text[]) AS sent (id, provider_message_id)
        WHERE outbox.id = sent.id`;

function markPublishedParams(now: Date, published: readonly PublishedRow[]): unknown[] {
  return [now, published.map((outcome) => String(outcome.row.id)), published.map((outcome) => outcome.providerMessageId)];
}

/** Releases the leases of rows whose publish failed, so the next relay run retries them; the error stays on the row for operators. */
async function releaseFailedRows(deps: RelayDeps, failed: readonly FailedRow[]): Promise<void> {
  if (failed.length === 0) return;
  await deps.db
    .query(
      `UPDATE outbox SET leased_until = NULL, last_error = failure.last_error
         FROM unnest($1::bigint[], $2::text[]) AS failure (id, last_error)
        WHERE outbox.id = failure.id`,
      [failed.map((outcome) => String(outcome.row.id)), failed.map((outcome) => errorCode(outcome.error))],
    )
    .catch(() => undefined);
}
