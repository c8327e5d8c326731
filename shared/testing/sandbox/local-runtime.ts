import { mkdir } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import path from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Cron } from 'croner';
import { createPubSubPublisher, type Publisher } from '../../bus/index.js';
import { loadTopology, repositoryRoot } from '../../bus/topology.js';
import { type Clock, systemClock } from '../../clock/index.js';
import { type Db, migrateToLatest, openDatabase } from '../../db/index.js';
import { bookCapital } from '../../hot-wallet/index.js';
import { createMemoryKeyValueStore, type KeyValueStore } from '../../kv/index.js';
import { createMailOutbox, type MailOutbox, provideMailer } from '../../mail/index.js';
import { createLogger, type Logger } from '../../logging/index.js';
import { provideServices } from '../../runtime/index.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { type DemoChannel, seedDemo } from './demo-seed.js';
import { type FunctionHost, startFunctionHost } from './function-host.js';
import { mailOutboxRoute } from './mail-outbox-route.js';
import type { NowPaymentsChainSettlement } from '../simulators/nowpayments-simulator-chain.js';
import { type BusEvent, type BusFaults, createHttpInvoker, createInProcessBus, type InProcessBus } from '../fakes/in-process-bus.js';
import { provisionEmulatorTopology } from './pubsub-emulator-topology.js';
import {
  type ProviderPersistence,
  SANDBOX_HOT_WALLET_FLOAT_WEI,
  SANDBOX_WEBHOOK_SECRET,
  type Simulators,
  simulatorPorts,
  startMissingProviders,
  stopSimulators,
} from './sandbox-providers.js';
import { createSandboxRoutes } from './sandbox-routes.js';
import { createHostingHandler } from './web-hosting.js';
import { clearDataDir, readRememberedPorts, type RememberedPorts, reusablePort, sandboxStatePaths, writeRememberedPorts } from './sandbox-state.js';

export type { Simulators } from './sandbox-providers.js';

