import { describe, expect, it } from 'vitest';
import { parseTopology, repositoryRoot } from '../bus/topology.js';
import type { ApplyContext, DeployStep } from './deploy-step.js';
import { applySteps, buildDeploySteps, renderPlan, selectSteps } from './deploy-plan.js';
import type { FunctionDeploySettings } from './deployment-plan.js';
import type { FunctionUses } from './function-access.js';
import { runDeployCli } from './deploy-cli.js';
import { KEY_VALUE_COLLECTION } from '../runtime/services.js';
import { defaultDatabaseSpec } from './steps-database.js';
import { ttlPolicies } from './steps-firestore.js';

const settings = (overrides: Partial<FunctionDeploySettings> = {}): FunctionDeploySettings => ({
  secrets: ['DATABASE_URL'],
  env: [],
  isPublic: false,
  memory: '256Mi',
  minInstances: 0,
  concurrency: 1,
  maxInstances: 10,
  ...overrides,
});

const TOPOLOGY = `
defaults:
  subscriber: { maxDeliveryAttempts: 10, minBackoffSeconds: 10, maxBackoffSeconds: 600, timeoutSeconds: 60 }
deadLetterSubscriber: record-dead-letter
topics:
  payout-requested:
    schema: schemas/payout-requested.avsc
    deadLetterTopic: payout-requested-dlq
    subscribers:
      - function: send-transfer
        maxDeliveryAttempts: 7
scheduler:
  relay: { schedule: "* * * * *", topic: payout-requested, body: { job: relay-outbox } }
`;

const SETTINGS: Record<string, FunctionDeploySettings> = {
  'nowpayments-ipn': settings({ secrets: ['DATABASE_URL', 'NOWPAYMENTS_IPN_SECRET'], env: ['TRUSTED_PROXY_HOPS'], isPublic: true }),
  'record-dead-letter': settings(),
  'send-transfer': settings({ secrets: ['DATABASE_URL', 'HOST_WALLET_PRIVATE_KEY'], maxInstances: 1 }),
  'telegram-webhook': settings({ secrets: ['DATABASE_URL', 'TELEGRAM_BOT_TOKEN', 'TELEGRAM_WEBHOOK_SECRET'], isPublic: true }),
};

// What each function uses, as deriveFunctionUses would say for this sample (its derivation is tested in function-access.test.ts).
const USES: FunctionUses[] = [
  { name: 'nowpayments-ipn', secrets: SETTINGS['nowpayments-ipn']!.secrets, database: true, firestore: false, publishes: ['payout-requested'], subscribes: [] },
  { name: 'record-dead-letter', secrets: ['DATABASE_URL'], database: true, firestore: false, publishes: [], subscribes: ['payout-requested-dlq'] },
  { name: 'send-transfer', secrets: SETTINGS['send-transfer']!.secrets, database: true, firestore: false, publishes: [], subscribes: ['payout-requested'] },
  { name: 'telegram-webhook', secrets: SETTINGS['telegram-webhook']!.secrets, database: true, firestore: true, publishes: [], subscribes: [] },
];

const target = { projectId: 'pgp-prod', region: 'europe-west1', cloudSqlInstance: 'pgp-prod:europe-west1:ledger' };
const steps = buildDeploySteps({
  root: repositoryRoot(),
  topology: parseTopology(TOPOLOGY),
  uses: USES,
  settings: (name) => SETTINGS[name]!,
  target,
  database: defaultDatabaseSpec(target.projectId, target.region),
});
const plan = renderPlan(steps, target);

describe('the printed plan', () => {
  it('matches the snapshot for a sample project (every step summary and exact command, in order)', async () => {
    await expect(plan).toMatchFileSnapshot('__snapshots__/deploy-plan.sample.txt');
  });

  it('pins every secret to the version newest at apply time, never :latest, and gives the hot-wallet key to send-transfer only', () => {
    expect(plan).not.toContain(':latest');
    expect(plan).toContain('--set-secrets=DATABASE_URL=database-url:<newest at apply>,HOST_WALLET_PRIVATE_KEY=host-wallet-private-key:<newest at apply>');
    const mentions = plan.split('\n').filter((line) => line.includes('HOST_WALLET_PRIVATE_KEY') || line.includes('host-wallet-private-key'));
    for (const line of mentions) expect(line).toMatch(/send-transfer|Secret host-wallet-private-key \(HOST_WALLET_PRIVATE_KEY\)/);
  });

  it('deploys event functions on their trigger topic with retries and HTTP functions public only when declared', () => {
    expect(plan).toMatch(/gcloud functions deploy send-transfer [^\n]*--runtime=nodejs22 [^\n]*--trigger-topic=payout-requested --retry/);
    expect(plan).toMatch(/gcloud functions deploy nowpayments-ipn [^\n]*--trigger-http --allow-unauthenticated/);
    expect(plan).toMatch(/gcloud eventarc triggers create record-dead-letter--payout-requested-dlq|--trigger-topic=payout-requested-dlq/);
  });

  it('orders the parts so each step finds what it needs: topics before the functions, subscriptions after them', () => {
    const index = (id: string) => steps.findIndex((step) => step.id === id);
    expect(index('pubsub/topic/payout-requested')).toBeLessThan(index('functions/function/send-transfer'));
    expect(index('functions/function/send-transfer')).toBeLessThan(index('pubsub/subscription/payout-requested--send-transfer'));
    expect(index('service-accounts/account/fn-send-transfer')).toBeLessThan(index('secrets/accessors/host-wallet-private-key'));
  });

  it('restricts to one part with --only, and refuses an unknown part', () => {
    const pubsub = selectSteps(steps, 'pubsub');
    expect(pubsub.length).toBeGreaterThan(0);
    expect(new Set(pubsub.map((step) => step.part))).toEqual(new Set(['pubsub']));
    expect(() => selectSteps(steps, 'everything')).toThrow(/the parts are apis, service-accounts/);
  });
});

