import { randomUUID } from 'node:crypto';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BinaryCloudEventRequest, buildPubSubCloudEvent, MESSAGE_ID_ATTRIBUTE } from '../bus/index.js';
import { consume } from '../pubsub-entry/index.js';
import { createBotApi } from '../telegram/index.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { startTelegramSimulator, type TelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import { createOperatorNotifier, type OperatorAlert, operatorAlertText, raiseOperatorAlert } from './index.js';

const OPERATOR_CHAT_ID = 999;
const MISSING_CHAT_ID = -1009999999999;

/**
 * notify-operator as its wrapper builds it (consume + createOperatorNotifier, one notifier per
 * configuration), fed the binary-mode CloudEvents Eventarc pushes for the outbox rows that
 * raiseOperatorAlert queued, against the Telegram simulator.
 */
describe('notify-operator: operator alerts in the operator’s Telegram chat', () => {
  let h: StageHarness;
  let telegram: TelegramSimulator;
  let handlers: Record<'configured' | 'unconfigured' | 'missingChat', (event: CloudEvent<unknown>) => Promise<void>>;

  beforeAll(async () => {
    h = await createStageHarness();
    telegram = await startTelegramSimulator({ clock: h.clock });
    telegram.addUser({ id: OPERATOR_CHAT_ID, first_name: 'Operator' });
    const api = createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot });
    const handlerFor = (chatId: number | undefined) => {
      const notify = createOperatorNotifier({ telegram: api, chatId });
      return consume({
        consumer: 'notify-operator',
        topic: 'operator-alert-requested',
        exclusiveKey: (delivery) => delivery.message.alertId,
        handle: async (delivery, services) => {
          await notify({ ...services, logger: delivery.logger }, delivery.message);
        },
      });
    };
    handlers = { configured: handlerFor(OPERATOR_CHAT_ID), unconfigured: handlerFor(undefined), missingChat: handlerFor(MISSING_CHAT_ID) };
  });
  afterAll(async () => {
    await telegram?.close();
    await h?.close();
  });

  const alertOf = (overrides: Partial<OperatorAlert> = {}): OperatorAlert => ({
    kind: 'test.operator_alert',
    subjectType: 'payouts',
    subjectId: randomUUID(),
    episode: 'requested@2026-01-01T00:00:00Z',
    message: 'The payout sat in requested for 10 minutes; check quote-payout.',
    details: { state: 'requested', limitSeconds: 600 },
    at: h.clock.now(),
    ...overrides,
  });

  /** The pushes Eventarc would send for the operator-alert-requested rows queued for `subjectId`, oldest first. */
  async function pushesFor(subjectId: string): Promise<BinaryCloudEventRequest[]> {
    const { rows } = await h.db.query<{ message_id: string; payload: unknown }>(
      `SELECT o.message_id::text AS message_id, o.payload FROM outbox o JOIN operator_alerts a ON o.payload->>'alertId' = a.id::text
        WHERE o.topic = 'operator-alert-requested' AND a.subject_id = $1 ORDER BY o.id`,
      [subjectId],
    );
    return rows.map((row) =>
      buildPubSubCloudEvent({
        projectId: h.services.projectId,
        topic: 'operator-alert-requested',
        subscription: 'operator-alert-requested--notify-operator',
        pubsubMessageId: randomUUID(),
        publishTime: h.clock.now(),
        data: JSON.stringify(row.payload),
        attributes: { [MESSAGE_ID_ATTRIBUTE]: row.message_id },
      }),
    );
  }

  function eventOf(request: BinaryCloudEventRequest): CloudEvent<unknown> {
    const attributes = Object.fromEntries(Object.entries(request.headers).flatMap(([name, value]) => (name.startsWith('ce-') ? [[name.slice(3), value]] : [])));
    return { ...attributes, data: JSON.parse(request.body) } as CloudEvent<unknown>;
  }

  const deliver = (request: BinaryCloudEventRequest, handler: keyof typeof handlers = 'configured') => handlers[handler](eventOf(request));
  const messagesAbout = (subjectId: string, chatId = OPERATOR_CHAT_ID) => telegram.messagesTo(chatId).filter((message) => message.text.includes(subjectId));
  const sendsTo = (chatId: number) => telegram.callsTo('sendMessage').filter((call) => call.payload.chat_id === chatId).length;

  it('queues one message with the alert and sends it once, delivered twice and twice at the same moment', async () => {
    const alert = alertOf();
    await expect(raiseOperatorAlert(h.db, h.logger, alert)).resolves.toBe(true);
    const [push] = await pushesFor(alert.subjectId);
    if (!push) throw new Error('raiseOperatorAlert queued no message');
    await Promise.allSettled([deliver(push), deliver(push)]);
    await deliver(push);
    await deliver(push);

    const sent = messagesAbout(alert.subjectId);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.text).toContain('test.operator_alert');
    expect(sent[0]?.text).toContain('The payout sat in requested for 10 minutes');
    expect(sent[0]?.text).toContain('limitSeconds: 600');
    expect(sent[0]?.text).toContain('2026-01-01 00:00 UTC');
    const { rows } = await h.db.query<{ notified: boolean; telegram_message_id: bigint | null }>(
      'SELECT notified_at IS NOT NULL AS notified, telegram_message_id FROM operator_alerts WHERE subject_id = $1',
      [alert.subjectId],
    );
    expect(rows).toEqual([{ notified: true, telegram_message_id: BigInt(sent[0]?.messageId ?? 0) }]);
  });

  it('sends nothing for an alert raised in a transaction that rolls back', async () => {
    const alert = alertOf();
    const queued = async () => (await h.db.query<{ n: bigint }>(`SELECT count(*) AS n FROM outbox WHERE topic = 'operator-alert-requested'`)).rows[0]?.n;
    const before = await queued();
    await expect(
      h.db.transaction(async (tx) => {
        await expect(raiseOperatorAlert(tx, h.logger, alert)).resolves.toBe(true);
        throw new Error('the effect failed');
      }),
    ).rejects.toThrow('the effect failed');
    expect(await queued()).toBe(before);
    expect((await h.db.query('SELECT 1 FROM operator_alerts WHERE subject_id = $1', [alert.subjectId])).rows).toEqual([]);
    expect(messagesAbout(alert.subjectId)).toEqual([]);
  });

  it('sends one message per incident: nothing more within the cool-down, again after it', async () => {
    const subjectId = randomUUID();
    const burst = (episode: string) => alertOf({ kind: 'test.cool_down_burst', subjectId, episode, coolDownSeconds: 600, at: h.clock.now() });
    expect(await raiseOperatorAlert(h.db, h.logger, burst('a'))).toBe(true);
    h.clock.advance(60_000);
    expect(await raiseOperatorAlert(h.db, h.logger, burst('b'))).toBe(false);
    for (const push of await pushesFor(subjectId)) await deliver(push);
    expect(messagesAbout(subjectId)).toHaveLength(1);

    h.clock.advance(600_000);
    expect(await raiseOperatorAlert(h.db, h.logger, burst('c'))).toBe(true);
    for (const push of await pushesFor(subjectId)) await deliver(push);
    expect(messagesAbout(subjectId)).toHaveLength(2);
  });

  it('acknowledges and sends nothing when OPERATOR_ALERT_CHAT_ID is unset, saying so in one log line', async () => {
    const before = telegram.callsTo('sendMessage').length;
    for (let index = 0; index < 2; index++) {
      const alert = alertOf();
      await raiseOperatorAlert(h.db, h.logger, alert);
      for (const push of await pushesFor(alert.subjectId)) {
        await expect(deliver(push, 'unconfigured')).resolves.toBeUndefined();
        await expect(deliver(push, 'unconfigured')).resolves.toBeUndefined();
      }
    }
    expect(telegram.callsTo('sendMessage').length).toBe(before);
    expect(h.logLines.filter((line) => line.includes('operator_alert.telegram_not_configured'))).toHaveLength(1);
    expect((await h.db.query(`SELECT 1 FROM dead_letters WHERE source = 'notify-operator' AND reason_code <> 'operator_chat_unreachable'`)).rows).toEqual([]);
  });

  it('waits out Telegram’s 429 retry_after, then sends once', async () => {
    const alert = alertOf();
    await raiseOperatorAlert(h.db, h.logger, alert);
    const [push] = await pushesFor(alert.subjectId);
    if (!push) throw new Error('raiseOperatorAlert queued no message');
    telegram.failNext('sendMessage', { errorCode: 429, description: 'Too Many Requests: retry after 30', retryAfter: 30 });
    const callsBefore = sendsTo(OPERATOR_CHAT_ID);
    await expect(deliver(push)).rejects.toMatchObject({ code: 'telegram_rate_limited' });
    // Redelivered before retry_after has passed: Telegram is not asked.
    h.clock.advance(10_000);
    await expect(deliver(push)).rejects.toMatchObject({ code: 'operator_alert_in_progress' });
    expect(sendsTo(OPERATOR_CHAT_ID)).toBe(callsBefore + 1);
    h.clock.advance(20_000);
    await expect(deliver(push)).resolves.toBeUndefined();
    await expect(deliver(push)).resolves.toBeUndefined();
    expect(messagesAbout(alert.subjectId)).toHaveLength(1);
  });

  it('dead-letters an alert for a chat the bot cannot write to, with the reason, and never retries it', async () => {
    const alert = alertOf();
    await raiseOperatorAlert(h.db, h.logger, alert);
    const [push] = await pushesFor(alert.subjectId);
    if (!push) throw new Error('raiseOperatorAlert queued no message');
    await expect(deliver(push, 'missingChat')).resolves.toBeUndefined();
    await expect(deliver(push, 'missingChat')).resolves.toBeUndefined();
    const { rows } = await h.db.query<{ reason_code: string; reason: string }>(
      `SELECT d.reason_code, d.reason FROM dead_letters d WHERE d.source = 'notify-operator' AND d.data::text LIKE '%' || (SELECT id::text FROM operator_alerts WHERE subject_id = $1) || '%'`,
      [alert.subjectId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.reason_code).toBe('operator_chat_unreachable');
    expect(rows[0]?.reason).toContain('chat not found');
    const { rows: recorded } = await h.db.query('SELECT notified_at, notify_claimed_until, notify_error FROM operator_alerts WHERE subject_id = $1', [alert.subjectId]);
    // Released, so a re-drive after the fix sends it.
    expect(recorded).toEqual([{ notified_at: null, notify_claimed_until: null, notify_error: 'telegram_bad_request' }]);
    // After the fix (the right chat), the re-driven message is sent once.
    await expect(deliver(push)).resolves.toBeUndefined();
    expect(messagesAbout(alert.subjectId)).toHaveLength(1);
  });
});