export interface LocalRuntimeOptions {
  /** HTTP port for every function (`/<name>`) and `/healthz`. 0 picks a free one. */
  port: number;
  /** Folder for the embedded database and other local state. */
  dataDir: string;
  /** Start from an empty data folder (its lock file stays). */
  reset?: boolean;
  /**
   * Keep everything in the data folder so that the next start resumes: the chain (saved before each
   * change is acknowledged), the token's address, the simulators' state, the bus's unacked
   * deliveries, and the ports (taken again when free, `port: 0` included). The folder is locked
   * (`dataDirLock`, or a lock taken here) before anything in it is opened. Default false: a fresh
   * chain and memory-only simulators on any free ports (tests).
   */
  keepState?: boolean;
  /** The data folder's lock, already taken by the caller (npm start takes it before loading anything). */
  dataDirLock?: DataDirLock;
  /** Use this PostgreSQL server instead of the embedded database. */
  databaseUrl?: string;
  /** An already open database (tests); it is migrated but not closed by stop(). */
  db?: Db;
  /** In-process bus: deliver every message twice (tests). */
  deliverTwice?: boolean | 'after-ack' | 'concurrently';
  /** In-process bus: multiplier of the topology's retry backoff. Default 0.1. */
  backoffScale?: number;
  /** In-process bus: faults to inject (chaos tests). */
  busFaults?: BusFaults;
  clock?: Clock;
  /** Key-value store for sessions and rate limits. Default in memory. */
  kv?: KeyValueStore;
  /** Create the demo owner and channels (and their chats in the Telegram simulator). Default false. */
  seedDemo?: boolean;
  /**
   * Money as in production, so that the hot wallet matches the ledger (`/sandbox/api/hot-wallet`):
   * the NowPayments simulator pays each outcome into the hot wallet on the local chain, and the hot
   * wallet's genesis float (anvil's 10 000 ETH) is booked as capital. Only with the local chain and the
   * NowPayments simulator. Default `keepState` (npm start); tests that weigh the hot wallet's own
   * movements leave it off.
   */
  isMoneyOnChain?: boolean;
  /** The NowPayments simulator pays outcomes on this chain (a caller that runs its own chain and books its own float: the chaos world). */
  nowpaymentsChain?: NowPaymentsChainSettlement;
  /** Deliver through the Pub/Sub emulator at this host:port instead of the in-process bus. */
  pubsubEmulatorHost?: string;
  projectId?: string;
  /** Run the Cloud Scheduler jobs from pubsub-topics.yaml on their cron. Default true. */
  runScheduler?: boolean;
  /**
   * The environment functions read their configuration from; provider variables left unset are
   * pointed at built-in simulators (written into it before any function loads). Default process.env.
   */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export interface LocalRuntime {
  url: string;
  port: number;
  db: Db;
  kv: KeyValueStore;
  publisher: Publisher;
  /** The in-process bus, unless the Pub/Sub emulator is used. */
  bus: InProcessBus | undefined;
  host: FunctionHost;
  /** Simulators started for providers that were not configured. */
  simulators: Simulators;
  /** The demo channels, when seeded. */
  demoChannels: DemoChannel[];
  /** Account mails (verification, reset…) when SMTP_URL is unset; served as JSON at `/mail`. */
  mailOutbox: MailOutbox;
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
  // Before anything in the folder is touched (the reset included): a second runtime must not wipe or
  // open what a live one is using.
  const ownLock = options.keepState && !options.dataDirLock ? await acquireDataDirLock(options.dataDir) : undefined;
  try {
    return await startWithFolder(options, logger, projectId, ownLock);
  } catch (error) {
    ownLock?.release();
    throw error;
  }
}

async function startWithFolder(options: LocalRuntimeOptions, logger: Logger, projectId: string, ownLock: DataDirLock | undefined): Promise<LocalRuntime> {
  if (options.reset) clearDataDir(options.dataDir);
  await mkdir(options.dataDir, { recursive: true });
  const statePaths = sandboxStatePaths(options.dataDir);
  const rememberedPorts = options.keepState ? readRememberedPorts(statePaths.ports) : {};

  const ownsDb = !options.db;
  const db =
    options.db ??
    (await openDatabase({ databaseUrl: options.databaseUrl, embeddedDataDir: options.databaseUrl ? undefined : path.join(options.dataDir, 'pglite') }));
  const clock = options.clock ?? systemClock;
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
      backoffScale: options.backoffScale ?? 0.1,
      deliverTwice: options.deliverTwice,
      faults: options.busFaults,
      clock,
      logger,
      stateFile: options.keepState ? statePaths.bus : undefined,
      onEvent: (event) => {
        const line = describeBusEvent(event);
        if (line) logger.warn('bus.delivery', { detail: line });
      },
    });
    publisher = bus;
  }

  // The sandbox keeps sessions and rate limits in memory (Firestore in production).
  const kv = options.kv ?? createMemoryKeyValueStore({ clock });
  provideServices({ db, kv, publisher, logger, clock, projectId });
  // Account mails land here unless SMTP_URL names a real server.
  const mailOutbox = createMailOutbox({ clock });
  provideMailer(mailOutbox);
  const env = options.env ?? process.env;
  let simulators: Simulators = {};
  let sandbox: RequestListener | undefined;
  let host: FunctionHost | undefined;
  let demoChannels: Awaited<ReturnType<typeof seedDemo>> = [];
  // A start that fails half-way (a function refusing its configuration, say) stops what it started:
  // an anvil or simulator left behind would outlive the process that wanted it.
  const stopStarted = async () => {
    await host?.close();
    await bus?.close();
    await stopSimulators(simulators);
    if (ownsDb) await db.close();
  };
  const persistence: ProviderPersistence | undefined = options.keepState ? { paths: statePaths, ports: rememberedPorts, logger } : undefined;
  const isMoneyOnChain = options.isMoneyOnChain ?? options.keepState === true;
  try {
    host = await startFunctionHost({
      // `port: 0` with a remembered port: the same URL as last time, so the IPN callbacks of invoices made then still arrive.
      port: options.port === 0 && options.keepState ? await reusablePort(rememberedPorts.runtime) : options.port,
      healthCheck: async () => {
        await db.query('SELECT 1');
      },
      beforeLoad: async (url) => {
        simulators = await startMissingProviders(env, url, persistence, { isNowPaymentsOnChain: isMoneyOnChain, nowpaymentsChain: options.nowpaymentsChain });
      },
      routes: { sandbox: (request, response) => (sandbox ? sandbox(request, response) : response.writeHead(503).end()), mail: mailOutboxRoute(mailOutbox) },
      // Everything else as Firebase Hosting answers it (firebase.json): the dashboard app of web/dist at `/`, with
      // its mailed-link pages, and `/api/**` rewritten to dashboard-api, so the app and the API share one origin.
      fallback: createHostingHandler({ serveFunction: (name, request, response) => host?.serve(name, request, response) ?? false }),
    });
    hostUrl = host.url;
    logger.info('runtime.mail_outbox', { url: `${host.url}/mail`, dashboard: `${host.url}/`, dashboardApi: `${host.url}/api/v1/openapi.json` });
    sandbox = createSandboxRoutes({
      db,
      publisher,
      topology,
      simulators,
      runtimeUrl: host.url,
      chain:
        simulators.anvil && env.ETH_RPC_URL
          ? { rpcUrl: env.ETH_RPC_URL, chainId: String(simulators.anvil.chainId), usdtContract: env.USDT_ERC20_CONTRACT, hotWallet: env.HOT_WALLET_ADDRESS }
          : undefined,
    });
    if (isMoneyOnChain && simulators.anvil && env.HOT_WALLET_ADDRESS) {
      // Every start, under one key: the genesis float is booked once, whatever a kill interrupted.
      await bookCapital(db, {
        asset: 'ETH',
        units: SANDBOX_HOT_WALLET_FLOAT_WEI,
        direction: 'in',
        operator: 'sandbox',
        note: 'anvil genesis funds of the sandbox hot wallet',
        key: `sandbox-float:${simulators.anvil.chainId}:${env.HOT_WALLET_ADDRESS.toLowerCase()}`,
        at: clock.now(),
      });
    }
    if (simulators.telegram && host.functions.includes('telegram-webhook')) {
      // What the deploy does with setWebhook: updates reach the webhook function, joins included.
      await fetch(`${simulators.telegram.apiRoot}/bot${simulators.telegram.token}/setWebhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          url: `${host.url}/telegram-webhook`,
          secret_token: SANDBOX_WEBHOOK_SECRET,
          allowed_updates: ['message', 'callback_query', 'chat_member', 'my_chat_member'],
          drop_pending_updates: true,
        }),
      });
    }
    demoChannels = options.seedDemo ? await seedDemo(db, simulators.telegram, clock.now()) : [];
    await simulators.telegram?.flush();
    if (options.pubsubEmulatorHost) {
      await provisionEmulatorTopology({ emulatorHost: options.pubsubEmulatorHost, projectId, topology, pushBaseUrl: host.url });
    }
    if (options.keepState) {
      const ports: RememberedPorts = { runtime: host.port, ...simulatorPorts(simulators) };
      for (const [name, port] of Object.entries(ports)) {
        const before = rememberedPorts[name as keyof RememberedPorts];
        if (before === undefined || port === undefined || port === before) continue;
        // The old port was taken (or another was asked for): what was handed out before still names it.
        logger.warn('runtime.port_changed', {
          detail: `${name} listens on port ${port}, not ${before} as in the last run (it was taken): links and callback URLs handed out before the restart still name ${before}`,
        });
      }
      writeRememberedPorts(statePaths.ports, ports);
      // Deliveries the last run had not finished go out now that the functions can be reached.
      const resumedDeliveries = bus?.resume() ?? 0;
      const resumedIpnPayments = simulators.nowpayments?.resumeIpns() ?? 0;
      const isResumed = simulators.anvil?.isResumed ?? migrations.alreadyApplied > 0;
      if (isResumed) {
        logger.info('runtime.resumed', { dataDir: options.dataDir, resumedDeliveries, resumedIpnPayments, url: host.url, ...(simulators.anvil && { usdtContract: env.USDT_ERC20_CONTRACT }) });
      }
      if (simulators.anvil && !simulators.anvil.isResumed && migrations.alreadyApplied > 0) {
        // A data folder from before the chain was kept: its payouts' nonces and token are on a chain that is gone.
        logger.warn('runtime.chain_state_missing', {
          detail: `the database holds earlier work but the chain starts empty (no ${statePaths.anvil}); payouts may not go through: start with --reset`,
        });
      }
    }
  } catch (error) {
    await stopStarted().catch((stopError: unknown) => logger.warn('runtime.stop_after_failed_start_failed', { error: stopError }));
    throw error;
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
    kv,
    publisher,
    bus,
    host,
    simulators,
    demoChannels,
    mailOutbox,
    async stop() {
      if (isStopped) return;
      isStopped = true;
      for (const job of jobs) job.stop();
      await stopStarted();
      ownLock?.release();
    },
  };
}

/** The default local data folder: `.data/` at the repository root (git-ignored). */
export function defaultDataDir(): string {
  return path.join(repositoryRoot(), '.data');
}
