/**
 * `npm start`: the whole gateway on this machine. `npm start -- --reset` starts from empty state.
 * Reads `.env` if present; with no configuration everything is local (embedded PostgreSQL,
 * in-process Pub/Sub, croner for Cloud Scheduler).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTopology, repositoryRoot } from '../shared/bus/index.js';
import { configVars, loadConfig } from '../shared/config/index.js';
import { logger } from '../shared/logging/index.js';
import { defaultDataDir, startLocalRuntime } from '../shared/testing/local-runtime.js';

const envFile = path.join(repositoryRoot(), '.env');
if (existsSync(envFile)) process.loadEnvFile(envFile);

const { values } = parseArgs({
  options: { reset: { type: 'boolean', default: false }, port: { type: 'string' }, 'data-dir': { type: 'string' } },
});
const config = loadConfig({
  DATABASE_URL: configVars.DATABASE_URL.optional(),
  PUBSUB_EMULATOR_HOST: configVars.PUBSUB_EMULATOR_HOST,
  GOOGLE_CLOUD_PROJECT: configVars.GOOGLE_CLOUD_PROJECT,
  PORT: configVars.PORT,
});

const runtime = await startLocalRuntime({
  port: values.port === undefined ? config.PORT : Number.parseInt(values.port, 10),
  dataDir: values['data-dir'] ?? defaultDataDir(),
  reset: values.reset,
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
  `  Health:      ${runtime.url}/healthz`,
  `  Database:    ${config.DATABASE_URL ? 'PostgreSQL from DATABASE_URL' : `embedded PGlite in ${values['data-dir'] ?? defaultDataDir()}`}`,
  `  Pub/Sub:     ${config.PUBSUB_EMULATOR_HOST ? `emulator at ${config.PUBSUB_EMULATOR_HOST}` : 'in-process bus (gen2 CloudEvents, retries, dead letters)'}`,
  `  NowPayments: ${runtime.simulators.nowpayments ? `simulator at ${runtime.simulators.nowpayments.apiUrl} (invoice pages: ${runtime.simulators.nowpayments.url}/invoice/<id>)` : 'configured provider (NOWPAYMENTS_API_URL)'}`,
  `  Telegram:    ${runtime.simulators.telegram ? `Bot API simulator at ${runtime.simulators.telegram.apiRoot} (bot @${runtime.simulators.telegram.botInfo.username})` : 'configured bot (TELEGRAM_BOT_TOKEN)'}`,
  '  Functions:',
  ...runtime.host.functions.map((name) => `    ${runtime.url}/${name}`),
  '  Scheduled jobs:',
  ...topology.schedulerJobs.map((job) => `    ${job.name.padEnd(28)} ${job.schedule.padEnd(12)} → ${job.topic}`),
  ...demoGuide(),
  '  Stop with Ctrl-C.',
  '',
];

function demoGuide(): string[] {
  const telegram = runtime.simulators.telegram;
  if (!telegram || runtime.demoChannels.length === 0) return [];
  const api = `${telegram.apiRoot}/sandbox`;
  return [
    '  Demo channels (owner: Telegram user 1000, subscriber: Alice, user 1001):',
    ...runtime.demoChannels.map((channel) => `    ${channel.title.padEnd(14)} ${channel.strategy.padEnd(9)} /start ${channel.startPayload}`),
    '  Play Alice with curl against the Telegram simulator:',
    `    curl -s -XPOST ${api}/users/1001/messages -H 'content-type: application/json' -d '{"text":"/start ${runtime.demoChannels[0]?.startPayload}"}'`,
    `    curl -s ${api}/chats/1001/messages            # the bot's replies and their buttons`,
    `    curl -s -XPOST ${api}/users/1001/clicks -H 'content-type: application/json' -d '{"messageId":1,"data":"<button data>"}'`,
    '    then open the Pay button\'s invoice URL and pay; the invite DM arrives in /chats/1001/messages.',
  ];
}
process.stdout.write(`${lines.join('\n')}\n`);

let isStopping = false;
const stop = async (signal: string) => {
  if (isStopping) return;
  isStopping = true;
  logger.info('runtime.stopping', { signal });
  const forced = setTimeout(() => process.exit(1), 10_000);
  forced.unref();
  await runtime.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
