import { createPubSubPublisher, type Publisher } from '../bus/publisher.js';
import { type Clock, systemClock } from '../clock/index.js';
import { ConfigError, configVars, loadConfig } from '../config/index.js';
import { type Db, openDatabase } from '../db/index.js';
import { loadFieldCipher } from '../field-crypto/index.js';
import { createFirestoreKeyValueStore, type KeyValueStore } from '../kv/index.js';
import { type Logger, logger as rootLogger } from '../logging/index.js';

/**
 * What every stage needs, built once per instance (cold start): one pool, one publisher, one
 * logger, one clock. Production builds them from the environment; the local runtime and tests
 * provide their own (embedded database, in-process bus, fake clock) before any function runs.
 */
export interface Services {
  db: Db;
  /** Non-financial, short-lived state: sessions, rate limits, update de-duplication. */
  kv: KeyValueStore;
  publisher: Publisher;
  logger: Logger;
  clock: Clock;
  projectId: string;
}

let provided: Promise<Services> | undefined;
let ready: Services | undefined;

/** Keeps `services` as the instance's, and the value itself once it resolves; `forgetFailure`: a failed build is retried on the next call. */
function remember(services: Promise<Services>, forgetFailure: boolean): Promise<Services> {
  provided = services;
  ready = undefined;
  services.then(
    (value) => {
      if (provided === services) ready = value;
    },
    () => {
      if (forgetFailure && provided === services) provided = undefined;
    },
  );
  return services;
}

/** Composition root override: the local runtime and tests call this before invoking functions. */
export function provideServices(services: Services | (() => Promise<Services>)): void {
  remember(typeof services === 'function' ? services() : Promise.resolve(services), false);
}

/** Forgets provided or built services (tests). Does not close them. */
export function resetServices(): void {
  provided = undefined;
  ready = undefined;
}

/** The services once they are built (`getServices()` resolved), else undefined: for a path that must not wait. */
export function servicesIfReady(): Services | undefined {
  return ready;
}

/**
 * Validates the variables the shared services need (and with `withFieldKeys`, FIELD_ENCRYPTION_KEYS
 * and FIELD_BLIND_INDEX_KEY, for a function that opens sealed emails or wallets); call at module scope of a function so a bad
 * configuration stops the cold start with the variable's name. A no-op once services are provided.
 */
export function assertServicesConfigured(options: { withFieldKeys?: boolean } = {}, env: NodeJS.ProcessEnv = process.env): void {
  // The field keys are the function's own (never provided with the services): checked every time.
  if (options.withFieldKeys) loadFieldCipher(env);
  if (provided) return;
  readServicesConfig(env);
}

function readServicesConfig(env: NodeJS.ProcessEnv) {
  const config = loadConfig(
    {
      DATABASE_URL: configVars.DATABASE_URL.optional(),
      DB_POOL_MAX: configVars.DB_POOL_MAX,
      GOOGLE_CLOUD_PROJECT: configVars.GOOGLE_CLOUD_PROJECT,
    },
    env,
  );
  // On Cloud Run (K_SERVICE is set by the platform) an embedded database would silently lose data.
  if (!config.DATABASE_URL && env.K_SERVICE) {
    throw new ConfigError(['DATABASE_URL'], 'DATABASE_URL: required when running on Google Cloud');
  }
  return config;
}

/** The collection every key-value entry lives in (its TTL policy is in firestore.indexes.json). */
export const KEY_VALUE_COLLECTION = 'kv_entries';

/**
 * The Firestore store, built on its first call: most functions never keep such state, and the
 * Firestore client (gRPC, protobufs) is the heaviest thing a cold start could load.
 */
function createProductionKeyValueStore(projectId: string): KeyValueStore {
  let store: Promise<KeyValueStore> | undefined;
  const built = () => {
    store ??= import('@google-cloud/firestore').then(({ Firestore }) =>
      createFirestoreKeyValueStore({ firestore: new Firestore({ projectId }), collection: KEY_VALUE_COLLECTION }),
    );
    // A failed load is retried on the next call.
    store.catch(() => {
      store = undefined;
    });
    return store;
  };
  return {
    get: async (key) => (await built()).get(key),
    set: async (key, value, options) => (await built()).set(key, value, options),
    delete: async (key) => (await built()).delete(key),
    setIfAbsent: async (key, value, options) => (await built()).setIfAbsent(key, value, options),
    increment: async (key, options) => (await built()).increment(key, options),
    update: async (key, update, options) => (await built()).update(key, update, options),
  };
}

export function getServices(): Promise<Services> {
  if (provided) return provided;
  const config = readServicesConfig(process.env);
  const projectId = config.GOOGLE_CLOUD_PROJECT ?? 'paygateprime-local';
  // A failed build (database unreachable at cold start) is forgotten and retried on the next invocation.
  return remember(
    (async () => ({
      db: await openDatabase({
        databaseUrl: config.DATABASE_URL,
        maxConnections: config.DB_POOL_MAX,
        onTransactionRetry: (retry) => rootLogger.warn('db.transaction_retried', { ...retry }),
      }),
      // Loaded on first use: only the functions that keep such state pay for the Firestore client.
      kv: createProductionKeyValueStore(projectId),
      // Loaded on the first publish (see createPubSubPublisher).
      publisher: createPubSubPublisher({ pubsub: async () => new (await import('@google-cloud/pubsub')).PubSub({ projectId }), timeoutMs: 10_000 }),
      logger: rootLogger,
      clock: systemClock,
      projectId,
    }))(),
    true,
  );
}
