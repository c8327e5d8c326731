import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMessage } from '../bus/index.js';
import { createMemoryKeyValueStore } from '../kv/index.js';
import { createLogger } from '../logging/index.js';
import { provideServices, resetServices } from '../runtime/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { serveWithRelay } from './index.js';

/** Records what was answered, in order with what was published. */
function recordingResponse(events: string[]) {
  const answered: { status?: number; headers?: Record<string, string>; body?: unknown } = {};
  const response = {
    status(code: number) {
      answered.status = code;
      return {
        set(headers: Record<string, string>) {
          answered.headers = headers;
          return {
            json(body: unknown) {
              answered.body = body;
              events.push('answered');
            },
          };
        },
      };
    },
  };
  return { response, answered };
}

describe('serveWithRelay', () => {
  let testDb: TestDatabase;
  const events: string[] = [];
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    resetServices();
    await testDb?.dispose();
  });

  it('publishes what the request queued, then answers with its result', async () => {
    const clock = createFakeClock('2026-01-01T00:00:00Z');
    provideServices({
      db: testDb.db,
      kv: createMemoryKeyValueStore(),
      publisher: {
        publish: async (topic) => {
          events.push(`published ${topic}`);
          return 'provider-id';
        },
      },
      logger: createLogger({ write: () => undefined }),
      clock,
      projectId: 'p',
    });
    const { response, answered } = recordingResponse(events);
    await serveWithRelay(response, async (services) => {
      await services.db.transaction((tx) => enqueueMessage(tx, 'payment-settled', { paymentId: randomUUID() }, { at: clock.now() }));
      return { status: 200, body: { ok: true } };
    });
    expect(events).toEqual(['published payment-settled', 'answered']);
    expect(answered).toMatchObject({ status: 200, body: { ok: true } });
  });

  it('answers 503 service_unavailable, with retry-after, when the services cannot be built', async () => {
    provideServices(async () => Promise.reject(new Error('database unreachable')));
    const { response, answered } = recordingResponse([]);
    let ran = false;
    await serveWithRelay(response, async () => {
      ran = true;
      return { status: 200, body: {} };
    });
    expect(ran).toBe(false);
    expect(answered).toMatchObject({ status: 503, headers: { 'retry-after': '5' }, body: { error: { code: 'service_unavailable' } } });
  });
});
