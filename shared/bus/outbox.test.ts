import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { enqueueMessage, MESSAGE_ID_ATTRIBUTE, type Publisher, relayAfterCommit, relayOutbox, trackQueuedMessages } from './index.js';

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
    expect(queued).toHaveLength(1); // the id was handed out, but names no committed row
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
