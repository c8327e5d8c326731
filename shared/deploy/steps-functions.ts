import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { ApplyContext, DeployStep, StepOutcome } from './deploy-step.js';
import { type FunctionDeploySettings, platformEnv, secretIdFor } from './deployment-plan.js';
import { deployError } from './errors.js';
import { type FunctionUses, functionServiceAccount, INVOKER_ACCOUNT, serviceAccountEmail } from './function-access.js';
import { commandLine, describe, need, run } from './gcloud.js';
import { newestEnabledVersion } from './steps-secrets.js';

export interface FunctionStepsInput {
  root: string;
  projectId: string;
  region: string;
  uses: FunctionUses;
  settings: FunctionDeploySettings;
  /** PROJECT:REGION:INSTANCE attached to functions that use the database. */
  cloudSqlInstance: string;
  /** The operator's file of plain variables (`NAME: value`), relative to the root. */
  envFile: string;
}

/** sha256 over dist/<name> (paths and bytes), the `pgp-source` label: a changed bundle redeploys. */
export function sourceDigest(root: string, name: string): string {
  const folder = path.join(root, 'dist', name);
  if (!existsSync(folder)) throw deployError('deploy_state_conflict', `dist/${name} is missing: run npm run build first`);
  const hash = createHash('sha256');
  const files = readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.map'))
    .map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name)))
    .sort();
  for (const file of files) hash.update(file).update('\0').update(readFileSync(path.join(folder, file))).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** The function's environment: its deploy.yaml `env` from the operator's file, plus the platform's. */
