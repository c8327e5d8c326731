import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { countStatements } from '../testing/statement-counter.js';
import { enqueueMessage, enqueueMessages, MESSAGE_ID_ATTRIBUTE, outboxMessage, type Publisher, relayAfterCommit, relayOutbox, runAndRelay, trackInsertedOutboxRows, trackQueuedMessages } from './index.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const logger = createLogger({ write: () => undefined });

/** A publisher that records what it was given and can hold publishes until released. */
function recordingPublisher(options: { failFor?: Set<string> } = {}) {
  const published: { topic: string; paymentId: string; messageId: string }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const publisher: Publisher = {
    async publish(topic, message, publishOptions) {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      const paymentId = (message as { paymentId: string }).paymentId;
      if (options.failFor?.has(paymentId)) throw new Error('pubsub unavailable');
      published.push({ topic, paymentId, messageId: publishOptions?.attributes?.[MESSAGE_ID_ATTRIBUTE] ?? '' });
      return `provider-${published.length}`;
    },
  };
  return { publisher, published, maxInFlight: () => maxInFlight };
}

describe('outbox relay', () => {
  let testDb: TestDatabase;
  const clock = createFakeClock(NOW);

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => testDb.dispose());
  beforeEach(async () => {
    await testDb.db.query(`UPDATE outbox SET published_at = now(), provider_message_id = 'earlier-test' WHERE published_at IS NULL`);
  });

  const queue = (paymentId: string, at = clock.now()) =>
    testDb.db.transaction((tx) => enqueueMessage(tx, 'payment-settled', { paymentId }, { at, dedupeKey: `payment-settled:${paymentId}` }));

  it('publishes after commit only what the request queued, not rows other requests are about to publish', async () => {
    const theirs = randomUUID();
    await queue(theirs); // another request's row, committed a moment ago
    const ours = [randomUUID(), randomUUID()];
    const { queued } = await trackQueuedMessages(async () => {
      for (const paymentId of ours) await queue(paymentId);
    });
    const recording = recordingPublisher();
    await relayAfterCommit({ db: testDb.db, publisher: recording.publisher, clock, logger }, queued);
    expect(recording.published.map((entry) => entry.paymentId).sort()).toEqual([...ours].sort());
    const { rows } = await testDb.db.query<{ paymentId: string; published: boolean }>(
      `SELECT payload->>'paymentId' AS "paymentId", published_at IS NOT NULL AS published FROM outbox WHERE payload->>'paymentId' = ANY($1)`,
      [[theirs, ...ours]],
    );
    expect(Object.fromEntries(rows.map((row) => [row.paymentId, row.published]))).toEqual({ [theirs]: false, [ours[0]!]: true, [ours[1]!]: true });
  });

  it('also drains a row whose writer never published it (older than 30 s), and publishes nothing for a request that queued nothing', async () => {
    const orphan = randomUUID();
    await queue(orphan, new Date(NOW.getTime() - 60_000));
    const recording = recordingPublisher();
    await relayAfterCommit({ db: testDb.db, publisher: recording.publisher, clock, logger }, []);
    expect(recording.published).toEqual([]);

    const ours = randomUUID();
    const { queued } = await trackQueuedMessages(() => queue(ours));
    await relayAfterCommit({ db: testDb.db, publisher: recording.publisher, clock, logger }, queued);
    expect(recording.published.map((entry) => entry.paymentId).sort()).toEqual([orphan, ours].sort());
  });

  it('drains left-behind rows only of the topics the caller queued to (its service account may publish only there)', async () => {
    const otherTopic = randomUUID();
    await testDb.db.transaction((tx) =>
      enqueueMessage(tx, 'invite-requested', { paymentId: otherTopic }, { at: new Date(NOW.getTime() - 60_000), dedupeKey: `invite-requested:${otherTopic}` }),
    );
    const sameTopic = randomUUID();
    await queue(sameTopic, new Date(NOW.getTime() - 60_000));
    const ours = randomUUID();
    const { queued } = await trackQueuedMessages(() => queue(ours));
    const recording = recordingPublisher();
    await relayAfterCommit({ db: testDb.db, publisher: recording.publisher, clock, logger }, queued);
    expect(recording.published.map((entry) => entry.paymentId).sort()).toEqual([sameTopic, ours].sort());
    expect(recording.published.map((entry) => entry.topic)).toEqual(['payment-settled', 'payment-settled']);
  });

  it('does not record ids of a transaction that rolled back, and a rolled-back row is never published', async () => {
    const { queued } = await trackQueuedMessages(() =>
      testDb.db
        .transaction(async (tx) => {
          await enqueueMessage(tx, 'payment-settled', { paymentId: randomUUID() }, { at: clock.now() });
          throw new Error('roll back on purpose');
        })
        .catch(() => undefined),
    );
    expect(queued).toEqual([]); // rows are handed to the request only when their transaction commits
    const recording = recordingPublisher();
    await relayAfterCommit({ db: testDb.db, publisher: recording.publisher, clock, logger }, queued);
    expect(recording.published).toEqual([]);
  });

  it('publishes a batch concurrently and marks each row, keeping the failed ones for the next run with their error', async () => {
    const paymentIds = Array.from({ length: 8 }, () => randomUUID());
    for (const paymentId of paymentIds) await queue(paymentId);
    const failing = paymentIds[3]!;
    const recording = recordingPublisher({ failFor: new Set([failing]) });
    const report = await relayOutbox({ db: testDb.db, publisher: recording.publisher, clock, logger });
    expect(report).toEqual({ published: 7, failed: 1 });
    expect(recording.maxInFlight()).toBeGreaterThan(1);
    const { rows } = await testDb.db.query<{ paymentId: string; provider: string | null; lastError: string | null; leased: boolean; messageId: string }>(
      `SELECT payload->>'paymentId' AS "paymentId", provider_message_id AS provider, last_error AS "lastError",
              leased_until IS NOT NULL AS leased, message_id::text AS "messageId"
         FROM outbox WHERE payload->>'paymentId' = ANY($1)`,
      [paymentIds],
    );
    const failed = rows.find((row) => row.paymentId === failing);
    expect(failed).toMatchObject({ provider: null, lastError: 'unexpected_error', leased: false });
    for (const row of rows.filter((entry) => entry.paymentId !== failing)) {
      // Each row is marked with the provider id its own publish returned.
      const sent = recording.published.findIndex((entry) => entry.paymentId === row.paymentId);
      expect(row.provider).toBe(`provider-${sent + 1}`);
      expect(recording.published[sent]?.messageId).toBe(row.messageId);
    }

    const retry = recordingPublisher();
    expect(await relayOutbox({ db: testDb.db, publisher: retry.publisher, clock, logger })).toEqual({ published: 1, failed: 0 });
    expect(retry.published.map((entry) => entry.paymentId)).toEqual([failing]);
  });

  it('writes a request\'s rows leased to it, so no other relay takes them, and publishes and marks them after commit in one statement', async () => {
    const ours = randomUUID();
    const counter = countStatements(testDb.db);
    const recording = recordingPublisher();
    const deps = { db: counter.db, publisher: recording.publisher, clock, logger };
    const { queued } = await trackQueuedMessages(async () => {
      await counter.db.transaction((tx) => enqueueMessage(tx, 'payment-settled', { paymentId: ours }, { at: clock.now(), dedupeKey: `payment-settled:${ours}` }));
      // Between the commit and the request's own relay: the scheduled relay leaves the row alone.
      expect(await relayOutbox({ ...deps, db: testDb.db })).toEqual({ published: 0, failed: 0 });
    });
    const { rows: leased } = await testDb.db.query<{ leasedUntil: Date; attempts: number }>(
      `SELECT leased_until AS "leasedUntil", publish_attempts AS attempts FROM outbox WHERE payload->>'paymentId' = $1`,
      [ours],
    );
    expect(leased).toEqual([{ leasedUntil: new Date(NOW.getTime() + 30_000), attempts: 1 }]);

    const before = counter.counts().statements;
    await relayAfterCommit(deps, queued);
    expect(counter.counts().statements - before).toBe(1); // the mark, with the orphans' claim in it; no claim of its own rows
    expect(recording.published).toEqual([{ topic: 'payment-settled', paymentId: ours, messageId: expect.any(String) }]);
    const { rows } = await testDb.db.query<{ messageId: string; published: boolean; leased: boolean }>(
      `SELECT message_id::text AS "messageId", published_at IS NOT NULL AS published, leased_until IS NOT NULL AS leased FROM outbox WHERE payload->>'paymentId' = $1`,
      [ours],
    );
    expect(rows).toEqual([{ messageId: recording.published[0]?.messageId, published: true, leased: false }]);
  });

  it('leaves a leased row of a request that stopped before relaying to the scheduled relay once its lease runs out, and releases one whose publish failed', async () => {
    const stopped = randomUUID();
    await trackQueuedMessages(() => queue(stopped)); // committed, never relayed (the instance died)
    const failing = randomUUID();
    const { queued } = await trackQueuedMessages(() => queue(failing));
    await relayAfterCommit({ db: testDb.db, publisher: recordingPublisher({ failFor: new Set([failing]) }).publisher, clock, logger }, queued);

    const scheduled = recordingPublisher();
    const deps = { db: testDb.db, publisher: scheduled.publisher, clock, logger };
    expect(await relayOutbox(deps)).toEqual({ published: 1, failed: 0 }); // the failed publish's row, released at once
    expect(scheduled.published.map((entry) => entry.paymentId)).toEqual([failing]);
    const lateClock = createFakeClock(new Date(NOW.getTime() + 31_000));
    expect(await relayOutbox({ ...deps, clock: lateClock })).toEqual({ published: 1, failed: 0 });
    expect(scheduled.published.map((entry) => entry.paymentId)).toEqual([failing, stopped]);
  });

  it('relays in one run rows it holds and rows it knows only by id (written by the caller\'s own SQL), with the orphans of both topics', async () => {
    const orphan = randomUUID();
    await testDb.db.transaction((tx) =>
      enqueueMessage(tx, 'invite-requested', { paymentId: orphan }, { at: new Date(NOW.getTime() - 60_000), dedupeKey: `invite-requested:${orphan}` }),
    );
    const held = randomUUID();
    const byId = randomUUID();
    const { queued } = await trackQueuedMessages(async () => {
      await queue(held);
      // As recordOwnerWebhookEvents does: a row its SQL wrote, tracked by id.
      const { rows } = await testDb.db.query<{ id: bigint }>(
        `INSERT INTO outbox (message_id, topic, payload, created_at, dedupe_key) VALUES (gen_random_uuid(), 'invite-requested', $1::jsonb, $2, $3) RETURNING id`,
        [JSON.stringify({ paymentId: byId }), clock.now(), `invite-requested:${byId}`],
      );
      trackInsertedOutboxRows(rows.map((row) => row.id));
    });
    expect(queued.map((row) => row.leased !== undefined)).toEqual([true, false]);
    const recording = recordingPublisher();
    await relayAfterCommit({ db: testDb.db, publisher: recording.publisher, clock, logger }, queued);
    expect(recording.published.map((entry) => entry.paymentId).sort()).toEqual([orphan, held, byId].sort());
    const { rows } = await testDb.db.query<{ unpublished: number }>(
      `SELECT count(*)::int AS unpublished FROM outbox WHERE payload->>'paymentId' = ANY($1) AND published_at IS NULL`,
      [[orphan, held, byId]],
    );
    expect(rows).toEqual([{ unpublished: 0 }]);
  });

  it('runs a caller\'s write in the statement that queues its messages, and alone when there is none', async () => {
    const counter = countStatements(testDb.db);
    await testDb.db.exec(`CREATE TABLE IF NOT EXISTS outbox_alongside_test (id text PRIMARY KEY, n int NOT NULL)`);
    const ours = randomUUID();
    const bump = (n: number) => ({ sql: 'INSERT INTO outbox_alongside_test (id, n) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET n = excluded.n', params: [ours, n] });
    await counter.db.transaction((tx) =>
      enqueueMessages(tx, [outboxMessage('payment-settled', { paymentId: ours }, { at: clock.now(), dedupeKey: `payment-settled:${ours}` })], { alongside: bump(1) }),
    );
    const queued = await testDb.db.query(`SELECT 1 FROM outbox WHERE dedupe_key = $1`, [`payment-settled:${ours}`]);
    expect(queued.rows).toHaveLength(1);
    await counter.db.transaction((tx) => enqueueMessages(tx, [], { alongside: bump(2) }));
    const { rows } = await testDb.db.query<{ n: number }>(`SELECT n FROM outbox_alongside_test WHERE id = $1`, [ours]);
    expect(rows).toEqual([{ n: 2 }]);
    expect(counter.counts()).toMatchObject({ statements: 2 + 2 * 2, transactions: 2 }); // one statement each, in BEGIN … COMMIT
  });

  it('relays what a request committed before it failed, before the failure reaches the caller', async () => {
    const ours = randomUUID();
    const recording = recordingPublisher();
    const failing = runAndRelay({ db: testDb.db, publisher: recording.publisher, clock, logger }, async () => {
      await queue(ours);
      throw new Error('a later step failed');
    });
    await expect(failing).rejects.toThrow('a later step failed');
    expect(recording.published.map((entry) => entry.paymentId)).toEqual([ours]);
  });

  it('lets two relays running at once publish each row once', async () => {
    const paymentIds = Array.from({ length: 20 }, () => randomUUID());
    for (const paymentId of paymentIds) await queue(paymentId);
    const recording = recordingPublisher();
    const deps = { db: testDb.db, publisher: recording.publisher, clock, logger };
    const reports = await Promise.all([relayOutbox(deps, { limit: 15 }), relayOutbox(deps, { limit: 15 })]);
    expect(reports.reduce((sum, report) => sum + report.published, 0)).toBe(20);
    expect(recording.published.map((entry) => entry.paymentId).sort()).toEqual([...paymentIds].sort());
  });
});
