import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe } from 'vitest';
import { createPubSubPublisher } from '../bus/index.js';
import { loadTopology, type Topology } from '../bus/topology.js';
import { createMemoryKeyValueStore } from '../kv/index.js';
import { createLogger } from '../logging/index.js';
import { provideServices, resetServices, type Services } from '../runtime/index.js';
import { type BusHarness, CONTRACT_CONSUMER, createEffectsTable, defineBusContract, registerContractFunction } from './bus-contract.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { type FunctionHost, startFunctionHost } from './sandbox/function-host.js';
import { hasGcloud, pubsubEmulatorSettings, type RunningEmulator, startPubsubEmulator } from './sandbox/gcloud-emulators.js';
import { provisionEmulatorTopology } from './sandbox/pubsub-emulator-topology.js';

const MAX_ATTEMPTS = 5;

if (!hasGcloud) console.warn('Pub/Sub emulator bus contract skipped: gcloud is not installed on this machine');

describe.skipIf(!hasGcloud)('Pub/Sub emulator bus (push subscriptions to the function host) [skipped without gcloud]', () => {
  let emulator: RunningEmulator;
  let host: FunctionHost;
  let testDb: TestDatabase;
  let harness: BusHarness;

  beforeAll(async () => {
    emulator = await startPubsubEmulator({ projectId: 'paygateprime-bus-contract' });
    testDb = await createTestDatabase();
    await createEffectsTable(testDb.db);
    const pubsub = new PubSub(pubsubEmulatorSettings(emulator));
    const services: Services = {
      db: testDb.db,
      kv: createMemoryKeyValueStore(),
      publisher: createPubSubPublisher({ pubsub }),
      logger: createLogger({ write: () => undefined }),
      clock: { now: () => new Date() },
      projectId: emulator.projectId,
    };
    provideServices(services);
    registerContractFunction();
    host = await startFunctionHost({ functions: ['relay-outbox', 'record-dead-letter'], preloaded: [CONTRACT_CONSUMER] });
    const topology: Topology = loadTopology();
    // The contract's own consumer is the only subscriber of payment-settled here.
    topology.subscriptions = topology.subscriptions.filter((subscription) => subscription.topic !== 'payment-settled');
    topology.subscriptions.push({
      function: CONTRACT_CONSUMER,
      topic: 'payment-settled',
      deadLetterTopic: 'payment-settled-dlq',
      maxDeliveryAttempts: MAX_ATTEMPTS,
      minBackoffSeconds: 1,
      maxBackoffSeconds: 2,
      timeoutSeconds: 30,
    });
    await provisionEmulatorTopology({
      emulatorHost: emulator.host,
      projectId: emulator.projectId,
      topology,
      pushBaseUrl: host.url,
      retryPolicy: { minimumBackoffSeconds: 0, maximumBackoffSeconds: 1 },
    });
    harness = {
      services,
      settle: async () => undefined,
      publishTick: async (topic, body) => {
        await services.publisher.publish(topic, body);
      },
      maxDeliveryAttempts: MAX_ATTEMPTS,
      deliveriesPerMessage: 1,
    };
  }, 180_000);

  afterAll(async () => {
    await host?.close();
    await testDb?.dispose();
    await emulator?.stop();
    resetServices();
  });

  defineBusContract(() => harness);
});