describe('the Firestore TTL policy', () => {
  it('is on the collection and field the key-value store writes (kv_entries.expiresAt)', () => {
    expect(ttlPolicies(repositoryRoot())).toEqual([{ collectionGroup: KEY_VALUE_COLLECTION, fieldPath: 'expiresAt' }]);
  });
});

describe('applySteps', () => {
  const fixed = (id: string, outcomes: ('created' | 'updated' | 'unchanged')[]): DeployStep => ({
    part: 'pubsub',
    id,
    summary: id,
    commands: [],
    apply: async () => outcomes.shift() ?? 'unchanged',
  });

  it('prints one progress line per step ending in its outcome, then a total; a second run says nothing changed', async () => {
    const lines: string[] = [];
    const context: ApplyContext = { target, commands: { run: async () => ({ exitCode: 0, stdout: '', stderr: '' }) }, log: (line) => lines.push(line) };
    const run = [fixed('pubsub/topic/a', ['created']), fixed('pubsub/topic/b', ['updated'])];
    await applySteps(run, context);
    expect(lines).toEqual(['[1/2] pubsub/topic/a … created', '[2/2] pubsub/topic/b … updated', '1 created, 1 updated, 0 unchanged']);
    lines.length = 0;
    const report = await applySteps(run, context);
    expect(lines.at(-1)).toBe('nothing changed: all 2 steps unchanged');
    expect(report.counts).toEqual({ created: 0, updated: 0, unchanged: 2 });
  });

  it('stops at the first failing step and says which', async () => {
    const lines: string[] = [];
    const failing: DeployStep = { ...fixed('pubsub/topic/b', []), apply: async () => Promise.reject(new Error('permission denied')) };
    const context: ApplyContext = { target, commands: { run: async () => ({ exitCode: 0, stdout: '', stderr: '' }) }, log: (line) => lines.push(line) };
    await expect(applySteps([fixed('pubsub/topic/a', ['unchanged']), failing, fixed('pubsub/topic/c', ['created'])], context)).rejects.toThrow('permission denied');
    expect(lines).toEqual(['[1/3] pubsub/topic/a … unchanged', '[2/3] pubsub/topic/b … failed: permission denied']);
  });
});

describe('npm run deploy -- --project=x', () => {
  it('prints the whole plan for the repository without credentials', async () => {
    let out = '';
    let err = '';
    const code = await runDeployCli(['--project=x', '--alert-email=ops@example.com'], { out: (text) => (out += text), err: (text) => (err += text) });
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toContain('# Deploy plan for project x, region europe-west1');
    for (const part of ['apis', 'service-accounts', 'iam', 'secrets', 'database', 'firestore', 'pubsub', 'functions', 'scheduler', 'hosting', 'telegram', 'monitoring']) expect(out).toContain(`\n## ${part}\n`);
    // The operator's address is masked in what the plan prints.
    expect(out).not.toContain('ops@example.com');
    expect(out).toContain('gcloud functions deploy nowpayments-ipn --project=x --gen2');
    expect(out).toContain('[firestore/ttl/kv_entries.expiresAt]');
  }, 120_000);

  it('leaves the monitoring part out without an operator address, and says so', async () => {
    let out = '';
    let err = '';
    expect(await runDeployCli(['--project=x', '--only=scheduler'], { out: (text) => (out += text), err: (text) => (err += text) })).toBe(0);
    expect(await runDeployCli(['--project=x', '--only=monitoring'], { out: (text) => (out += text), err: (text) => (err += text) })).toBe(2);
    expect(err).toContain('pass --alert-email');
  }, 120_000);

  it('answers a missing project or a half-given secret with the usage', async () => {
    let err = '';
    expect(await runDeployCli([], { out: () => undefined, err: (text) => (err += text) })).toBe(2);
    expect(await runDeployCli(['--project=x', '--secret', 'JWT_SECRET'], { out: () => undefined, err: (text) => (err += text) })).toBe(2);
    expect(err).toContain('usage: npm run deploy');
  });
});
