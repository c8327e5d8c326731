import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { type DeadLetter, deadLetterAction, listDeadLetters, recordDeadLetter, redriveDeadLetter, resolveDeadLetter, retrieveDeadLetter } from './index.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);

/** A payment-settled message that exhausted its attempts, as record-dead-letter keeps it. */
function settledLetter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    source: 'payment-settled--settle-payment',
    topic: 'payment-settled',
    messageId: randomUUID(),
    reasonCode: 'max_delivery_attempts',
    reason: 'Delivery failed 10 times; forwarded to payment-settled-dlq',
    data: JSON.stringify({ paymentId: randomUUID() }),
    attributes: { pgp_message_id: 'x', CloudPubSubDeadLetterSourceDeliveryCount: '10' },
    deliveryAttempt: 10,
    at: NOW,
    ...overrides,
  };
}

describe('dead letters', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.dispose());

  describe('recordDeadLetter', () => {
    it('records a message once and returns the same id for a redelivery, keeping the first reason', async () => {
      const letter = settledLetter();
      const first = await recordDeadLetter(testDb.db, letter);
      expect(first.outcome).toBe('recorded');
      const again = await recordDeadLetter(testDb.db, { ...letter, reason: 'another reason', at: minutes(1) });
      expect(again).toEqual({ id: first.id, outcome: 'already_recorded' });
      expect((await retrieveDeadLetter(testDb.db, first.id))?.reason).toBe(letter.reason);
    });

    it('records every letter without a message id on its own', async () => {
      const letter = settledLetter({ source: 'record-dead-letter', messageId: undefined, reasonCode: 'malformed_envelope' });
      const first = await recordDeadLetter(testDb.db, letter);
      const second = await recordDeadLetter(testDb.db, letter);
      expect([first.outcome, second.outcome]).toEqual(['recorded', 'recorded']);
      expect(second.id).not.toBe(first.id);
    });

    it('re-opens the record of a re-driven message that fails again, with the new reason', async () => {
      const letter = settledLetter();
      const { id } = await recordDeadLetter(testDb.db, letter);
      await redriveDeadLetter(testDb.db, { deadLetterId: id, operator: 'ops@example.com', at: minutes(5) });
      const failedAgain = await recordDeadLetter(testDb.db, { ...letter, reasonCode: 'unknown_payment', reason: 'No such payment', deliveryAttempt: undefined, at: minutes(6) });
      expect(failedAgain).toEqual({ id, outcome: 'reopened' });
      const reopened = await retrieveDeadLetter(testDb.db, id);
      expect(reopened).toMatchObject({
        reasonCode: 'unknown_payment',
        reason: 'No such payment',
        createdAt: NOW,
        reopenedAt: minutes(6),
        lastFailedAt: minutes(6),
        resolvedAt: undefined,
        resolution: undefined,
        redriveCount: 1,
        lastRedrivenBy: 'ops@example.com',
      });
      // Its redelivery is a duplicate again, not a second re-open.
      expect((await recordDeadLetter(testDb.db, { ...letter, at: minutes(7) })).outcome).toBe('already_recorded');
    });

    it('leaves a letter an operator resolved by hand resolved when the message arrives again', async () => {
      const letter = settledLetter();
      const { id } = await recordDeadLetter(testDb.db, letter);
      await resolveDeadLetter(testDb.db, { deadLetterId: id, operator: 'ops@example.com', reason: 'refunded by hand', at: minutes(1) });
      expect(await recordDeadLetter(testDb.db, { ...letter, at: minutes(2) })).toEqual({ id, outcome: 'already_recorded' });
      expect((await retrieveDeadLetter(testDb.db, id))?.resolution).toBe('resolved');
    });
  });

  it('names the command that shows a letter', () => {
    expect(deadLetterAction(42n)).toBe('npm run dead-letters -- show 42');
  });

  describe('listDeadLetters', () => {
    it('lists open letters newest failure first, filtered by topic, source and time; resolved ones only when asked', async () => {
      const topic = 'invite-requested';
      const base = new Date('2027-03-01T00:00:00Z');
      const at = (minute: number) => new Date(base.getTime() + minute * 60_000);
      const data = JSON.stringify({ paymentId: randomUUID() });
      const older = await recordDeadLetter(testDb.db, { source: 'send-invite', topic, messageId: randomUUID(), reasonCode: 'telegram_forbidden', reason: 'blocked', data, at: at(1) });
      const newer = await recordDeadLetter(testDb.db, { source: 'send-invite', topic, messageId: randomUUID(), reasonCode: 'telegram_forbidden', reason: 'blocked', data, at: at(2) });
      const otherSource = await recordDeadLetter(testDb.db, { source: 'invite-requested--send-invite', topic, messageId: randomUUID(), reasonCode: 'max_delivery_attempts', reason: 'x', data, at: at(3) });
      const resolved = await recordDeadLetter(testDb.db, { source: 'send-invite', topic, messageId: randomUUID(), reasonCode: 'telegram_forbidden', reason: 'blocked', data, at: at(4) });
      await resolveDeadLetter(testDb.db, { deadLetterId: resolved.id, operator: 'ops@example.com', reason: 'user left', at: at(5) });

      const ids = async (filter: Parameters<typeof listDeadLetters>[1]) => (await listDeadLetters(testDb.db, filter)).map((letter) => letter.id);
      expect(await ids({ topic })).toEqual([otherSource.id, newer.id, older.id]);
      expect(await ids({ topic, source: 'send-invite' })).toEqual([newer.id, older.id]);
      expect(await ids({ topic, since: at(2) })).toEqual([otherSource.id, newer.id]);
      expect(await ids({ topic, includeResolved: true })).toEqual([resolved.id, otherSource.id, newer.id, older.id]);
      expect(await ids({ topic: 'no-such-topic' })).toEqual([]);
      const [first] = await listDeadLetters(testDb.db, { topic, source: 'send-invite' });
      expect(first).toMatchObject({ id: newer.id, source: 'send-invite', topic, reasonCode: 'telegram_forbidden', createdAt: at(2), redriveCount: 0 });
    });
  });

  describe('retrieveDeadLetter', () => {
    it('returns everything about a letter, with its attributes and re-drives', async () => {
      const letter = settledLetter({ attributes: { pgp_message_id: 'm', trace: 't-1' } });
      const { id } = await recordDeadLetter(testDb.db, letter);
      await redriveDeadLetter(testDb.db, { deadLetterId: id, operator: 'ops@example.com', at: minutes(3) });
      const detail = await retrieveDeadLetter(testDb.db, id);
      expect(detail).toMatchObject({
        id,
        source: letter.source,
        topic: 'payment-settled',
        messageId: letter.messageId,
        data: letter.data,
        attributes: { pgp_message_id: 'm', trace: 't-1' },
        deliveryAttempt: 10,
        resolution: 'redriven',
        resolvedBy: 'ops@example.com',
        resolvedAt: minutes(3),
        lastRedrivenAt: minutes(3),
      });
      expect(detail?.redrives).toEqual([{ outboxId: expect.any(BigInt), queuedAt: minutes(3), publishedAt: undefined, lastError: undefined }]);
    });

    it('returns undefined for an id no letter has', async () => {
      expect(await retrieveDeadLetter(testDb.db, 987_654_321n)).toBeUndefined();
    });
  });
});
