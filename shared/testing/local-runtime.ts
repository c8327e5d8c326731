import { mkdir, rm } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import path from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Cron } from 'croner';
import { createPubSubPublisher, loadTopology, type Publisher, repositoryRoot } from '../bus/index.js';
import { type Clock, systemClock } from '../clock/index.js';
import { type Db, migrateToLatest, openDatabase } from '../db/index.js';
import { createMemoryKeyValueStore, type KeyValueStore } from '../kv/index.js';
import { createMailOutbox, type MailOutbox, provideMailer } from '../mail/index.js';
import { createLogger, type Logger } from '../logging/index.js';
import { provideServices } from '../runtime/index.js';
import { accountLinkPageRoutes } from './account-link-pages.js';
import { type Anvil, startAnvil } from './anvil.js';
import { type ChangeNowSimulator, startChangeNowSimulator } from './changenow-simulator.js';
import { type DemoChannel, seedDemo } from './demo-seed.js';
import { type FunctionHost, startFunctionHost } from './function-host.js';
import { mailOutboxRoute } from './mail-outbox-route.js';
import { type BusEvent, type BusFaults, createHttpInvoker, createInProcessBus, type InProcessBus } from './in-process-bus.js';
import { type NowPaymentsSimulator, startNowPaymentsSimulator } from './nowpayments-simulator.js';
import { provisionEmulatorTopology } from './pubsub-emulator-topology.js';
import { createSandboxRoutes } from './sandbox-routes.js';
import { startTelegramSimulator, type TelegramSimulator } from './telegram-simulator.js';
import { deployUsdtLikeToken } from './usdt-token.js';

export interface LocalRuntimeOptions {
  /** HTTP port for every function (`/<name>`) and `/healthz`. 0 picks a free one. */
  port: number;
  /** Folder for the embedded database and other local state. */
  dataDir: string;
  /** Start from an empty data folder. */
  reset?: boolean;
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
  if (options.reset) await rm(options.dataDir, { recursive: true, force: true });
  await mkdir(options.dataDir, { recursive: true });

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
    await simulators.nowpayments?.close();
    await simulators.telegram?.close();
    await simulators.changenow?.close();
    await simulators.anvil?.stop();
    if (ownsDb) await db.close();
  };
  try {
    host = await startFunctionHost({
      port: options.port,
      healthCheck: async () => {
        await db.query('SELECT 1');
      },
      beforeLoad: async (url) => {
        simulators = await startMissingProviders(env, url);
      },
      routes: { sandbox: (request, response) => (sandbox ? sandbox(request, response) : response.writeHead(503).end()), mail: mailOutboxRoute(mailOutbox), ...accountLinkPageRoutes() },
    });
    hostUrl = host.url;
    logger.info('runtime.mail_outbox', { url: `${host.url}/mail`, dashboardApi: `${host.url}/dashboard-api/api/v1/openapi.json` });
    sandbox = createSandboxRoutes({
      db,
      publisher,
      topology,
      simulators,
      runtimeUrl: host.url,
      chain: simulators.anvil && env.ETH_RPC_URL ? { rpcUrl: env.ETH_RPC_URL, chainId: String(simulators.anvil.chainId), usdtContract: env.USDT_ERC20_CONTRACT } : undefined,
    });
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
    },
  };
}

export interface Simulators {
  nowpayments?: NowPaymentsSimulator;
  telegram?: TelegramSimulator;
  /** The local chain, with the hot wallet = account 0 and a USDT-like token deployed from it. */
  anvil?: Anvil;
  changenow?: ChangeNowSimulator;
}

// Fixed sandbox credentials: they only open the local simulators.
const SANDBOX_NOWPAYMENTS_API_KEY = 'sandbox-nowpayments-api-key';
const SANDBOX_CHANGENOW_API_KEY = 'sandbox-changenow-api-key';
const SANDBOX_IPN_SECRET = 'sandbox-nowpayments-ipn-secret';
const SANDBOX_WEBHOOK_SECRET = 'sandbox-telegram-webhook-secret';
const SANDBOX_JWT_SECRET = 'sandbox-dashboard-jwt-secret-not-for-production';

