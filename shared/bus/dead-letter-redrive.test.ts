import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import {
  buildPubSubCloudEvent,
  type DeadLetter,
  decodePubSubCloudEvent,
  handleOnce,
  MESSAGE_ID_ATTRIBUTE,
  type Publisher,
  recordDeadLetter,
  redriveDeadLetter,
  redriveDeadLetters,
  redriveRefusalOf,
  relayOutbox,
  resolveDeadLetter,
  retrieveDeadLetter,
} from './index.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);
const OPERATOR = 'ops@example.com';

interface Published {
  topic: string;
  message: unknown;
  attributes: Record<string, string>;
}

function capturingPublisher(): { publisher: Publisher; published: Published[] } {
  const published: Published[] = [];
  return {
    published,
    publisher: {
      async publish(topic, message, options) {
        published.push({ topic, message, attributes: options?.attributes ?? {} });
        return `pubsub-${published.length}`;
      },
    },
  };
}

/** A payout-requested message quote-payout gave up on, as consume() keeps it. */
function payoutLetter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    source: 'quote-payout',
    topic: 'payout-requested',
    messageId: randomUUID(),
    reasonCode: 'changenow_rejected',
    reason: 'ChangeNow refused the request',
    data: JSON.stringify({ payoutId: randomUUID() }),
    attributes: {},
    at: NOW,
    ...overrides,
  };
}

