import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type FakeGoogleRest, startFakeGoogleRest } from '../testing/fakes/google-rest.js';
import type { ApplyContext, CommandRunner } from './deploy-step.js';
import { applySteps } from './deploy-plan.js';
import type { FunctionDeploySettings } from './deployment-plan.js';
import { type FunctionUses, grantsOf } from './function-access.js';
import { databaseSteps, defaultDatabaseSpec } from './steps-database.js';
import { functionSteps } from './steps-functions.js';
import { hostingSteps } from './steps-hosting.js';
import { telegramSteps } from './steps-telegram.js';
import { projectRoleSteps, serviceAccountSteps } from './steps-project.js';

const PROJECT = 'pgp-test';
const REGION = 'europe-west1';
const flag = (args: string[], name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

/**
 * gcloud as far as these steps use it: it keeps what the create/deploy/patch commands made and
 * answers describe/list/get-iam-policy from that, as JSON, or NOT_FOUND. Every call is recorded.
 */
function fakeGcloud(root: string) {
  const state = new Map<string, Record<string, unknown>>();
  const policy: { bindings: { role: string; members: string[] }[] } = { bindings: [] };
  const calls: string[] = [];
  const ok = (value: unknown = {}) => ({ exitCode: 0, stdout: JSON.stringify(value), stderr: '' });
  const missing = { exitCode: 1, stdout: '', stderr: 'ERROR: (gcloud) NOT_FOUND: resource not found' };
  const runner: CommandRunner = {
    async run(command, args) {
      calls.push([command, ...args].join(' '));
      const verb = args.slice(0, 3).join(' ');
      if (verb.startsWith('iam service-accounts describe')) return state.has(`sa/${args[3]}`) ? ok(state.get(`sa/${args[3]}`)) : missing;
      if (verb.startsWith('iam service-accounts create')) return state.set(`sa/${args[3]}@${PROJECT}.iam.gserviceaccount.com`, { email: args[3] }), ok();
      if (verb === `projects get-iam-policy ${PROJECT}`) return ok(policy);
      if (verb.startsWith('projects add-iam-policy-binding') || verb.startsWith('projects remove-iam-policy-binding')) {
        const member = flag(args, 'member')!;
        const role = flag(args, 'role')!;
        let binding = policy.bindings.find((entry) => entry.role === role);
        if (!binding) policy.bindings.push((binding = { role, members: [] }));
        binding.members = verb.startsWith('projects add') ? [...new Set([...binding.members, member])] : binding.members.filter((entry) => entry !== member);
        return ok();
      }
      if (verb === 'functions describe telegram-webhook') return ok({ serviceConfig: { uri: 'https://telegram-webhook-k3x9q2-ew.a.run.app' } });
      if (verb.startsWith('functions describe')) return state.has(`fn/${args[2]}`) ? ok(state.get(`fn/${args[2]}`)) : missing;
      if (verb.startsWith('functions deploy')) {
        const env = parse(readFileSync(path.join(root, flag(args, 'env-vars-file')!), 'utf8')) as Record<string, string>;
        const trigger = flag(args, 'trigger-topic');
        state.set(`fn/${args[2]}`, {
          labels: Object.fromEntries([flag(args, 'update-labels')!.split('=') as [string, string]]),
          buildConfig: { runtime: flag(args, 'runtime'), entryPoint: flag(args, 'entry-point') },
          ...(trigger ? { eventTrigger: { pubsubTopic: `projects/${PROJECT}/topics/${trigger}` } } : {}),
          serviceConfig: {
            availableMemory: flag(args, 'memory'),
            ...(flag(args, 'min-instances') === '0' ? {} : { minInstanceCount: Number(flag(args, 'min-instances')) }),
            maxInstanceCount: Number(flag(args, 'max-instances')),
            maxInstanceRequestConcurrency: Number(flag(args, 'concurrency')),
            timeoutSeconds: Number(flag(args, 'timeout')!.replace('s', '')),
            serviceAccountEmail: flag(args, 'run-service-account'),
            environmentVariables: { ...env, LOG_EXECUTION_ID: 'true' },
            secretEnvironmentVariables: (flag(args, 'set-secrets') ?? '').split(',').map((entry) => {
              const [key, reference] = entry.split('=') as [string, string];
              const [secret, version] = reference.split(':') as [string, string];
              return { key, projectId: PROJECT, secret, version };
            }),
          },
        });
        return ok();
      }
      if (verb.startsWith('run services describe')) return state.has(`run/${args[3]}`) ? ok(state.get(`run/${args[3]}`)) : ok({});
      if (verb.startsWith('run services update')) {
        state.set(`run/${args[3]}`, { spec: { template: { metadata: { annotations: { 'run.googleapis.com/cloudsql-instances': flag(args, 'add-cloudsql-instances') } } } } });
        return ok();
      }
      if (verb.startsWith('run services get-iam-policy')) return ok({ bindings: state.has(`invoker/${args[3]}`) ? [{ role: 'roles/run.invoker', members: [state.get(`invoker/${args[3]}`)!.member] }] : [] });
      if (verb.startsWith('functions add-invoker-policy-binding')) return state.set(`invoker/${args[2]}`, { member: flag(args, 'member') }), ok();
      if (verb.startsWith('sql instances describe')) return state.has(`sql/${args[3]}`) ? ok(state.get(`sql/${args[3]}`)) : missing;
      if (verb.startsWith('sql instances create') || verb.startsWith('sql instances patch')) {
        const flags = Object.fromEntries((flag(args, 'database-flags') ?? '').split(',').map((entry) => entry.split('=')));
        state.set(`sql/${args[3]}`, {
          databaseVersion: flag(args, 'database-version') ?? state.get(`sql/${args[3]}`)?.databaseVersion,
          settings: {
            tier: flag(args, 'tier'),
            availabilityType: flag(args, 'availability-type')!.toUpperCase(),
            deletionProtectionEnabled: args.includes('--deletion-protection'),
            databaseFlags: Object.entries(flags).map(([name, value]) => ({ name, value })),
            backupConfiguration: {
              enabled: true,
              startTime: flag(args, 'backup-start-time'),
              pointInTimeRecoveryEnabled: args.includes('--enable-point-in-time-recovery'),
              transactionLogRetentionDays: Number(flag(args, 'retained-transaction-log-days')),
              backupRetentionSettings: { retainedBackups: Number(flag(args, 'retained-backups-count')) },
            },
          },
        });
        return ok();
      }
      if (verb.startsWith('sql databases describe')) return state.has(`db/${args[3]}`) ? ok({ name: args[3] }) : missing;
      if (verb.startsWith('sql databases create')) return state.set(`db/${args[3]}`, {}), ok();
      return { exitCode: 2, stdout: '', stderr: `fake gcloud: no answer for ${verb}` };
    },
  };
  return { runner, state, policy, calls };
}

describe('gcloud steps read the state first: created, then unchanged, then updated', () => {
  let root: string;
  let fake: FakeGoogleRest;
  let secrets: SecretManagerServiceClient;
  let gcloud: ReturnType<typeof fakeGcloud>;
  const context = (): ApplyContext => ({ target: { projectId: PROJECT, region: REGION }, commands: gcloud.runner, log: () => undefined, secrets });
  const settings: FunctionDeploySettings = { secrets: ['DATABASE_URL', 'HOST_WALLET_PRIVATE_KEY'], env: ['HOT_WALLET_ADDRESS'], isPublic: false, memory: '256Mi', minInstances: 0, concurrency: 1, maxInstances: 1 };
  const uses: FunctionUses = { name: 'send-transfer', secrets: settings.secrets, database: true, firestore: false, publishes: [], subscribes: ['transfer-requested'] };
  const steps = () => functionSteps({ root, projectId: PROJECT, region: REGION, uses, settings, cloudSqlInstance: `${PROJECT}:${REGION}:paygateprime`, envFile: 'deploy.env.yaml' });

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'pgp-deploy-gcloud-'));
    mkdirSync(path.join(root, 'dist', 'send-transfer'), { recursive: true });
    writeFileSync(path.join(root, 'dist', 'send-transfer', 'index.js'), 'export {};\n');
    writeFileSync(path.join(root, 'deploy.env.yaml'), 'HOT_WALLET_ADDRESS: "0x00000000000000000000000000000000000000a1"\nUNRELATED: x\n');
    gcloud = fakeGcloud(root);
    fake = await startFakeGoogleRest();
    secrets = new SecretManagerServiceClient(fake.clientOptions as never);
    for (const secretId of ['database-url', 'host-wallet-private-key']) {
      await secrets.createSecret({ parent: `projects/${PROJECT}`, secretId, secret: { replication: { automatic: {} } } });
      await secrets.addSecretVersion({ parent: `projects/${PROJECT}/secrets/${secretId}`, payload: { data: Buffer.from('postgres://paygateprime:pw@/paygateprime?host=/cloudsql/x') } });
    }
    await secrets.addSecretVersion({ parent: `projects/${PROJECT}/secrets/database-url`, payload: { data: Buffer.from('postgres://paygateprime:pw2@/paygateprime?host=/cloudsql/x') } });
  });
  afterAll(async () => {
    await secrets?.close();
    await fake?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('deploys a function with its secrets pinned to the newest enabled version and only its own variables', async () => {
    const report = await applySteps(steps(), context());
    expect(report.outcomes).toEqual([
      { id: 'functions/function/send-transfer', outcome: 'created' },
      { id: 'functions/cloudsql/send-transfer', outcome: 'updated' },
      { id: 'functions/invoker/send-transfer', outcome: 'created' },
    ]);
    const deploy = gcloud.calls.find((call) => call.startsWith('gcloud functions deploy send-transfer'))!;
    expect(deploy).toContain('--set-secrets=DATABASE_URL=database-url:2,HOST_WALLET_PRIVATE_KEY=host-wallet-private-key:1');
    expect(deploy).not.toContain('latest');
    expect(parse(readFileSync(path.join(root, '.deploy', 'send-transfer.env.yaml'), 'utf8'))).toEqual({
      HOT_WALLET_ADDRESS: '0x00000000000000000000000000000000000000a1',
      GOOGLE_CLOUD_PROJECT: PROJECT,
      NODE_ENV: 'production',
      DB_POOL_MAX: '2',
    });
  });

  it('leaves the function alone when nothing changed, and redeploys on a new bundle or a new secret version', async () => {
    const deploySteps = steps;
    expect((await applySteps(deploySteps(), context())).counts).toEqual({ created: 0, updated: 0, unchanged: 3 });
    writeFileSync(path.join(root, 'dist', 'send-transfer', 'index.js'), 'export const changed = 1;\n');
    expect((await applySteps(deploySteps(), context())).outcomes[0]).toEqual({ id: 'functions/function/send-transfer', outcome: 'updated' });
    expect((await applySteps(deploySteps(), context())).counts.unchanged).toBe(3);
    await secrets.addSecretVersion({ parent: `projects/${PROJECT}/secrets/host-wallet-private-key`, payload: { data: Buffer.from('rotated') } });
    expect((await applySteps(deploySteps(), context())).outcomes[0]).toEqual({ id: 'functions/function/send-transfer', outcome: 'updated' });
    expect(gcloud.calls.filter((call) => call.startsWith('gcloud functions deploy')).at(-1)).toContain('HOST_WALLET_PRIVATE_KEY=host-wallet-private-key:2');
  });

  it('creates service accounts once and keeps each function to exactly its project roles', async () => {
    const run = () => [...serviceAccountSteps(['send-transfer'], PROJECT), ...projectRoleSteps([uses], (use) => grantsOf(use, PROJECT), PROJECT)];
    expect((await applySteps(run(), context())).counts).toEqual({ created: 3, updated: 0, unchanged: 0 });
    expect((await applySteps(run(), context())).counts).toEqual({ created: 0, updated: 0, unchanged: 3 });
    gcloud.policy.bindings.push({ role: 'roles/editor', members: [`serviceAccount:fn-send-transfer@${PROJECT}.iam.gserviceaccount.com`] });
    expect((await applySteps(run(), context())).outcomes.at(-1)).toEqual({ id: 'iam/project-roles/send-transfer', outcome: 'updated' });
    expect(gcloud.policy.bindings.find((binding) => binding.role === 'roles/editor')?.members).toEqual([]);
    expect(gcloud.policy.bindings.find((binding) => binding.role === 'roles/cloudsql.client')?.members).toEqual([`serviceAccount:fn-send-transfer@${PROJECT}.iam.gserviceaccount.com`]);
  });

  it('creates the Cloud SQL instance with backups, PITR and deletion protection, and patches it when a setting drifts', async () => {
    const spec = defaultDatabaseSpec(PROJECT, REGION);
    const instanceSteps = () => databaseSteps(spec, PROJECT).slice(0, 2);
    expect((await applySteps(instanceSteps(), context())).counts).toEqual({ created: 2, updated: 0, unchanged: 0 });
    const create = gcloud.calls.find((call) => call.startsWith('gcloud sql instances create'))!;
    for (const part of ['--database-version=POSTGRES_15', '--tier=db-custom-1-3840', '--availability-type=zonal', '--enable-point-in-time-recovery', '--deletion-protection', '--backup-start-time=03:00']) expect(create).toContain(part);
    expect((await applySteps(instanceSteps(), context())).counts).toEqual({ created: 0, updated: 0, unchanged: 2 });
    const regional = databaseSteps({ ...spec, availabilityType: 'REGIONAL' }, PROJECT).slice(0, 1);
    expect((await applySteps(regional, context())).outcomes).toEqual([{ id: 'database/instance/paygateprime', outcome: 'updated' }]);
    expect(gcloud.calls.at(-1)).toMatch(/^gcloud sql instances patch paygateprime .*--availability-type=regional/);
  });

  it("points Telegram at the webhook once, with the secret token, and never prints the bot token or the secret", async () => {
    const TOKEN = '7312345678:AAF3xk_test-token-value-0123456789abc';
    const WEBHOOK_SECRET = 'whsec-9f8e7d6c5b4a39281706';
    for (const [secretId, value] of [['telegram-bot-token', TOKEN], ['telegram-webhook-secret', WEBHOOK_SECRET]] as const) {
      await secrets.createSecret({ parent: `projects/${PROJECT}`, secretId, secret: { replication: { automatic: {} } } });
      await secrets.addSecretVersion({ parent: `projects/${PROJECT}/secrets/${secretId}`, payload: { data: Buffer.from(value) } });
    }
    let webhook: { url: string; allowed_updates: string[]; secret_token?: string } = { url: '', allowed_updates: [] };
    const called: string[] = [];
    const fetchStub = (async (input: string | URL, init?: RequestInit) => {
      const method = String(input).split('/').pop()!;
      called.push(method);
      expect(String(input)).toBe(`https://api.telegram.org/bot${TOKEN}/${method}`);
      if (method === 'setWebhook') webhook = JSON.parse(String(init?.body)) as typeof webhook;
      return new Response(JSON.stringify({ ok: true, result: method === 'getWebhookInfo' ? { url: webhook.url, allowed_updates: webhook.allowed_updates } : true }));
    }) as typeof fetch;
    const lines: string[] = [];
    const telegram = { ...context(), fetch: fetchStub, log: (line: string) => lines.push(line) };
    expect((await applySteps(telegramSteps({ projectId: PROJECT, region: REGION }), telegram)).outcomes).toEqual([{ id: 'telegram/webhook/telegram-webhook', outcome: 'created' }]);
    expect(webhook).toEqual({ url: 'https://telegram-webhook-k3x9q2-ew.a.run.app', secret_token: WEBHOOK_SECRET, allowed_updates: ['message', 'callback_query', 'chat_member', 'my_chat_member'] });
    expect((await applySteps(telegramSteps({ projectId: PROJECT, region: REGION }), telegram)).counts.unchanged).toBe(1);
    expect(called).toEqual(['getWebhookInfo', 'setWebhook', 'getWebhookInfo']);
    const printed = [...lines, ...telegramSteps({ projectId: PROJECT, region: REGION }).flatMap((step) => [step.summary, ...step.commands])].join('\n');
    expect(printed).not.toContain(TOKEN.split(':')[1]);
    expect(printed).not.toContain(WEBHOOK_SECRET);
  });

  it('deploys Hosting when the live index differs from web/dist, not when it is the same, and refuses rewrites to another region', async () => {
    mkdirSync(path.join(root, 'web', 'dist'), { recursive: true });
    writeFileSync(path.join(root, 'web', 'dist', 'index.html'), '<script src="/assets/index-abc123.js"></script>');
    writeFileSync(path.join(root, 'firebase.json'), JSON.stringify({ hosting: { rewrites: [{ source: '/api/**', run: { serviceId: 'dashboard-api', region: REGION } }] } }));
    let live: string | undefined;
    const hosting = { ...context(), fetch: (async () => (live === undefined ? new Response('', { status: 404 }) : new Response(live))) as typeof fetch };
    const firebase: string[] = [];
    const runner = hosting.commands;
    hosting.commands = { run: async (command, args, options) => (command === 'firebase' ? (firebase.push(args.join(' ')), { exitCode: 0, stdout: 'Deploy complete!', stderr: '' }) : runner.run(command, args, options)) };
    expect((await applySteps(hostingSteps({ root, projectId: PROJECT, region: REGION }), hosting)).outcomes).toEqual([{ id: 'hosting/site/web', outcome: 'created' }]);
    live = readFileSync(path.join(root, 'web', 'dist', 'index.html'), 'utf8');
    expect((await applySteps(hostingSteps({ root, projectId: PROJECT, region: REGION }), hosting)).counts.unchanged).toBe(1);
    expect(firebase).toEqual([`deploy --only hosting --project=${PROJECT} --non-interactive`]);
    await expect(applySteps(hostingSteps({ root, projectId: PROJECT, region: 'us-central1' }), hosting)).rejects.toThrow(/rewrites \/api\/\*\* to europe-west1, the deploy is in us-central1/);
  });
});
