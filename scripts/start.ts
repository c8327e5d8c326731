/**
 * `npm start`: the whole gateway on this machine. `npm start -- --reset` starts from empty state;
 * `--dev` rebuilds the dashboard app (web/) on every change.
 * Reads `.env` if present; with no configuration everything is local (embedded PostgreSQL,
 * in-process Pub/Sub, croner for Cloud Scheduler). The terminal shows one line per pipeline step;
 * the JSON log lines go to `<data-dir>/logs/runtime.jsonl` (`--json-logs` prints them instead).
 *
 * Everything is kept in the data folder, so stopping (Ctrl-C, or even kill -9) and starting again
 * resumes: the chain, the simulators, undelivered messages, the same URLs. The folder is locked:
 * a second `npm start` on it refuses before opening anything.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTopology, repositoryRoot } from '../shared/bus/topology.js';
import { configVars, loadConfig } from '../shared/config/index.js';
import { acquireDataDirLock, DataDirLockedError } from '../shared/testing/sandbox/data-dir-lock.js';
import { DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD } from '../shared/testing/sandbox/demo-seed.js';
import { defaultDataDir, startLocalRuntime } from '../shared/testing/sandbox/local-runtime.js';
import { createRuntimeLog } from '../shared/testing/sandbox/runtime-log.js';
import { removeRuntimeState, writeRuntimeState } from '../shared/testing/sandbox/runtime-state.js';
import type { SandboxRuntimeInfo } from '../shared/testing/sandbox/sandbox-routes.js';
import { listChannelViews } from '../shared/testing/sandbox/sandbox-views.js';
import { buildWebApp, webAppStaleness } from './web-build.js';

const envFile = path.join(repositoryRoot(), '.env');
if (existsSync(envFile)) process.loadEnvFile(envFile);

const { values } = parseArgs({
  options: {
    reset: { type: 'boolean', default: false },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    'json-logs': { type: 'boolean', default: false },
    dev: { type: 'boolean', default: false },
  },
});
const config = loadConfig({
  DATABASE_URL: configVars.DATABASE_URL.optional(),
  PUBSUB_EMULATOR_HOST: configVars.PUBSUB_EMULATOR_HOST,
  GOOGLE_CLOUD_PROJECT: configVars.GOOGLE_CLOUD_PROJECT,
  PORT: configVars.PORT,
});

const dataDir = path.resolve(values['data-dir'] ?? defaultDataDir());
// First of all: another runtime on this folder means its database, chain and simulators are in use.
const lock = await acquireDataDirLock(dataDir).catch((error: unknown) => {
  if (!(error instanceof DataDirLockedError)) throw error;
  process.stderr.write(`npm start: ${error.message}\n`);
  process.exit(1);
});
// Whatever way the process ends short of kill -9, the lock goes with it.
process.once('exit', () => lock.release());
const jsonLogFile = path.join(dataDir, 'logs', 'runtime.jsonl');
const runtimeLog = createRuntimeLog({ jsonFile: jsonLogFile, printJson: values['json-logs'] });
const logger = runtimeLog.logger;

// The dashboard app (web/), served at / like Firebase Hosting does: built when a source changed since
// the last build (a fresh clone has none), or kept rebuilding on every change with --dev.
const webAppNote = await prepareWebApp();

async function prepareWebApp(): Promise<string> {
  if (values.dev) {
    await buildWebApp({ watch: true });
    return 'rebuilt on every change of web/ (--dev): reload the page';
  }
  const reason = await webAppStaleness();
  if (!reason) return 'built web/dist';
  process.stdout.write(`Building the dashboard app (${reason})…\n`);
  await buildWebApp();
  return 'built web/dist just now';
}

const runtime = await startLocalRuntime({
  port: values.port === undefined ? config.PORT : Number.parseInt(values.port, 10),
  dataDir,
  reset: values.reset,
  keepState: true,
  dataDirLock: lock,
  databaseUrl: config.DATABASE_URL,
  pubsubEmulatorHost: config.PUBSUB_EMULATOR_HOST,
  projectId: config.GOOGLE_CLOUD_PROJECT,
  seedDemo: true,
  logger,
});

const topology = loadTopology();
const lines = [
  '',
  'PayGatePrime is running locally.',
  `  Dashboard:   ${runtime.url}/   the owners' web app (${webAppNote}); its mails land at ${runtime.url}/mail`,
  `  Health:      ${runtime.url}/healthz`,
  `  Database:    ${config.DATABASE_URL ? 'PostgreSQL from DATABASE_URL' : `embedded PGlite in ${dataDir}`}`,
  `  Pub/Sub:     ${config.PUBSUB_EMULATOR_HOST ? `emulator at ${config.PUBSUB_EMULATOR_HOST}` : 'in-process bus (gen2 CloudEvents, retries, dead letters)'}`,
  `  NowPayments: ${runtime.simulators.nowpayments ? `simulator at ${runtime.simulators.nowpayments.apiUrl} (invoice pages: ${runtime.simulators.nowpayments.url}/invoice/<id>)` : 'configured provider (NOWPAYMENTS_API_URL)'}`,
  `  Telegram:    ${runtime.simulators.telegram ? `Bot API simulator at ${runtime.simulators.telegram.apiRoot} (bot @${runtime.simulators.telegram.botInfo.username})` : 'configured bot (TELEGRAM_BOT_TOKEN)'}`,
  '  Functions:',
  ...runtime.host.functions.map((name) => `    ${runtime.url}/${name}`),
  '  Scheduled jobs:',
  ...topology.schedulerJobs.map((job) => `    ${job.name.padEnd(36)} ${job.schedule.padEnd(12)} → ${job.topic}`),
  ...(await demoGuide()),
  `  Logs:        JSON lines in ${jsonLogFile}${values['json-logs'] ? ' and below' : '; below, one line per pipeline step (--json-logs prints the JSON instead)'}`,
  '  Stop with Ctrl-C.',
  '',
];

async function demoGuide(): Promise<string[]> {
  if (!runtime.simulators.telegram || runtime.demoChannels.length === 0) return [];
  const channels = await listChannelViews(runtime.db);
  return [
    `  Demo owner:  log in to the dashboard as ${DEMO_OWNER_EMAIL}, password ${DEMO_OWNER_PASSWORD}`,
    '  Demo channels (owner: Telegram user 1000, subscriber: Alice, user 1001):',
    ...channels.map((channel) => `    ${channel.alias.padEnd(8)} ${channel.title.padEnd(13)} ${channel.strategy.padEnd(9)} ${channel.id}`),
    `  Sandbox:     ${runtime.url}/sandbox   play Alice in a browser: the bot's chat, the invoice, the invite, and the system's view`,
    '  CLI:         npm run sandbox -- pay --channel premium --tier 1   (also: --partial 0.5, --repeat-ipn, --from-post, channels)',
  ];
}
process.stdout.write(`${lines.join('\n')}\n`);
// Exactly what the sandbox API reports, so the CLI reads the same URLs from the file or over HTTP.
const sandboxInfo = (await (await fetch(`${runtime.url}/sandbox/api/runtime`)).json()) as SandboxRuntimeInfo;
writeRuntimeState(dataDir, {
  ...sandboxInfo,
  pid: process.pid,
  startedAt: new Date().toISOString(),
  jsonLogFile,
});

let isStopping = false;
const stop = async (signal: string) => {
  if (isStopping) return;
  isStopping = true;
  lock.markStopping();
  logger.info('runtime.stopping', { signal });
  const forced = setTimeout(() => process.exit(1), 10_000);
  forced.unref();
  removeRuntimeState(dataDir, process.pid);
  await runtime.stop();
  runtimeLog.close();
  lock.release();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
