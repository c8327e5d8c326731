import { loadTopology } from '../bus/topology.js';
import type { Db } from '../db/index.js';
import { createMemoryKeyValueStore } from '../kv/index.js';
import { createLogger, type Logger } from '../logging/index.js';
import { provideServices, resetServices, type Services } from '../runtime/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { type FakeClock, createFakeClock } from './fakes/clock.js';
import { createInProcessBus, type FunctionInvoker, type InProcessBus } from './fakes/in-process-bus.js';
import { type ChannelFixture, type ChannelOverrides, FIXTURE_NOW, insertChannel, insertTier, type TierFixture } from './fixtures.js';

/**
 * What a stage test sets up before its first test: a migrated throw-away database (a server copy
 * with DATABASE_URL, else PGlite), a fake clock, a logger that keeps its lines, an in-process bus
 * that records (and Avro-checks) what is published, and the runtime services built from them, so
 * `consume()` wrappers and `getServices()` see the same database, clock and publisher.
 *
 *   let h: StageHarness;
 *   beforeAll(async () => { h = await createStageHarness(); });
 *   afterAll(() => h?.close());
 */
export interface StageHarness {
  readonly database: TestDatabase;
  readonly db: Db;
  readonly clock: FakeClock;
  readonly logger: Logger;
  /** Every line the logger wrote (JSON), oldest first. */
  readonly logLines: string[];
  /** The publisher of `services`. */
  readonly bus: InProcessBus;
  /** Provided to the runtime (`getServices()`) until `close()`. */
  readonly services: Services;
  /** A channel of a new owner account with one tier (fixtures' defaults: instant ETH payouts, $9.99 for 30 days). */
  seedChannel(overrides?: ChannelOverrides & { tier?: { priceCents?: bigint; durationDays?: number } }): Promise<SeededChannel>;
  /** The messages published on the bus to `topic`, parsed, oldest first. */
  published(topic: string): unknown[];
  /** Stops the bus, forgets the services and drops the database. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface SeededChannel {
  ownerAccountId: string;
  channel: ChannelFixture;
  tier: TierFixture;
}

export interface StageHarnessOptions {
  /** Where the fake clock starts. Default FIXTURE_NOW, the instant fixtures stamp rows with. */
  start?: Date | string;
  /** Where the bus delivers what is published. Default: nobody runs, every delivery is acknowledged. */
  invoke?: FunctionInvoker;
}

export async function createStageHarness(options: StageHarnessOptions = {}): Promise<StageHarness> {
  const database = await createTestDatabase();
  const clock = createFakeClock(options.start ?? FIXTURE_NOW);
  const logLines: string[] = [];
  const logger = createLogger({ write: (line) => logLines.push(line) });
  const bus = createInProcessBus({ topology: loadTopology(), clock, backoffScale: 0, invoke: options.invoke ?? (async () => 204) });
  const services: Services = { db: database.db, kv: createMemoryKeyValueStore(), publisher: bus, logger, clock, projectId: 'paygateprime-test' };
  provideServices(services);
  const close = async () => {
    await bus.close();
    resetServices();
    await database.dispose();
  };
  return {
    database,
    db: database.db,
    clock,
    logger,
    logLines,
    bus,
    services,
    async seedChannel(overrides = {}) {
      const { tier: tierOverrides, ...channelOverrides } = overrides;
      const channel = await insertChannel(database.db, channelOverrides);
      const tier = await insertTier(database.db, { channelId: channel.id, ...tierOverrides });
      return { ownerAccountId: channel.ownerAccountId, channel, tier };
    },
    published: (topic) =>
      bus.events.flatMap((event) => (event.type === 'published' && event.topic === topic ? [JSON.parse(event.data) as unknown] : [])),
    close,
    [Symbol.asyncDispose]: close,
  };
}