export function functionEnvironment(input: Pick<FunctionStepsInput, 'root' | 'envFile' | 'settings' | 'projectId' | 'uses'>): Record<string, string> {
  const file = path.join(input.root, input.envFile);
  const values = input.settings.env.length > 0 && existsSync(file) ? ((parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>) : {};
  const missing = input.settings.env.filter((name) => values[name] === undefined || values[name] === null);
  if (missing.length > 0) throw deployError('deploy_state_conflict', `${input.envFile} lacks ${missing.join(', ')} (needed by ${input.uses.name})`);
  return { ...Object.fromEntries(input.settings.env.map((name) => [name, String(values[name])])), ...platformEnv(input.projectId) };
}

function deployArgs(input: FunctionStepsInput, resolved: { secretVersion: (secretId: string) => string; digest: string; envFile: string }): string[] {
  const { uses, settings, projectId, region } = input;
  const trigger = uses.subscribes[0];
  const args = [
    'functions',
    'deploy',
    uses.name,
    `--project=${projectId}`,
    '--gen2',
    `--region=${region}`,
    '--runtime=nodejs22',
    `--source=dist/${uses.name}`,
    `--entry-point=${uses.name}`,
    `--memory=${settings.memory}`,
    `--min-instances=${settings.minInstances}`,
    `--max-instances=${settings.maxInstances}`,
    `--concurrency=${settings.concurrency}`,
    `--run-service-account=${serviceAccountEmail(functionServiceAccount(uses.name), projectId)}`,
  ];
  if (trigger) {
    args.push(`--trigger-topic=${trigger}`, '--retry', `--trigger-service-account=${serviceAccountEmail(INVOKER_ACCOUNT, projectId)}`, `--timeout=${timeoutOf(input)}s`);
  } else {
    args.push('--trigger-http', settings.isPublic ? '--allow-unauthenticated' : '--no-allow-unauthenticated', `--timeout=${timeoutOf(input)}s`);
  }
  if (settings.secrets.length > 0) {
    args.push(`--set-secrets=${settings.secrets.map((variable) => `${variable}=${secretIdFor(variable)}:${resolved.secretVersion(secretIdFor(variable))}`).join(',')}`);
  }
  args.push(`--env-vars-file=${resolved.envFile}`, `--update-labels=pgp-source=${resolved.digest}`);
  return args;
}

const timeoutOf = (input: FunctionStepsInput) => input.settings.timeoutSeconds ?? (input.uses.subscribes.length > 0 ? 120 : 60);

interface DescribedFunction {
  labels?: Record<string, string>;
  buildConfig?: { runtime?: string; entryPoint?: string };
  eventTrigger?: { pubsubTopic?: string; retryPolicy?: string };
  serviceConfig?: {
    availableMemory?: string;
    minInstanceCount?: number;
    maxInstanceCount?: number;
    maxInstanceRequestConcurrency?: number;
    timeoutSeconds?: number;
    serviceAccountEmail?: string;
    environmentVariables?: Record<string, string>;
    secretEnvironmentVariables?: { key: string; secret: string; version: string }[];
  };
}

/** What differs between the deployed function and the one wanted (empty: nothing to deploy). */
export function functionDifferences(current: DescribedFunction, input: FunctionStepsInput, wanted: { env: Record<string, string>; secretVersion: (id: string) => string; digest: string }): string[] {
  const service = current.serviceConfig ?? {};
  const differences: string[] = [];
  const check = (name: string, isSame: boolean) => {
    if (!isSame) differences.push(name);
  };
  check('source', current.labels?.['pgp-source'] === wanted.digest);
  check('runtime', current.buildConfig?.runtime === 'nodejs22' && current.buildConfig.entryPoint === input.uses.name);
  check('memory', service.availableMemory === input.settings.memory);
  check('instances', (service.minInstanceCount ?? 0) === input.settings.minInstances && service.maxInstanceCount === input.settings.maxInstances);
  check('concurrency', (service.maxInstanceRequestConcurrency ?? 1) === input.settings.concurrency);
  check('timeout', service.timeoutSeconds === timeoutOf(input));
  check('service-account', service.serviceAccountEmail === serviceAccountEmail(functionServiceAccount(input.uses.name), input.projectId));
  // The platform adds LOG_EXECUTION_ID; anything else we did not set is drift.
  const env = Object.fromEntries(Object.entries(service.environmentVariables ?? {}).filter(([name]) => name !== 'LOG_EXECUTION_ID'));
  check('env', JSON.stringify(Object.entries(env).sort()) === JSON.stringify(Object.entries(wanted.env).sort()));
  const secrets = (service.secretEnvironmentVariables ?? []).map((secret) => `${secret.key}=${secret.secret}:${secret.version}`).sort();
  check('secrets', JSON.stringify(secrets) === JSON.stringify(input.settings.secrets.map((variable) => `${variable}=${secretIdFor(variable)}:${wanted.secretVersion(secretIdFor(variable))}`).sort()));
  const trigger = input.uses.subscribes[0];
  check('trigger', trigger ? current.eventTrigger?.pubsubTopic === `projects/${input.projectId}/topics/${trigger}` : !current.eventTrigger);
  return differences;
}

async function resolveSecretVersions(context: ApplyContext, input: FunctionStepsInput): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  for (const variable of input.settings.secrets) {
    const secretId = secretIdFor(variable);
    const version = await newestEnabledVersion(need(context.secrets, 'Secret Manager'), input.projectId, secretId);
    if (!version) throw deployError('deploy_secret_missing', `secret ${secretId} has no enabled version (needed by ${input.uses.name}): add one with --only secrets --secret ${secretId} --from-file <file>`);
    versions.set(secretId, version);
  }
  return versions;
}

/**
 * A function's deploy (gen2, nodejs22, settings from deploy.yaml, secrets pinned to the newest
 * enabled version at apply time), its Cloud SQL attachment, the invoker binding Eventarc pushes with,
 * and one Eventarc trigger per further topic. The deploy step reads the function first and deploys
 * only when the bundle (the `pgp-source` label), a setting, a secret version or a variable changed.
 */
