import type { CloudEvent } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryKeyValueStore } from '../kv/index.js';
import { getServices, provideServices } from '../runtime/index.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { consume } from './index.js';

/** A handler that waits until `release` is called, counting the runs that started. */
function blockingHandler() {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const state = { runs: 0, release: () => release() };
  const handle = async () => {
    state.runs += 1;
    await released;
  };
  return { state, handle };
}

/** Until `predicate` holds (the first delivery has taken its lease and entered the handler). */
async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(predicate()).toBe(true);
}

/** A Cloud Scheduler tick as Eventarc delivers it: no pgp_message_id, so Pub/Sub's id names it. */
function tickEvent(pubsubMessageId: string, publishTime = '2026-01-01T00:00:00.000Z'): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id: pubsubMessageId,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: '//pubsub.googleapis.com/projects/p/topics/conversion-requested',
    data: {
      message: { messageId: pubsubMessageId, publishTime, data: Buffer.from('{"job":"convert-accumulated"}').toString('base64') },
      subscription: 'projects/p/subscriptions/convert-accumulated',
    },
  } as CloudEvent<unknown>;
}

describe('consume', () => {
  let h: StageHarness;
  beforeAll(async () => {
    h = await createStageHarness({ start: '2026-01-01T00:00:30Z' });
  });
  afterAll(() => h?.close());

  it('runs a money-moving scheduler tick once, however often Pub/Sub delivers it, also at the same moment', async () => {
    let runs = 0;
    const handler = consume({
      consumer: 'convert-accumulated',
      topic: 'conversion-requested',
      isTickOnce: true,
      handle: async () => {
        runs += 1;
      },
    });
    await Promise.all([handler(tickEvent('tick-1')), handler(tickEvent('tick-1'))]);
    await handler(tickEvent('tick-1'));
    expect(runs).toBe(1);
    await handler(tickEvent('tick-2'));
    expect(runs).toBe(2);
  });

  describe('exclusiveKey', () => {
    it('runs one of two overlapping deliveries of the same message; the other runs nothing and is redelivered (transient), then the lease is free', async () => {
      const { state, handle } = blockingHandler();
      const handler = consume({ consumer: 'notify-owner', topic: 'conversion-requested', exclusiveKey: (delivery) => delivery.messageId, handle });
      const first = handler(tickEvent('dm-1'));
      await until(() => state.runs === 1);
      await expect(handler(tickEvent('dm-1'))).rejects.toMatchObject({ code: 'work_in_progress' });
      expect(state.runs).toBe(1);
      state.release();
      await first;
      // The winner released its lease when it ended: a later redelivery runs.
      await handler(tickEvent('dm-1'));
      expect(state.runs).toBe(2);
    });

    it('keys the lease by what the function returns: other messages run alongside', async () => {
      const { state, handle } = blockingHandler();
      const handler = consume({ consumer: 'send-invite', topic: 'conversion-requested', exclusiveKey: (delivery) => delivery.messageId, handle });
      const both = Promise.all([handler(tickEvent('invite-a')), handler(tickEvent('invite-b'))]);
      await until(() => state.runs === 2);
      state.release();
      await both;
    });

    it('a string key makes the whole function exclusive, and the lease is freed when the handler fails', async () => {
      const { state, handle } = blockingHandler();
      const handler = consume({ consumer: 'exclusive-run', topic: 'conversion-requested', exclusiveKey: 'run', handle });
      const first = handler(tickEvent('run-1'));
      await until(() => state.runs === 1);
      await expect(handler(tickEvent('run-2'))).rejects.toMatchObject({ code: 'work_in_progress' });
      state.release();
      await first;

      const failing = consume({
        consumer: 'exclusive-run',
        topic: 'conversion-requested',
        exclusiveKey: 'run',
        handle: async () => {
          throw new Error('boom');
        },
      });
      await expect(failing(tickEvent('run-3'))).rejects.toThrow('boom');
      await handler(tickEvent('run-4'));
      expect(state.runs).toBe(2);
    });

    it('holds the lease in the key-value store as lease:<consumer>:<key>, for 120 s at most', async () => {
      const kv = createMemoryKeyValueStore();
      const seen: { key: string; ttlSeconds?: number }[] = [];
      const services = await getServices();
      provideServices({
        ...services,
        kv: { ...kv, setIfAbsent: async (key, value, options) => (seen.push({ key, ttlSeconds: options?.ttlSeconds }), kv.setIfAbsent(key, value, options)) },
      });
      try {
        const handler = consume({ consumer: 'notify-subscriber', topic: 'conversion-requested', exclusiveKey: (delivery) => `m-${delivery.messageId}`, handle: async () => undefined });
        await handler(tickEvent('ttl-1'));
        expect(seen).toEqual([{ key: 'lease:notify-subscriber:m-ttl-1', ttlSeconds: 120 }]);
        expect(await kv.get('lease:notify-subscriber:m-ttl-1')).toBeUndefined();
      } finally {
        provideServices(services);
      }
    });
  });
});