describe('operatorAlertText', () => {
  it('reads as plain text: kind, subject, time in UTC, message, details', () => {
    const text = operatorAlertText({
      id: 42n,
      alert: 'hot_wallet.deficit',
      subject_type: 'hot_wallet',
      subject_id: '0xabc:ETH',
      message: 'The hot wallet holds less than the ledger says.',
      details: { asset: 'ETH', unexplainedUnits: '-5', since: '2026-01-01T00:00:00.000Z', queuedPayouts: 3 },
      raised_at: new Date('2026-03-04T05:06:07Z'),
    });
    expect(text).toBe(
      [
        '🚨 Operator alert: hot_wallet.deficit',
        'Subject: hot_wallet 0xabc:ETH',
        'Raised: 2026-03-04 05:06 UTC',
        '',
        'The hot wallet holds less than the ledger says.',
        '',
        'Details:',
        '• asset: ETH',
        '• unexplainedUnits: -5',
        '• since: 2026-01-01T00:00:00.000Z',
        '• queuedPayouts: 3',
        '',
        'Alert #42',
      ].join('\n'),
    );
  });

  it('stays within Telegram’s message length', () => {
    const text = operatorAlertText({ id: 1n, alert: 'a.b', subject_type: 's', subject_id: 'x', message: 'm'.repeat(1000), details: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'.repeat(500)])), raised_at: new Date(0) });
    expect(text.length).toBeLessThanOrEqual(4000);
  });
});