export function functionSteps(input: FunctionStepsInput): DeployStep[] {
  const { uses, projectId, region } = input;
  const name = uses.name;
  const envFile = `.deploy/${name}.env.yaml`;
  const plannedArgs = deployArgs(input, { secretVersion: () => '<newest at apply>', digest: `<sha256 of dist/${name}>`, envFile });
  const steps: DeployStep[] = [
    {
      part: 'functions',
      id: `functions/function/${name}`,
      summary:
        `Function ${name}: gen2 nodejs22, ${input.settings.memory}, instances ${input.settings.minInstances}–${input.settings.maxInstances}, concurrency ${input.settings.concurrency}, timeout ${timeoutOf(input)} s, ` +
        (uses.subscribes[0] ? `on ${uses.subscribes[0]}` : input.settings.isPublic ? 'public HTTP' : 'private HTTP') +
        `; ${envFile} from ${input.envFile} (${[...input.settings.env, ...Object.keys(platformEnv(projectId))].join(', ')})`,
      commands: [commandLine('gcloud', plannedArgs)],
      async apply(context): Promise<StepOutcome> {
        const digest = sourceDigest(input.root, name);
        const env = functionEnvironment(input);
        const versions = await resolveSecretVersions(context, input);
        const secretVersion = (secretId: string) => versions.get(secretId) ?? '';
        const current = await describe<DescribedFunction>(context, ['functions', 'describe', name, '--gen2', `--region=${region}`, `--project=${projectId}`]);
        if (current && functionDifferences(current, input, { env, secretVersion, digest }).length === 0) return 'unchanged';
        mkdirSync(path.join(input.root, '.deploy'), { recursive: true });
        writeFileSync(path.join(input.root, envFile), stringify(env), { mode: 0o600 });
        await run(context, 'gcloud', deployArgs(input, { secretVersion, digest, envFile }));
        return current ? 'updated' : 'created';
      },
    },
  ];
  if (uses.database) {
    const update = ['run', 'services', 'update', name, `--project=${projectId}`, `--region=${region}`, `--add-cloudsql-instances=${input.cloudSqlInstance}`];
    steps.push({
      part: 'functions',
      id: `functions/cloudsql/${name}`,
      summary: `Cloud SQL ${input.cloudSqlInstance} attached to ${name} (the unix socket DATABASE_URL points at)`,
      commands: [commandLine('gcloud', update)],
      async apply(context) {
        const service = await describe<{ spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } }>(context, ['run', 'services', 'describe', name, `--project=${projectId}`, `--region=${region}`]);
        const attached = service?.spec?.template?.metadata?.annotations?.['run.googleapis.com/cloudsql-instances'] ?? '';
        if (attached.split(',').includes(input.cloudSqlInstance)) return 'unchanged';
        await run(context, 'gcloud', update);
        return 'updated';
      },
    });
  }
  if (uses.subscribes.length > 0) {
    const member = `serviceAccount:${serviceAccountEmail(INVOKER_ACCOUNT, projectId)}`;
    const bind = ['functions', 'add-invoker-policy-binding', name, `--project=${projectId}`, `--region=${region}`, `--member=${member}`];
    steps.push({
      part: 'functions',
      id: `functions/invoker/${name}`,
      summary: `roles/run.invoker on ${name} for ${INVOKER_ACCOUNT} (Eventarc pushes with it)`,
      commands: [commandLine('gcloud', bind)],
      async apply(context) {
        const policy = await describe<{ bindings?: { role: string; members?: string[] }[] }>(context, ['run', 'services', 'get-iam-policy', name, `--project=${projectId}`, `--region=${region}`]);
        if (policy?.bindings?.some((binding) => binding.role === 'roles/run.invoker' && binding.members?.includes(member))) return 'unchanged';
        await run(context, 'gcloud', bind);
        return 'created';
      },
    });
    for (const topic of uses.subscribes.slice(1)) {
      const trigger = `${name}--${topic}`.slice(0, 63);
      const create = [
        'eventarc',
        'triggers',
        'create',
        trigger,
        `--project=${projectId}`,
        `--location=${region}`,
        `--destination-run-service=${name}`,
        `--destination-run-region=${region}`,
        '--event-filters=type=google.cloud.pubsub.topic.v1.messagePublished',
        `--transport-topic=projects/${projectId}/topics/${topic}`,
        `--service-account=${serviceAccountEmail(INVOKER_ACCOUNT, projectId)}`,
      ];
      steps.push({
        part: 'functions',
        id: `functions/trigger/${trigger}`,
        summary: `Eventarc trigger ${trigger}: ${topic} → ${name}`,
        commands: [commandLine('gcloud', create)],
        async apply(context) {
          if (await describe(context, ['eventarc', 'triggers', 'describe', trigger, `--location=${region}`, `--project=${projectId}`])) return 'unchanged';
          await run(context, 'gcloud', create);
          return 'created';
        },
      });
    }
  }
  return steps;
}
