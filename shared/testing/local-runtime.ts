import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Cron } from 'croner';
import { createPubSubPublisher, loadTopology, type Publisher, repositoryRoot } from '../bus/index.js';
import { systemClock } from '../clock/index.js';
import { type Db, migrateToLatest, openDatabase } from '../db/index.js';
import { createLogger, type Logger } from '../logging/index.js';
import { provideServices } from '../runtime/index.js';
import { type FunctionHost, startFunctionHost } from './function-host.js';
import { type BusEvent, createHttpInvoker, createInProcessBus, type InProcessBus } from './in-process-bus.js';
import { provisionEmulatorTopology } from './pubsub-emulator-topology.js';

export interface LocalRuntimeOptions {
  /** HTTP port for every function (`/<name>`) and `/healthz`. 0 picks a free one. */
  port: number;
  /** Folder for the embedded database and other local state. */
  dataDir: string;
  /** Start from an empty data folder. */
  reset?: boolean;
  /** Use this PostgreSQL server instead of the embedded database. */
  databaseUrl?: string;
  /** Deliver through the Pub/Sub emulator at this host:port instead of the in-process bus. */
  pubsubEmulatorHost?: string;
  projectId?: string;
  /** Run the Cloud Scheduler jobs from pubsub-topics.yaml on their cron. Default true. */
  runScheduler?: boolean;
  logger?: Logger;
}

export interface LocalRuntime {
  url: string;
  port: number;
  db: Db;
  publisher: Publisher;
  /** The in-process bus, unless the Pub/Sub emulator is used. */
  bus: InProcessBus | undefined;
  host: FunctionHost;
  stop(): Promise<void>;
}

function describeBusEvent(event: BusEvent): string | undefined {
  switch (event.type) {
    case 'delivered':
      return event.isAck ? undefined : `${event.topic} → ${event.function}: attempt ${event.attempt} answered ${event.status}, will retry`;
    case 'dead-lettered':
      return `${event.topic} → ${event.function}: gave up after ${event.attempts} attempts, forwarded to ${event.deadLetterTopic}`;
    case 'abandoned':
      return `${event.topic} → ${event.function}: gave up after ${event.attempts} attempts`;
    default:
      return undefined;
  }
}

/**
 * The whole gateway on one machine, through the production code paths: migrations, every function
 * in functions/ served on one port, every subscription in pubsub-topics.yaml delivered as gen2
 * CloudEvents (in-process bus or the Pub/Sub emulator), and the Cloud Scheduler jobs on croner.
 * Later features plug in by adding a function folder and yaml entries; nothing here lists them.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const logger = options.logger ?? createLogger();
  const projectId = options.projectId ?? 'paygateprime-local';
  if (options.reset) await rm(options.dataDir, { recursive: true, force: true });
  await mkdir(options.dataDir, { recursive: true });

  const db = await openDatabase({ databaseUrl: options.databaseUrl, embeddedDataDir: options.databaseUrl ? undefined : path.join(options.dataDir, 'pglite') });
  const migrations = await migrateToLatest(db);
  logger.info('runtime.migrated', { applied: migrations.applied.length, alreadyApplied: migrations.alreadyApplied });

  const topology = loadTopology();
  let hostUrl = '';
  let bus: InProcessBus | undefined;
  let publisher: Publisher;
  if (options.pubsubEmulatorHost) {
    publisher = createPubSubPublisher({
      pubsub: new PubSub({ projectId, apiEndpoint: options.pubsubEmulatorHost, emulatorMode: true, universeDomain: 'googleapis.com' }),
    });
  } else {
    bus = createInProcessBus({
      topology,
      projectId,
      invoke: (name, request) => createHttpInvoker(hostUrl)(name, request),
      // Production waits 10 s..10 min between retries; locally a tenth of that keeps demos moving.
      backoffScale: 0.1,
      logger,
      onEvent: (event) => {
        const line = describeBusEvent(event);
        if (line) logger.warn('bus.delivery', { detail: line });
      },
    });
    publisher = bus;
  }

  provideServices({ db, publisher, logger, clock: systemClock, projectId });
  const host = await startFunctionHost({
    port: options.port,
    healthCheck: async () => {
      await db.query('SELECT 1');
    },
  });
  hostUrl = host.url;
  if (options.pubsubEmulatorHost) {
    await provisionEmulatorTopology({ emulatorHost: options.pubsubEmulatorHost, projectId, topology, pushBaseUrl: host.url });
  }

  const jobs =
    options.runScheduler === false
      ? []
      : topology.schedulerJobs.map(
          (job) =>
            new Cron(job.schedule, { timezone: job.timeZone, protect: true, name: job.name }, async () => {
              try {
                await publisher.publish(job.topic, job.body);
              } catch (error) {
                logger.error('scheduler.publish_failed', { job: job.name, topic: job.topic, error });
              }
            }),
        );

  let isStopped = false;
  return {
    url: host.url,
    port: host.port,
    db,
    publisher,
    bus,
    host,
    async stop() {
      if (isStopped) return;
      isStopped = true;
      for (const job of jobs) job.stop();
      await host.close();
      await bus?.close();
      await db.close();
    },
  };
}

/** The default local data folder: `.data/` at the repository root (git-ignored). */
export function defaultDataDir(): string {
  return path.join(repositoryRoot(), '.data');
}
