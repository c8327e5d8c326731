import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTopology, repositoryRoot } from '../bus/topology.js';
import { bundleContents } from './bundle-inputs.js';
import { deriveAllUses } from './deploy-plan.js';
import { type FunctionDeploySettings, readDeploySettings } from './deployment-plan.js';
import { discoverFunctions } from './function-folders.js';
import { type FunctionUses, functionServiceAccount, grantsOf, invokerGrants, serviceAccountEmail, usesFromSources } from './function-access.js';

const root = repositoryRoot();
const topology = loadTopology();
const OUTBOX_TOPICS = topology.topics.filter((topic) => topic.schemaFile).map((topic) => topic.name).sort();

/**
 * Every function's roles, written out: what its code needs and nothing more. A change here should
 * come from a change in the code (a new topic queued, the key-value store used), never by hand.
 */
const EXPECTED: Record<string, { project: string[]; secrets: string[]; viewers?: string[]; publishes: string[] | 'every outbox topic' }> = {
  'broadcast-tiers': { project: ['roles/cloudsql.client'], secrets: ['database-url', 'telegram-bot-token'], publishes: ['owner-notification-requested'] },
  'convert-accumulated': { project: ['roles/cloudsql.client'], secrets: ['database-url', 'changenow-api-key'], publishes: ['payout-requested'] },
  'create-swap': { project: ['roles/cloudsql.client'], secrets: ['database-url', 'changenow-api-key', 'field-encryption-keys', 'field-blind-index-key'], publishes: ['owner-notification-requested', 'owner-webhook-requested', 'transfer-requested'] },
  'dashboard-api': {
    project: ['roles/cloudsql.client', 'roles/datastore.user'],
    secrets: ['database-url', 'jwt-secret', 'jwt-secret-previous', 'telegram-bot-token', 'owner-webhook-signing-key', 'field-encryption-keys', 'field-blind-index-key'],
    viewers: ['jwt-secret'],
    publishes: ['account-mail-requested', 'broadcast-requested', 'operator-alert-requested', 'owner-webhook-requested'] },
  // Publishes its own topic only because the bundle carries the folder's door (the sweep's SQL); it never queues.
  'deliver-owner-webhook': { project: ['roles/cloudsql.client'], secrets: ['database-url', 'owner-webhook-signing-key'], publishes: ['account-mail-requested', 'owner-webhook-requested'] },
  'expire-subscriptions': { project: ['roles/cloudsql.client'], secrets: ['database-url', 'telegram-bot-token'], publishes: ['owner-webhook-requested', 'subscriber-notification-requested'] },
  'notify-operator': { project: ['roles/cloudsql.client', 'roles/datastore.user'], secrets: ['database-url', 'telegram-bot-token'], publishes: [] },
  'notify-owner': { project: ['roles/cloudsql.client', 'roles/datastore.user'], secrets: ['database-url', 'telegram-bot-token'], publishes: [] },
  'notify-subscriber': { project: ['roles/cloudsql.client', 'roles/datastore.user'], secrets: ['database-url', 'telegram-bot-token'], publishes: [] },
  'nowpayments-ipn': {
    project: ['roles/cloudsql.client'],
    secrets: ['database-url', 'nowpayments-ipn-secret', 'nowpayments-ipn-secret-previous'],
    viewers: ['nowpayments-ipn-secret'],
    publishes: ['operator-alert-requested', 'payment-settled', 'subscriber-notification-requested'],
  },
  'quote-payout': { project: ['roles/cloudsql.client'], secrets: ['database-url', 'changenow-api-key', 'eth-rpc-url', 'field-encryption-keys', 'field-blind-index-key'], publishes: ['operator-alert-requested', 'owner-notification-requested', 'owner-webhook-requested', 'payout-quoted', 'transfer-requested'] },
  reconcile: { project: ['roles/cloudsql.client'], secrets: ['database-url', 'nowpayments-api-key'], publishes: 'every outbox topic' },
  'reconcile-hot-wallet': { project: ['roles/cloudsql.client'], secrets: ['database-url', 'eth-rpc-url'], publishes: ['operator-alert-requested'] },
  'record-dead-letter': { project: ['roles/cloudsql.client'], secrets: ['database-url'], publishes: [] },
  'relay-outbox': { project: ['roles/cloudsql.client'], secrets: ['database-url'], publishes: 'every outbox topic' },
  'remind-subscribers': { project: ['roles/cloudsql.client'], secrets: ['database-url', 'telegram-bot-token'], publishes: [] },
  'retry-owner-webhooks': { project: ['roles/cloudsql.client'], secrets: ['database-url'], publishes: ['owner-webhook-requested'] },
  'run-threshold-payouts': { project: ['roles/cloudsql.client'], secrets: ['database-url'], publishes: ['payout-requested'] },
  'send-account-mail': { project: ['roles/cloudsql.client', 'roles/datastore.user'], secrets: ['database-url', 'smtp-url', 'field-encryption-keys', 'field-blind-index-key'], publishes: [] },
  'send-invite': { project: ['roles/cloudsql.client', 'roles/datastore.user'], secrets: ['database-url', 'telegram-bot-token'], publishes: [] },
  'send-transfer': { project: ['roles/cloudsql.client'], secrets: ['database-url', 'eth-rpc-url', 'host-wallet-private-key', 'field-encryption-keys', 'field-blind-index-key'], publishes: ['operator-alert-requested', 'owner-webhook-requested'] },
  'settle-payment': { project: ['roles/cloudsql.client'], secrets: ['database-url'], publishes: ['invite-requested', 'operator-alert-requested', 'owner-notification-requested', 'owner-webhook-requested', 'payout-requested', 'subscriber-notification-requested'] },
  'telegram-webhook': {
    project: ['roles/cloudsql.client', 'roles/datastore.user'],
    secrets: ['database-url', 'telegram-bot-token', 'telegram-webhook-secret', 'telegram-webhook-secret-previous', 'nowpayments-api-key'],
    viewers: ['telegram-webhook-secret'],
    publishes: ['account-mail-requested', 'invite-requested', 'owner-notification-requested', 'owner-webhook-requested'],
  },
  'track-payouts': { project: ['roles/cloudsql.client'], secrets: ['database-url', 'eth-rpc-url', 'changenow-api-key'], publishes: ['operator-alert-requested', 'owner-notification-requested', 'owner-webhook-requested', 'payout-quoted', 'payout-requested', 'transfer-requested'] },
};

