import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildPubSubCloudEvent } from '../../bus/index.js';
import { loadTopology, type Topology } from '../../bus/topology.js';
import { createMemoryKeyValueStore } from '../../kv/index.js';
import { createLogger } from '../../logging/index.js';
import { provideServices, resetServices, type Services } from '../../runtime/index.js';
import { type BusHarness, CONTRACT_CONSUMER, createEffectsTable, defineBusContract, registerContractFunction } from '../bus-contract.js';
import { createTestDatabase } from '../database.js';
import { startFunctionHost } from '../sandbox/function-host.js';
import { createHttpInvoker, createInProcessBus } from './in-process-bus.js';

const MAX_ATTEMPTS = 5;

function contractTopology(): Topology {
  const topology = loadTopology();
  // The contract's own consumer is the only subscriber of payment-settled here.
  topology.subscriptions = topology.subscriptions.filter((subscription) => subscription.topic !== 'payment-settled');
  topology.subscriptions.push({
    function: CONTRACT_CONSUMER,
    topic: 'payment-settled',
    deadLetterTopic: 'payment-settled-dlq',
    maxDeliveryAttempts: MAX_ATTEMPTS,
    minBackoffSeconds: 10,
    maxBackoffSeconds: 600,
    timeoutSeconds: 60,
  });
  return topology;
}

async function startHarness(options: { deliverTwice: boolean }) {
  const testDb = await createTestDatabase();
  await createEffectsTable(testDb.db);
  let hostUrl = '';
  const bus = createInProcessBus({
    topology: contractTopology(),
    invoke: (name, request) => createHttpInvoker(hostUrl)(name, request),
    backoffScale: 0,
    deliverTwice: options.deliverTwice,
  });
  const lines: string[] = [];
  const services: Services = {
    db: testDb.db,
    kv: createMemoryKeyValueStore(),
    publisher: bus,
    logger: createLogger({ write: (line) => lines.push(line), minSeverity: 'DEBUG' }),
    clock: { now: () => new Date() },
    projectId: 'paygateprime-test',
  };
  provideServices(services);
  registerContractFunction();
  const host = await startFunctionHost({ functions: ['relay-outbox', 'record-dead-letter'], preloaded: [CONTRACT_CONSUMER] });
  hostUrl = host.url;
  const harness: BusHarness = {
    services,
    settle: () => bus.drain(),
    publishTick: async (topic, body) => {
      await bus.publish(topic, body);
    },
    maxDeliveryAttempts: MAX_ATTEMPTS,
    deliveriesPerMessage: options.deliverTwice ? 2 : 1,
  };
  return { testDb, bus, host, harness, lines };
}

