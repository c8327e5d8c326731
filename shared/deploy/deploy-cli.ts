import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadTopology, repositoryRoot } from '../bus/topology.js';
import type { ApplyContext, CommandRunner } from './deploy-step.js';
import { applySteps, buildDeploySteps, DEPLOY_PARTS, deriveAllUses, renderPlan, selectSteps } from './deploy-plan.js';
import { readDeploySettings, secretIdFor } from './deployment-plan.js';
import { discoverFunctions } from './function-folders.js';
import { monitoringSteps } from './monitoring.js';
import { defaultDatabaseSpec } from './steps-database.js';

export const DEPLOY_USAGE = `usage: npm run deploy -- --project=P [--region=europe-west1] [--apply] [--only <part>]
         [--cloud-sql-instance=P:R:I] [--sql-tier=db-custom-1-3840] [--sql-availability=zonal|regional]
         [--env-file=deploy.env.yaml] [--secret NAME (--from-file F | --from-stdin)] [--force]
         [--alert-email=OPERATOR] [--alert-webhook=URL] [--public-base-url=https://…]   (the monitoring part needs --alert-email)
  parts: ${DEPLOY_PARTS.join(', ')}`;

/** Where the CLI writes and what it applies with; tests pass captured streams and fakes. */
export interface DeployCliIo {
  out(text: string): void;
  err(text: string): void;
  /** Builds the apply context (clients from Application Default Credentials); called only with --apply. */
  context?: (target: ApplyContext['target']) => Promise<ApplyContext>;
  stdin?: () => Promise<Buffer>;
  root?: string;
  /** Only these functions (tests; default every folder under functions/). */
  functions?: string[];
}

/** Runs gcloud/firebase without a shell; output is captured, never echoed (it may hold a secret's name, not its value). */
export const spawnRunner: CommandRunner = {
  run: (command, args, options) =>
    new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ exitCode: code ?? 1, stdout, stderr }));
      // A command that exits without reading its input must not crash us with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options?.input ?? '');
    }),
};

async function productionContext(target: ApplyContext['target'], out: (text: string) => void): Promise<ApplyContext> {
  const [{ PubSub }, { CloudSchedulerClient }, { SecretManagerServiceClient }] = await Promise.all([
    import('@google-cloud/pubsub'),
    import('@google-cloud/scheduler'),
    import('@google-cloud/secret-manager'),
  ]);
  return {
    target,
    commands: spawnRunner,
    log: (line) => out(`${line}\n`),
    pubsub: new PubSub({ projectId: target.projectId }),
    scheduler: new CloudSchedulerClient(),
    secrets: new SecretManagerServiceClient(),
    fetch,
  };
}

const readStdin = async (): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/**
 * `npm run deploy`: prints the plan (default; no credentials needed) or, with `--apply`, runs it
 * with a progress line per step. Returns the exit code.
 */
export async function runDeployCli(argv: string[], io: DeployCliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        project: { type: 'string' },
        region: { type: 'string', default: 'europe-west1' },
        apply: { type: 'boolean', default: false },
        only: { type: 'string' },
        'cloud-sql-instance': { type: 'string' },
        'sql-tier': { type: 'string' },
        'sql-availability': { type: 'string' },
        'env-file': { type: 'string', default: 'deploy.env.yaml' },
        secret: { type: 'string' },
        'from-file': { type: 'string' },
        'from-stdin': { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        'alert-email': { type: 'string' },
        'alert-webhook': { type: 'string' },
        'public-base-url': { type: 'string' },
      },
    }));
  } catch (error) {
    io.err(`${(error as Error).message}\n${DEPLOY_USAGE}\n`);
    return 2;
  }
  const availability = values['sql-availability']?.toUpperCase();
  const secretSources = (values['from-file'] ? 1 : 0) + (values['from-stdin'] ? 1 : 0);
  if (!values.project || (availability && availability !== 'ZONAL' && availability !== 'REGIONAL') || (values.secret ? secretSources !== 1 : secretSources !== 0)) {
    io.err(`${DEPLOY_USAGE}\n`);
    return 2;
  }
  if (values.only === 'monitoring' && !values['alert-email']) {
    io.err(`the monitoring part sends its alerts to the operator: pass --alert-email\n${DEPLOY_USAGE}\n`);
    return 2;
  }
  const root = io.root ?? repositoryRoot();
  const target = { projectId: values.project, region: values.region, cloudSqlInstance: values['cloud-sql-instance'] };
  const topology = loadTopology();
  const settings = (name: string) => readDeploySettings(root, name);
  const functions = io.functions ?? discoverFunctions(root);
  const database = defaultDatabaseSpec(target.projectId, target.region);
  const fromFile = values['from-file'];
  const secretId = values.secret && (/^[A-Z][A-Z0-9_]*$/.test(values.secret) ? secretIdFor(values.secret) : values.secret);
  try {
    const steps = selectSteps(
      buildDeploySteps({
        root,
        topology,
        uses: await deriveAllUses({ root, topology, functions, settings }),
        settings,
        target,
        database: {
          ...database,
          ...(values['sql-tier'] ? { tier: values['sql-tier'] } : {}),
          ...(availability ? { availabilityType: availability as 'ZONAL' | 'REGIONAL' } : {}),
        },
        envFile: values['env-file'],
        secretValue: secretId
          ? { secretId, source: fromFile ?? 'stdin', read: fromFile ? () => readFile(fromFile) : (io.stdin ?? readStdin) }
          : undefined,
        forceWebhook: values.force,
        extraSteps: values['alert-email']
          ? monitoringSteps({
              target,
              functions,
              operatorEmail: values['alert-email'],
              ...(values['alert-webhook'] ? { telegramWebhookUrl: values['alert-webhook'] } : {}),
              ...(values['public-base-url'] ? { publicBaseUrl: values['public-base-url'] } : {}),
              root,
            })
          : [],
      }),
      values.only,
    );
    if (!values['alert-email'] && !values.only) io.err('monitoring left out: pass --alert-email=<operator address> to plan or apply it\n');
    if (!values.apply) {
      io.out(renderPlan(steps, target));
      return 0;
    }
    const context = await (io.context ?? ((deployTarget) => productionContext(deployTarget, io.out)))(target);
    await applySteps(steps, context);
    return 0;
  } catch (error) {
    io.err(`deploy stopped: ${(error as Error).message}\n`);
    return 1;
  }
}