describe('least privilege derived from the code', () => {
  let uses: FunctionUses[];
  beforeAll(async () => {
    const functions = discoverFunctions(root);
    uses = await deriveAllUses({ root, topology, functions, settings: (name) => readDeploySettings(root, name) });
  }, 120_000);

  it("gives every function's service account exactly the roles its code needs, no more (the full table)", () => {
    const table = Object.fromEntries(
      uses.map((use) => {
        const grants = grantsOf(use, 'p');
        const expected = EXPECTED[use.name];
        const member = `serviceAccount:${serviceAccountEmail(functionServiceAccount(use.name), 'p')}`;
        expect(grants.every((grant) => grant.member === member)).toBe(true);
        return [
          use.name,
          {
            project: grants.filter((grant) => grant.resource === 'project').map((grant) => grant.role),
            secrets: grants.filter((grant) => grant.role === 'roles/secretmanager.secretAccessor').map((grant) => grant.resource.slice('secret/'.length)),
            ...((viewers) => (viewers.length > 0 ? { viewers } : {}))(grants.filter((grant) => grant.role === 'roles/secretmanager.viewer').map((grant) => grant.resource.slice('secret/'.length))),
            publishes: ((topics: string[]) => (JSON.stringify(topics) === JSON.stringify(OUTBOX_TOPICS) && expected?.publishes === 'every outbox topic' ? 'every outbox topic' : topics))(
              grants.filter((grant) => grant.role === 'roles/pubsub.publisher').map((grant) => grant.resource.slice('topic/'.length)),
            ),
          },
        ];
      }),
    );
    expect(table).toEqual(EXPECTED);
    // Only the secret roles on secrets (viewer only to read the aliases of rotating secrets), only publisher on topics: nothing else anywhere.
    for (const use of uses) {
      for (const grant of grantsOf(use, 'p')) {
        expect(grant.resource === 'project' || (grant.resource.startsWith('secret/') && ['roles/secretmanager.secretAccessor', 'roles/secretmanager.viewer'].includes(grant.role)) || (grant.resource.startsWith('topic/') && grant.role === 'roles/pubsub.publisher')).toBe(true);
      }
    }
  });

  it('lets the invoker push to exactly the functions with a trigger topic', () => {
    expect(invokerGrants(uses, 'p').map((grant) => grant.resource).sort()).toEqual(topology.eventFunctions.map((name) => `run-service/${name}`).sort());
  });

  it('reads Firestore use from the real imports: a function whose bundle carries a module importing the kv store gets datastore.user', async () => {
    const webhook = await bundleContents(root, 'telegram-webhook');
    expect(webhook.files).toContain('shared/bot/session-storage.ts'); // imports ../kv/index.js
    expect(grantsOf(uses.find((use) => use.name === 'telegram-webhook')!, 'p').map((grant) => grant.role)).toContain('roles/datastore.user');
    // settle-payment ships the runtime (which could build the store) but no module that uses it.
    const settle = await bundleContents(root, 'settle-payment');
    expect(settle.files).toContain('shared/runtime/services.ts');
    expect(settle.files.filter((file) => file.startsWith('shared/bot/') || file.startsWith('shared/dashboard/'))).toEqual([]);
    expect(grantsOf(uses.find((use) => use.name === 'settle-payment')!, 'p').map((grant) => grant.role)).not.toContain('roles/datastore.user');
  }, 60_000);
});

