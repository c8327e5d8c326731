import type { CloudEvent } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryKeyValueStore } from '../kv/index.js';
import { createLogger } from '../logging/index.js';
import { provideServices, resetServices } from '../runtime/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { consume } from './index.js';

/** A Cloud Scheduler tick as Eventarc delivers it: no pgp_message_id, so Pub/Sub's id names it. */
function tickEvent(pubsubMessageId: string): CloudEvent<unknown> {
  return {
    specversion: '1.0',
    id: pubsubMessageId,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: '//pubsub.googleapis.com/projects/p/topics/conversion-requested',
    data: {
      message: { messageId: pubsubMessageId, publishTime: '2026-01-01T00:00:00.000Z', data: Buffer.from('{"job":"convert-accumulated"}').toString('base64') },
      subscription: 'projects/p/subscriptions/convert-accumulated',
    },
  } as CloudEvent<unknown>;
}

describe('consume', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    provideServices({
      db: testDb.db,
      kv: createMemoryKeyValueStore(),
      publisher: { publish: async () => 'unused' },
      logger: createLogger({ write: () => undefined }),
      clock: createFakeClock('2026-01-01T00:00:30Z'),
      projectId: 'p',
    });
  });
  afterAll(async () => {
    resetServices();
    await testDb?.dispose();
  });

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
});