describe('dead-letter re-drive', () => {
  let testDb: TestDatabase;
  const clock = createFakeClock(NOW);
  const capture = capturingPublisher();
  const relay = () => relayOutbox({ db: testDb.db, publisher: capture.publisher, clock, logger: createLogger({ write: () => undefined }) });
  const publishedFor = (body: string) => capture.published.filter((entry) => JSON.stringify(entry.message) === body);
  const auditFor = async (id: bigint) =>
    (
      await testDb.db.query<{ actor_type: string; actor_id: string; action: string; subject_type: string; details: Record<string, unknown> }>(
        'SELECT actor_type, actor_id, action, subject_type, details FROM audit_log WHERE subject_id = $1 ORDER BY id',
        [String(id)],
      )
    ).rows;
  const outboxRowsFor = async (id: bigint) =>
    (await testDb.db.query<{ message_id: string; original_message_id: string }>('SELECT message_id, original_message_id FROM outbox WHERE dead_letter_id = $1 ORDER BY id', [id])).rows;

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.dispose());

  describe('redriveDeadLetter', () => {
    it('re-publishes the body to its topic under the original message id, without the dead-letter attributes', async () => {
      const letter = payoutLetter({
        attributes: { [MESSAGE_ID_ATTRIBUTE]: 'ignored', trace: 'abc', CloudPubSubDeadLetterSourceDeliveryCount: '10', CloudPubSubDeadLetterSourceSubscription: 'projects/p/subscriptions/s' },
      });
      const { id } = await recordDeadLetter(testDb.db, letter);
      const redrive = await redriveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, at: minutes(1) });
      expect(redrive).toEqual({ deadLetterId: id, topic: 'payout-requested', messageId: letter.messageId, outboxId: expect.any(BigInt), redriveCount: 1 });

      expect(await relay()).toMatchObject({ failed: 0 });
      expect(publishedFor(letter.data ?? '')).toEqual([
        { topic: 'payout-requested', message: JSON.parse(letter.data ?? ''), attributes: { trace: 'abc', [MESSAGE_ID_ATTRIBUTE]: letter.messageId } },
      ]);
      // The outbox row keeps an id of its own; only what is published is the original.
      const [row] = await outboxRowsFor(id);
      expect(row?.original_message_id).toBe(letter.messageId);
      expect(row?.message_id).not.toBe(letter.messageId);

      expect(await retrieveDeadLetter(testDb.db, id)).toMatchObject({
        resolution: 'redriven',
        resolvedAt: minutes(1),
        resolvedBy: OPERATOR,
        redriveCount: 1,
        lastRedrivenAt: minutes(1),
        lastRedrivenBy: OPERATOR,
        redrives: [{ outboxId: redrive.outboxId, queuedAt: minutes(1), publishedAt: expect.any(Date) }],
      });
      expect(await auditFor(id)).toEqual([
        {
          actor_type: 'operator',
          actor_id: OPERATOR,
          action: 'dead_letter.redriven',
          subject_type: 'dead_letter',
          details: { topic: 'payout-requested', messageId: letter.messageId, source: 'quote-payout', outboxId: String(redrive.outboxId), redriveCount: 1 },
        },
      ]);
    });

    it('publishes the same id again when the letter is re-driven a second time', async () => {
      const letter = payoutLetter();
      const { id } = await recordDeadLetter(testDb.db, letter);
      await redriveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, at: minutes(1) });
      await relay();
      const second = await redriveDeadLetter(testDb.db, { deadLetterId: id, operator: 'other@example.com', at: minutes(2) });
      await relay();
      expect(second.redriveCount).toBe(2);
      expect(publishedFor(letter.data ?? '').map((entry) => entry.attributes[MESSAGE_ID_ATTRIBUTE])).toEqual([letter.messageId, letter.messageId]);
      expect((await outboxRowsFor(id)).map((row) => row.original_message_id)).toEqual([letter.messageId, letter.messageId]);
      expect(await retrieveDeadLetter(testDb.db, id)).toMatchObject({ redriveCount: 2, lastRedrivenBy: 'other@example.com', lastRedrivenAt: minutes(2) });
      expect((await auditFor(id)).map((row) => [row.action, row.actor_id])).toEqual([
        ['dead_letter.redriven', OPERATOR],
        ['dead_letter.redriven', 'other@example.com'],
      ]);
    });

    it('gives two re-drives at once one count each, both under the original id', async () => {
      const letter = payoutLetter();
      const { id } = await recordDeadLetter(testDb.db, letter);
      const counts = await Promise.all([1, 2].map((n) => redriveDeadLetter(testDb.db, { deadLetterId: id, operator: `ops${n}`, at: minutes(1) })));
      expect(counts.map((redrive) => redrive.redriveCount).sort()).toEqual([1, 2]);
      expect((await outboxRowsFor(id)).map((row) => row.original_message_id)).toEqual([letter.messageId, letter.messageId]);
    });

    it('is absorbed by handle-once when the consumer had already handled the message, and handled once when it had not', async () => {
      const handled = payoutLetter();
      const unhandled = payoutLetter();
      const effects: string[] = [];
      // What a stage does with a delivery: de-duplicate on the id the CloudEvent carries.
      const deliver = async (entry: Published) => {
        const request = buildPubSubCloudEvent({
          projectId: 'p',
          topic: entry.topic,
          subscription: 'payout-requested--quote-payout',
          pubsubMessageId: randomUUID(),
          publishTime: clock.now(),
          data: JSON.stringify(entry.message),
          attributes: entry.attributes,
        });
        const envelope = decodePubSubCloudEvent({ data: JSON.parse(request.body), source: request.headers['ce-source'] });
        return handleOnce(testDb.db, { consumer: 'quote-payout', messageId: envelope.messageId, topic: entry.topic }, clock.now(), async () => {
          effects.push(envelope.data);
        });
      };
      // The stage had committed its effect for `handled` before the message was dead-lettered anyway
      // (e.g. it timed out after commit on every attempt).
      await handleOnce(testDb.db, { consumer: 'quote-payout', messageId: handled.messageId ?? '', topic: 'payout-requested' }, NOW, async () => undefined);

      for (const letter of [handled, unhandled]) {
        const { id } = await recordDeadLetter(testDb.db, letter);
        await redriveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, at: minutes(1) });
        await redriveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, at: minutes(2) });
      }
      await relay();
      const outcomes = [];
      for (const entry of [...publishedFor(handled.data ?? ''), ...publishedFor(unhandled.data ?? '')]) outcomes.push((await deliver(entry)).isDuplicate);
      expect(outcomes).toEqual([true, true, false, true]);
      expect(effects).toEqual([unhandled.data]);
    });

    it.each([
      ['an HTTP entry point (no topic)', { source: 'nowpayments-ipn', topic: undefined, messageId: 'nowpayments:1:weird', reasonCode: 'orphan_payment' }, 'dead_letter_without_topic'],
      ['a scheduled sweep (source, no topic)', { source: 'track-payouts', topic: undefined, messageId: 'payout:x:changenow_exchange_not_found' }, 'dead_letter_without_topic'],
      ['a topic no consumer reads', { topic: 'unknown' }, 'dead_letter_unknown_topic'],
      ['a letter with no message id', { messageId: undefined }, 'dead_letter_without_message_id'],
      ['a body that fails the topic schema', { data: JSON.stringify({ payoutId: 'not-a-uuid' }) }, 'dead_letter_body_invalid'],
      ['a body that is not JSON', { data: '{"payoutId":' }, 'dead_letter_body_invalid'],
      ['a letter with no body', { data: undefined }, 'dead_letter_body_invalid'],
    ])('refuses %s and changes nothing', async (_, overrides, code) => {
      const { id } = await recordDeadLetter(testDb.db, payoutLetter(overrides));
      const before = await retrieveDeadLetter(testDb.db, id);
      await expect(redriveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, at: minutes(1) })).rejects.toMatchObject({ code });
      expect(redriveRefusalOf(before ?? (undefined as never))?.code).toBe(code);
      expect(await retrieveDeadLetter(testDb.db, id)).toEqual(before);
      expect(await auditFor(id)).toEqual([]);
    });

    it('refuses a letter an operator resolved, an unknown id, and a re-drive without an operator', async () => {
      const { id } = await recordDeadLetter(testDb.db, payoutLetter());
      await expect(redriveDeadLetter(testDb.db, { deadLetterId: id, operator: '  ', at: minutes(1) })).rejects.toMatchObject({ code: 'operator_required' });
      await resolveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, reason: 'paid out by hand', at: minutes(1) });
      await expect(redriveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, at: minutes(2) })).rejects.toMatchObject({ code: 'dead_letter_resolved' });
      await expect(redriveDeadLetter(testDb.db, { deadLetterId: 987_654_321n, operator: OPERATOR, at: minutes(2) })).rejects.toMatchObject({ code: 'dead_letter_not_found' });
      expect(await outboxRowsFor(id)).toEqual([]);
    });
  });

  describe('resolveDeadLetter', () => {
    it('closes an open letter with the reason, audited, once', async () => {
      const letter = payoutLetter();
      const { id } = await recordDeadLetter(testDb.db, letter);
      await expect(resolveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, reason: ' ', at: minutes(1) })).rejects.toMatchObject({ code: 'reason_required' });
      const resolved = await resolveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, reason: 'payout cancelled by the owner', at: minutes(1) });
      expect(resolved).toMatchObject({ id, resolution: 'resolved', resolvedBy: OPERATOR, resolutionNote: 'payout cancelled by the owner', resolvedAt: minutes(1) });
      expect(await retrieveDeadLetter(testDb.db, id)).toMatchObject({ resolution: 'resolved', resolvedBy: OPERATOR, resolutionNote: 'payout cancelled by the owner' });
      expect(await auditFor(id)).toEqual([
        {
          actor_type: 'operator',
          actor_id: OPERATOR,
          action: 'dead_letter.resolved',
          subject_type: 'dead_letter',
          details: { topic: 'payout-requested', messageId: letter.messageId, source: 'quote-payout', reason: 'payout cancelled by the owner' },
        },
      ]);
      await expect(resolveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, reason: 'again', at: minutes(2) })).rejects.toMatchObject({ code: 'dead_letter_resolved' });
      expect(await auditFor(id)).toHaveLength(1);
    });

    it('resolves a letter that cannot be re-driven (an IPN orphan)', async () => {
      const { id } = await recordDeadLetter(testDb.db, payoutLetter({ source: 'nowpayments-ipn', topic: undefined, messageId: `nowpayments:${randomUUID()}:finished` }));
      await resolveDeadLetter(testDb.db, { deadLetterId: id, operator: OPERATOR, reason: 'not our order', at: minutes(1) });
      expect((await auditFor(id)).map((row) => row.details)).toEqual([{ topic: null, messageId: expect.stringMatching(/^nowpayments:/), source: 'nowpayments-ipn', reason: 'not our order' }]);
    });
  });

  describe('redriveDeadLetters', () => {
    const topic = 'owner-notification-requested';
    const base = new Date('2027-05-01T00:00:00Z');
    const at = (minute: number) => new Date(base.getTime() + minute * 60_000);
    const notification = () => JSON.stringify({ kind: 'payment_received', channelId: randomUUID(), subjectId: randomUUID() });
    const letterAt = (minute: number, overrides: Partial<DeadLetter> = {}) =>
      recordDeadLetter(testDb.db, { source: 'notify-owner', topic, messageId: randomUUID(), reasonCode: 'telegram_unavailable', reason: 'x', data: notification(), at: at(minute), ...overrides });

    it('re-drives the open letters of the topic in the window, reports those it cannot, and a dry run changes nothing', async () => {
      const before = await letterAt(0);
      const first = await letterAt(10);
      const poison = await letterAt(11, { data: JSON.stringify({ kind: 'payment_received' }) });
      const second = await letterAt(12);
      const resolved = await letterAt(13);
      await resolveDeadLetter(testDb.db, { deadLetterId: resolved.id, operator: OPERATOR, reason: 'dup', at: at(14) });
      const otherTopic = await recordDeadLetter(testDb.db, payoutLetter({ at: at(15) }));
      const after = await letterAt(30);
      const window = { topic, since: at(10), until: at(30), operator: OPERATOR };

      const dryRun = await redriveDeadLetters(testDb.db, { ...window, at: at(40), isDryRun: true });
      expect(dryRun.isDryRun).toBe(true);
      expect(dryRun.redriven.map((entry) => [entry.deadLetterId, entry.outboxId, entry.redriveCount])).toEqual([
        [first.id, undefined, 1],
        [second.id, undefined, 1],
      ]);
      expect(dryRun.refused).toEqual([{ deadLetterId: poison.id, code: 'dead_letter_body_invalid', message: expect.stringContaining('not a valid owner-notification-requested message') }]);
      for (const { id } of [first, second]) expect(await outboxRowsFor(id)).toEqual([]);
      expect(await auditFor(first.id)).toEqual([]);

      const report = await redriveDeadLetters(testDb.db, { ...window, at: at(40) });
      expect(report.redriven.map((entry) => entry.deadLetterId)).toEqual([first.id, second.id]);
      expect(report.redriven.every((entry) => typeof entry.outboxId === 'bigint')).toBe(true);
      expect(report.refused.map((entry) => entry.deadLetterId)).toEqual([poison.id]);
      for (const { id } of [before, poison, resolved, otherTopic, after]) expect(await outboxRowsFor(id)).toEqual([]);
      expect((await auditFor(second.id)).map((row) => row.action)).toEqual(['dead_letter.redriven']);

      // Run again: nothing left open in the window but the poison.
      expect((await redriveDeadLetters(testDb.db, { ...window, at: at(41) })).redriven).toEqual([]);
    });

    it('takes a re-driven letter that failed again, by when it failed again', async () => {
      const letter = await letterAt(100);
      await redriveDeadLetters(testDb.db, { topic, since: at(100), until: at(101), operator: OPERATOR, at: at(102) });
      const row = await retrieveDeadLetter(testDb.db, letter.id);
      await recordDeadLetter(testDb.db, { source: 'notify-owner', topic, messageId: row?.messageId, reasonCode: 'telegram_unavailable', reason: 'again', data: row?.data, at: at(200) });
      expect((await redriveDeadLetters(testDb.db, { topic, since: at(100), until: at(101), operator: OPERATOR, at: at(201) })).redriven).toEqual([]);
      const report = await redriveDeadLetters(testDb.db, { topic, since: at(200), operator: OPERATOR, at: at(201) });
      expect(report.redriven).toEqual([expect.objectContaining({ deadLetterId: letter.id, redriveCount: 2 })]);
    });

    it('refuses a topic no consumer reads', async () => {
      await expect(redriveDeadLetters(testDb.db, { topic: 'payment-settled-dlq', since: NOW, operator: OPERATOR, at: NOW })).rejects.toMatchObject({ code: 'dead_letter_unknown_topic' });
    });
  });
});