describe('usesFromSources', () => {
  const settings: FunctionDeploySettings = { secrets: ['DATABASE_URL'], env: [], isPublic: false, memory: '256Mi', minInstances: 0, concurrency: 1, maxInstances: 1 };
  const derive = (sources: { file: string; text: string }[], shipped: { file: string; code: string }[] = [], secrets = settings.secrets) =>
    usesFromSources({ name: 'sample', settings: { ...settings, secrets }, topology, sources, shipped });

  it.each([
    ['a bundled module importing the kv store', [{ file: 'shared/dashboard/rate-limits.ts', text: "import { type KeyValueStore } from '../kv/index.js';" }], true],
    ['only the runtime and the consume wrapper, which carry it', [{ file: 'shared/runtime/services.ts', text: "import { createFirestoreKeyValueStore } from '../kv/index.js';" }, { file: 'shared/pubsub-entry/consume.ts', text: "import { withLease } from '../kv/index.js';" }], false],
    ['a wrapper that runs deliveries under a lease', [{ file: 'functions/sample/index.ts', text: 'consume({ exclusiveKey: (delivery) => delivery.messageId })' }], true],
    ['a comment naming the store', [{ file: 'shared/payouts/x.ts', text: "// import from '../kv/index.js' is not needed" }], false],
  ])('firestore: %s → %s', (_case, sources, expected) => {
    expect(derive(sources).firestore).toBe(expected);
  });

  it('needs both DATABASE_URL and shared/db in the bundle for the Cloud SQL client role', () => {
    expect(derive([{ file: 'shared/db/pool.ts', text: '' }]).database).toBe(true);
    expect(derive([{ file: 'shared/db/pool.ts', text: '' }], [], []).database).toBe(false);
    expect(derive([{ file: 'shared/ledger/x.ts', text: '' }]).database).toBe(false);
  });

  it('reads the topics from the shipped code: literals, every topic a file names when the topic is a variable, all of them for a full relay', () => {
    expect(derive([], [{ file: 'shared/payouts/swap.ts', code: 'await enqueueMessage2(tx, "transfer-requested", { payoutId }, {});' }]).publishes).toEqual(['transfer-requested']);
    expect(derive([], [{ file: 'shared/payouts/quote.ts', code: 'markQuoted(deps, p, 1n, now, "payout-quoted"); markQuoted(deps, p, 1n, now, "transfer-requested"); await enqueueMessage(tx, next, { payoutId }, {});' }]).publishes).toEqual(['payout-quoted', 'transfer-requested']);
    expect(derive([], [{ file: 'shared/payments/reconciliation.ts', code: 'const outbox = await relayOutbox(deps, { limit: 500 });' }]).publishes).toEqual(OUTBOX_TOPICS);
    expect(derive([], [{ file: 'shared/bus/outbox.ts', code: 'await relayOutbox(deps, { only: queued, orphans: 5 }); enqueueMessages(tx, [outboxMessage(topic, message, options)]);' }]).publishes).toEqual([]);
  });
});

describe('the code the derivation reads', () => {
  it('names the candidate topics beside every call that queues to a topic held in a variable (otherwise a grant would be missed)', () => {
    // outbox.ts defines the calls; dead-letter-redrive.ts serves the operator CLI, whose rows relay-outbox (every topic) publishes.
    const exempt = new Set(['shared/bus/outbox.ts', 'shared/bus/dead-letter-redrive.ts']);
    const files = readdirSync(path.join(root, 'shared'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
      .filter((file) => !file.startsWith('shared/testing/') && !exempt.has(file));
    const unnamed = files.filter((file) => {
      const text = readFileSync(path.join(root, file), 'utf8');
      const isVariable = /\b(?:enqueueMessage\(\s*\w+\s*,|outboxMessage\()\s*[A-Za-z_$][\w$.]*\s*,/.test(text);
      return isVariable && !OUTBOX_TOPICS.some((topic) => text.includes(`'${topic}'`));
    });
    expect(unnamed).toEqual([]);
  });
});