/**
 * Points every provider whose variables are unset at a local simulator, and fills the sandbox
 * defaults (platform fee, public URL). Configured providers are left alone: that is how a provider
 * is swapped for the real one.
 */
async function startMissingProviders(env: NodeJS.ProcessEnv, hostUrl: string): Promise<Simulators> {
  const simulators: Simulators = {};
  env.PUBLIC_BASE_URL ||= hostUrl;
  env.PLATFORM_FEE_BPS ||= '300';
  env.PAYOUT_MAX_USD_CENTS ||= '100000';
  env.PAYOUT_DAILY_CAP_USD_CENTS ||= '1000000';
  env.JWT_SECRET ||= SANDBOX_JWT_SECRET;
  env.DASHBOARD_CORS_ORIGINS ||= `${hostUrl},http://localhost:5173`;
  if (!env.NOWPAYMENTS_API_URL) {
    simulators.nowpayments = await startNowPaymentsSimulator({ apiKey: SANDBOX_NOWPAYMENTS_API_KEY, ipnSecret: SANDBOX_IPN_SECRET });
    env.NOWPAYMENTS_API_URL = simulators.nowpayments.apiUrl;
    env.NOWPAYMENTS_API_KEY = SANDBOX_NOWPAYMENTS_API_KEY;
    env.NOWPAYMENTS_IPN_SECRET = SANDBOX_IPN_SECRET;
  }
  if (!env.TELEGRAM_BOT_TOKEN) {
    simulators.telegram = await startTelegramSimulator();
    env.TELEGRAM_BOT_TOKEN = simulators.telegram.token;
    env.TELEGRAM_API_ROOT = simulators.telegram.apiRoot;
    env.TELEGRAM_BOT_USERNAME = simulators.telegram.botInfo.username;
    env.TELEGRAM_WEBHOOK_SECRET = SANDBOX_WEBHOOK_SECRET;
  }
  if (!env.ETH_RPC_URL) {
    // The hot wallet is anvil account 0 (10 000 ETH); the token is deployed from it, nothing else is funded.
    simulators.anvil = await startAnvil();
    const hotWallet = simulators.anvil.accounts[0];
    const operator = simulators.anvil.accounts[9];
    if (!hotWallet || !operator) throw new Error('anvil has fewer than ten accounts');
    const token = await deployUsdtLikeToken(simulators.anvil.rpcUrl, hotWallet.privateKey);
    env.ETH_RPC_URL = simulators.anvil.rpcUrl;
    env.ETH_CHAIN_ID = String(simulators.anvil.chainId);
    env.HOST_WALLET_PRIVATE_KEY = hotWallet.privateKey;
    env.HOT_WALLET_ADDRESS = hotWallet.address;
    env.USDT_ERC20_CONTRACT = token.address;
    if (!env.CHANGENOW_API_URL) {
      simulators.changenow = await startChangeNowSimulator({
        apiKey: SANDBOX_CHANGENOW_API_KEY,
        rpcUrl: simulators.anvil.rpcUrl,
        operatorKey: operator.privateKey,
        tokens: { usdt: token.address },
      });
    }
  }
  if (!env.CHANGENOW_API_URL && !simulators.changenow) {
    simulators.changenow = await startChangeNowSimulator({ apiKey: SANDBOX_CHANGENOW_API_KEY });
  }
  if (simulators.changenow) {
    env.CHANGENOW_API_URL = simulators.changenow.apiUrl;
    env.CHANGENOW_API_KEY = SANDBOX_CHANGENOW_API_KEY;
  }
  return simulators;
}

/** The default local data folder: `.data/` at the repository root (git-ignored). */
export function defaultDataDir(): string {
  return path.join(repositoryRoot(), '.data');
}
