import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as ff from '@google-cloud/functions-framework';
import { getFunction, getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineErrors } from '../errors/index.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { type BinaryCloudEventRequest, buildPubSubCloudEvent, enqueueMessage, handleOnce, MESSAGE_ID_ATTRIBUTE } from '../bus/index.js';
import { consume } from './index.js';

/** The errors the test's stage raises on purpose. */
const stageError = defineErrors({ provider_unavailable: 'unavailable', unknown_payment: 'invalid' });

const FUNCTION = 'consume-function-test';

/**
 * A stage written with consume(), registered with the real Functions Framework (`ff.cloudEvent`),
 * fetched back with `getFunction` and fed the binary-mode CloudEvents Eventarc pushes for Pub/Sub:
 * the function resolving is an ack, throwing is a nack (Pub/Sub delivers again).
 *
 * The stage: for a payment-settled message, once per message id, queue an invite-requested message
 * (relayed to the bus right after commit). Per payment id the test can make it fail transiently
 * (until released) or refuse the payment.
 */
describe('consume() behind the Functions Framework', () => {
  let h: StageHarness;
  let handler: (event: ff.CloudEvent<unknown>) => Promise<void>;
  const behaviours = new Map<string, 'transient' | 'refuse' | 'transient-after-commit'>();
  const runs = new Map<string, number>();

  beforeAll(async () => {
    h = await createStageHarness();
    ff.cloudEvent(
      FUNCTION,
      consume({
        consumer: FUNCTION,
        topic: 'payment-settled',
        handle: async (delivery, services) => {
          const { paymentId } = delivery.message;
          runs.set(paymentId, (runs.get(paymentId) ?? 0) + 1);
          if (behaviours.get(paymentId) === 'transient') throw stageError('provider_unavailable', 'down for now');
          if (behaviours.get(paymentId) === 'refuse') throw stageError('unknown_payment', 'No payment has this id', { paymentId });
          if (behaviours.get(paymentId) === 'transient-after-commit') {
            // A first transaction commits its message, then a later step fails transiently.
            await services.db.transaction((tx) =>
              enqueueMessage(tx, 'invite-requested', { paymentId }, { at: services.clock.now(), dedupeKey: `invite-requested:${paymentId}` }),
            );
            throw stageError('provider_unavailable', 'down for now');
          }
          await handleOnce(services.db, delivery, services.clock.now(), (tx) =>
            enqueueMessage(tx, 'invite-requested', { paymentId }, { at: services.clock.now(), dedupeKey: `invite-requested:${paymentId}` }),
          );
        },
      }),
    );
    const registered = getFunction(FUNCTION);
    if (!registered) throw new Error(`${FUNCTION} was not registered`);
    handler = registered as typeof handler;
  });
  afterAll(() => h?.close());

  /** What Eventarc sends for one Pub/Sub delivery of `data`; `pgp_message_id` names the message for de-duplication. */
  function pushRequest(data: string, ids: { messageId: string; pubsubMessageId?: string }): BinaryCloudEventRequest {
    return buildPubSubCloudEvent({
      projectId: h.services.projectId,
      topic: 'payment-settled',
      subscription: `payment-settled--${FUNCTION}`,
      pubsubMessageId: ids.pubsubMessageId ?? randomUUID(),
      publishTime: h.clock.now(),
      data,
      attributes: { [MESSAGE_ID_ATTRIBUTE]: ids.messageId },
    });
  }

  /** The CloudEvent the framework hands the function for a binary-mode request: `ce-*` headers as attributes, the JSON body as data. */
  function binaryModeEvent(request: BinaryCloudEventRequest): ff.CloudEvent<unknown> {
    const attributes = Object.fromEntries(Object.entries(request.headers).flatMap(([name, value]) => (name.startsWith('ce-') ? [[name.slice(3), value]] : [])));
    return { ...attributes, data: JSON.parse(request.body) } as ff.CloudEvent<unknown>;
  }

  const deliver = (request: BinaryCloudEventRequest) => handler(binaryModeEvent(request));
  const settled = (paymentId: string) => JSON.stringify({ paymentId });

  async function recordOf(paymentId: string, messageId: string) {
    const { rows } = await h.db.query<{ processed: number; invites: number; deadLetters: number }>(
      `SELECT (SELECT count(*) FROM processed_messages WHERE consumer = $3 AND message_id = $2)::int AS processed,
              (SELECT count(*) FROM outbox WHERE topic = 'invite-requested' AND payload->>'paymentId' = $1)::int AS invites,
              (SELECT count(*) FROM dead_letters WHERE source = $3 AND message_id = $2)::int AS "deadLetters"`,
      [paymentId, messageId, FUNCTION],
    );
    return { ...rows[0], published: h.published('invite-requested').filter((message) => (message as { paymentId?: string }).paymentId === paymentId).length };
  }

  it('runs a valid message and acknowledges it; what it queued is published once', async () => {
    const paymentId = randomUUID();
    const messageId = randomUUID();
    await expect(deliver(pushRequest(settled(paymentId), { messageId }))).resolves.toBeUndefined();
    expect(await recordOf(paymentId, messageId)).toEqual({ processed: 1, invites: 1, deadLetters: 0, published: 1 });
  });

  it.each([
    ['the same push again', 'same'],
    ['a re-publish (new Pub/Sub id, same pgp_message_id)', 'republished'],
    ['the same push twice at the same moment', 'concurrent'],
  ] as const)('acknowledges %s without a second effect', async (_name, kind) => {
    const paymentId = randomUUID();
    const messageId = randomUUID();
    const first = pushRequest(settled(paymentId), { messageId });
    await deliver(first);
    if (kind === 'same') await deliver(first);
    if (kind === 'republished') await deliver(pushRequest(settled(paymentId), { messageId }));
    if (kind === 'concurrent') await Promise.all([deliver(first), deliver(first)]);
    expect(await recordOf(paymentId, messageId)).toEqual({ processed: 1, invites: 1, deadLetters: 0, published: 1 });
  });

  it.each([
    ['data that is not JSON', () => '{"paymentId":', 'invalid_message'],
    ['a message that fails its schema', () => JSON.stringify({ paymentId: 'not-a-uuid' }), 'invalid_message'],
    [
      'a payment the stage refuses (PermanentError)',
      (paymentId: string) => {
        behaviours.set(paymentId, 'refuse');
        return settled(paymentId);
      },
      'unknown_payment',
    ],
  ] as const)('records %s as one dead letter and acknowledges it, also when it is delivered again', async (_name, data, reasonCode) => {
    const paymentId = randomUUID();
    const messageId = randomUUID();
    const request = pushRequest(data(paymentId), { messageId });
    await expect(deliver(request)).resolves.toBeUndefined();
    await expect(deliver(request)).resolves.toBeUndefined();

    const { rows } = await h.db.query<{ reason_code: string; topic: string }>('SELECT reason_code, topic FROM dead_letters WHERE source = $1 AND message_id = $2', [
      FUNCTION,
      messageId,
    ]);
    expect(rows).toEqual([{ reason_code: reasonCode, topic: 'payment-settled' }]);
    expect(await recordOf(paymentId, messageId)).toEqual({ processed: 0, invites: 0, deadLetters: 1, published: 0 });
  });

  it('throws on a transient failure (a nack: Pub/Sub delivers again), leaving no trace, and applies the redelivery once', async () => {
    const paymentId = randomUUID();
    const messageId = randomUUID();
    behaviours.set(paymentId, 'transient');
    const request = pushRequest(settled(paymentId), { messageId });
    await expect(deliver(request)).rejects.toMatchObject({ code: 'provider_unavailable' });
    await expect(deliver(request)).rejects.toMatchObject({ code: 'provider_unavailable' });
    expect(await recordOf(paymentId, messageId)).toEqual({ processed: 0, invites: 0, deadLetters: 0, published: 0 });

    behaviours.delete(paymentId);
    await deliver(request);
    expect(runs.get(paymentId)).toBe(3);
    expect(await recordOf(paymentId, messageId)).toEqual({ processed: 1, invites: 1, deadLetters: 0, published: 1 });
  });

  it('publishes at once what a transaction committed before a transient failure, and the redelivery adds nothing', async () => {
    const paymentId = randomUUID();
    const messageId = randomUUID();
    behaviours.set(paymentId, 'transient-after-commit');
    const request = pushRequest(settled(paymentId), { messageId });
    await expect(deliver(request)).rejects.toMatchObject({ code: 'provider_unavailable' });
    // Not left leased for 30 s: the failing delivery relayed its committed row itself.
    expect(await recordOf(paymentId, messageId)).toEqual({ processed: 0, invites: 1, deadLetters: 0, published: 1 });

    behaviours.delete(paymentId);
    await deliver(request);
    expect(await recordOf(paymentId, messageId)).toEqual({ processed: 1, invites: 1, deadLetters: 0, published: 1 });
  });

  it('answers the same binary-mode requests over HTTP as Pub/Sub reads them: 2xx for an ack, 500 for a nack', async () => {
    const server = getTestServer(FUNCTION).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const post = async (request: BinaryCloudEventRequest) =>
        (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'POST', headers: request.headers, body: request.body })).status;
      const acked = randomUUID();
      const nacked = randomUUID();
      behaviours.set(nacked, 'transient');
      const messageId = randomUUID();
      expect(await post(pushRequest(settled(acked), { messageId }))).toBeLessThan(300);
      expect(await post(pushRequest(settled(nacked), { messageId: randomUUID() }))).toBe(500);
      expect(await recordOf(acked, messageId)).toEqual({ processed: 1, invites: 1, deadLetters: 0, published: 1 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