describe('in-process bus', () => {
  let context: Awaited<ReturnType<typeof startHarness>>;
  beforeAll(async () => {
    context = await startHarness({ deliverTwice: false });
  });
  afterAll(async () => {
    await context.bus.close();
    await context.host.close();
    await context.testDb.dispose();
    resetServices();
  });

  defineBusContract(() => context.harness);

  it('delivers the binary CloudEvent a gen2 function receives (MessagePublishedData, base64 data, both id spellings)', async () => {
    const captured: { name: string; headers: Record<string, string>; body: string }[] = [];
    const topology = loadTopology();
    const capturing = createInProcessBus({
      topology,
      projectId: 'demo',
      invoke: async (name, request) => {
        captured.push({ name, ...request });
        return 204;
      },
    });
    await capturing.publish('outbox-relay-requested', { job: 'relay-outbox' }, { attributes: { pgp_message_id: 'm-1' } });
    await capturing.drain();
    expect(captured).toHaveLength(1);
    const [request] = captured;
    expect(request?.name).toBe('relay-outbox');
    expect(request?.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': '//pubsub.googleapis.com/projects/demo/topics/outbox-relay-requested',
      'content-type': 'application/json',
    });
    const body = JSON.parse(request?.body ?? '{}');
    expect(body.subscription).toBe('projects/demo/subscriptions/outbox-relay-requested--relay-outbox');
    expect(body.message.messageId).toBe(request?.headers['ce-id']);
    expect(body.message.message_id).toBe(body.message.messageId);
    expect(body.message.attributes).toEqual({ pgp_message_id: 'm-1' });
    expect(JSON.parse(Buffer.from(body.message.data, 'base64').toString('utf8'))).toEqual({ job: 'relay-outbox' });
    await capturing.close();
  });

  it('rejects at publish a message that does not match the topic Avro schema, as Pub/Sub does', async () => {
    await expect(context.bus.publish('payment-settled', { paymentId: 42 })).rejects.toMatchObject({ code: 'publish_rejected' });
    await expect(context.bus.publish('no-such-topic', {})).rejects.toMatchObject({ code: 'publish_rejected' });
  });

  it('acknowledges and dead-letters a delivery whose data fails the message schema', async () => {
    const request = buildPubSubCloudEvent({
      projectId: 'paygateprime-test',
      topic: 'payment-settled',
      subscription: 'payment-settled--test',
      pubsubMessageId: 'schema-invalid-1',
      publishTime: new Date(),
      data: JSON.stringify({ paymentId: 'not-a-uuid' }),
      attributes: {},
    });
    const response = await fetch(`${context.host.url}/${CONTRACT_CONSUMER}`, { method: 'POST', headers: request.headers, body: request.body });
    expect(response.status).toBe(204);
    const { rows } = await context.testDb.db.query(`SELECT reason_code FROM dead_letters WHERE message_id = 'schema-invalid-1'`);
    expect(rows).toEqual([{ reason_code: 'invalid_message' }]);
  });

  it('acknowledges and dead-letters a request that is not a Pub/Sub CloudEvent at all', async () => {
    const response = await fetch(`${context.host.url}/${CONTRACT_CONSUMER}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-id': 'garbage-1',
        'ce-specversion': '1.0',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': '//pubsub.googleapis.com/projects/p/topics/payment-settled',
      },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(response.status).toBe(204);
    const { rows } = await context.testDb.db.query(`SELECT reason_code FROM dead_letters WHERE message_id = 'garbage-1'`);
    expect(rows).toEqual([{ reason_code: 'malformed_envelope' }]);
  });
});

describe('in-process bus in duplicate-delivery mode', () => {
  let context: Awaited<ReturnType<typeof startHarness>>;
  beforeAll(async () => {
    context = await startHarness({ deliverTwice: true });
  });
  afterAll(async () => {
    await context.bus.close();
    await context.host.close();
    await context.testDb.dispose();
    resetServices();
  });

  defineBusContract(() => context.harness);

  it('delivered every acknowledged message a second time with the same ids', () => {
    const duplicates = context.bus.events.filter((event) => event.type === 'delivered' && event.isDuplicate);
    expect(duplicates.length).toBeGreaterThan(0);
  });
});

describe('in-process bus with a state file', () => {
  let folder = '';
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'pgp-bus-state-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('delivers after a restart what the last run had not delivered, with the same message id, the attempt count and the retry schedule going on', async () => {
    const stateFile = path.join(folder, 'bus.json');
    const topology = loadTopology();
    const seen: { function: string; messageId: string | undefined; attempt: number; atMs: number }[] = [];
    const first = createInProcessBus({
      topology,
      stateFile,
      backoffScale: 0.05, // the retry waits 10 s × 0.05 = 500 ms: the run stops before it
      invoke: async (name, request) => {
        seen.push({ function: name, messageId: request.headers['ce-id'], attempt: 1, atMs: Date.now() });
        return 503; // the function is down
      },
    });
    const messageId = await first.publish('payout-tracking-requested', { job: 'track-payouts' });
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    await first.close();

    // A restart does not hurry the retry (Pub/Sub keeps its own schedule whatever the subscriber does):
    // a crash loop must not burn through the attempts while a stopped delivery's claim still stands.
    const second = createInProcessBus({
      topology,
      stateFile,
      backoffScale: 0,
      invoke: async (name, request) => {
        seen.push({ function: name, messageId: request.headers['ce-id'], attempt: 2, atMs: Date.now() });
        return 204;
      },
    });
    expect(second.resume()).toBe(1);
    await second.drain();
    expect(seen.map(({ atMs: _atMs, ...delivery }) => delivery)).toEqual([
      { function: 'track-payouts', messageId, attempt: 1 },
      { function: 'track-payouts', messageId, attempt: 2 },
    ]);
    expect((seen[1]?.atMs ?? 0) - (seen[0]?.atMs ?? 0)).toBeGreaterThanOrEqual(490);
    expect(second.events).toEqual([expect.objectContaining({ type: 'delivered', pubsubMessageId: messageId, attempt: 2, isAck: true })]);

    // Acked: a third run has nothing left to deliver.
    const third = createInProcessBus({ topology, stateFile, invoke: async () => 204 });
    expect(third.resume()).toBe(0);
  });
});
