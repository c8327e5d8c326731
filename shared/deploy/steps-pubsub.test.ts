import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTopology, repositoryRoot } from '../bus/topology.js';
import { hasGcloud, pubsubEmulatorSettings, type RunningEmulator, startPubsubEmulator } from '../testing/sandbox/gcloud-emulators.js';
import type { ApplyContext, DeployStep } from './deploy-step.js';
import { applySteps } from './deploy-plan.js';
import type { FunctionUses } from './function-access.js';
import { isSubscriptionOf, pubsubSubscriptionSteps, pubsubTopicSteps } from './steps-pubsub.js';

const root = repositoryRoot();
const topologyText = readFileSync(path.join(root, 'pubsub-topics.yaml'), 'utf8');
const schemaText = (file: string) => readFileSync(path.join(root, file), 'utf8');
const noCommands = { run: async () => ({ exitCode: 0, stdout: '{"projectNumber":"123456"}', stderr: '' }) };

describe('isSubscriptionOf', () => {
  it.each([
    ['projects/p/subscriptions/transfer-requested--send-transfer', undefined, true],
    ['projects/p/subscriptions/eventarc-europe-west1-send-transfer-123-sub-456', 'https://send-transfer-abc123xyz-ew.a.run.app?__GCP_CloudEventsMode=CUSTOM_PUBSUB', true],
    ['projects/p/subscriptions/eventarc-x', 'https://send-transfer-123456789.europe-west1.run.app', true],
    ['projects/p/subscriptions/eventarc-x', 'https://send-transfer-hot-abc123-ew.a.run.app', false],
    ['projects/p/subscriptions/other', 'https://notify-owner-abc123-ew.a.run.app', false],
  ])('%s pushing to %s is send-transfer\'s: %s', (name, endpoint, expected) => {
    expect(isSubscriptionOf(name, endpoint, { topic: 'transfer-requested', function: 'send-transfer' })).toBe(expected);
  });
});

describe('who may publish to a topic (IAM, not in the emulator)', () => {
  it('grants the topic to exactly the functions that queue to it and the Pub/Sub agent on dead-letter topics, removing anyone else', async () => {
    const policies = new Map<string, { bindings: { role: string; members: string[] }[] }>();
    policies.set('payment-settled', { bindings: [{ role: 'roles/pubsub.publisher', members: ['serviceAccount:someone@p.iam.gserviceaccount.com'] }] });
    const pubsub = {
      topic: (name: string) => ({
        iam: {
          getPolicy: async () => [policies.get(name) ?? { bindings: [] }],
          setPolicy: async (policy: { bindings: { role: string; members: string[] }[] }) => void policies.set(name, policy),
        },
      }),
    } as unknown as PubSub;
    const uses: FunctionUses[] = [{ name: 'nowpayments-ipn', secrets: [], database: true, firestore: false, publishes: ['payment-settled'], subscribes: [] }];
    const steps = pubsubTopicSteps({ topology: parseTopology(topologyText), uses, projectId: 'p', schemaText }).filter((step) => step.id.startsWith('pubsub/topic-iam/'));
    const context: ApplyContext = { target: { projectId: 'p', region: 'r' }, commands: noCommands, log: () => undefined, pubsub };
    const first = await applySteps(steps, context);
    expect(first.outcomes.find((entry) => entry.id === 'pubsub/topic-iam/payment-settled')?.outcome).toBe('updated');
    expect(policies.get('payment-settled')?.bindings).toEqual([{ role: 'roles/pubsub.publisher', members: ['serviceAccount:fn-nowpayments-ipn@p.iam.gserviceaccount.com'] }]);
    expect(policies.get('payment-settled-dlq')?.bindings).toEqual([{ role: 'roles/pubsub.publisher', members: ['serviceAccount:service-123456@gcp-sa-pubsub.iam.gserviceaccount.com'] }]);
    expect(policies.has('invite-requested')).toBe(false); // nobody publishes there: nothing to set
    expect((await applySteps(steps, context)).counts).toMatchObject({ created: 0, updated: 0 });
  });
});

if (!hasGcloud) console.warn('Pub/Sub deploy steps against the emulator skipped: gcloud is not installed on this machine');

describe.skipIf(!hasGcloud)('the pubsub part applied to the Pub/Sub emulator [skipped without gcloud]', () => {
  let emulator: RunningEmulator;
  let pubsub: PubSub;
  let context: ApplyContext;
  const lines: string[] = [];
  // The emulator has no IAM (setIamPolicy answers UNIMPLEMENTED): those steps are tested above.
  const withoutIam = (steps: DeployStep[]) => steps.filter((step) => !step.id.includes('-iam/'));
  const pubsubPart = (text: string, projectId: string) => {
    const topology = parseTopology(text);
    return withoutIam([...pubsubTopicSteps({ topology, uses: [], projectId, schemaText }), ...pubsubSubscriptionSteps({ topology, projectId })]);
  };

  beforeAll(async () => {
    emulator = await startPubsubEmulator({ projectId: 'paygateprime-deploy' });
    pubsub = new PubSub(pubsubEmulatorSettings(emulator));
    context = {
      target: { projectId: emulator.projectId, region: 'europe-west1' },
      commands: noCommands,
      log: (line) => lines.push(line),
      pubsub,
      pushEndpointFor: (name, topic) => `http://127.0.0.1:9/${name}/projects/${emulator.projectId}/topics/${topic}`,
    };
  }, 90_000);
  afterAll(async () => {
    await pubsub?.close();
    await emulator?.stop();
  });

  it('creates every schema, topic, dead-letter topic and subscription on the first apply', async () => {
    const steps = pubsubPart(topologyText, emulator.projectId);
    const report = await applySteps(steps, context);
    expect(report.counts).toEqual({ created: steps.length, updated: 0, unchanged: 0 });
    const [subscription] = await pubsub.subscription('payout-tracking-requested--track-payouts').getMetadata();
    expect(subscription.retryPolicy).toMatchObject({ minimumBackoff: { seconds: '10' }, maximumBackoff: { seconds: '60' } });
    expect(subscription.deadLetterPolicy).toMatchObject({ deadLetterTopic: `projects/${emulator.projectId}/topics/payout-tracking-requested-dlq`, maxDeliveryAttempts: 5 });
    const [topic] = await pubsub.topic('payment-settled').getMetadata();
    expect(topic.schemaSettings?.schema).toBe(`projects/${emulator.projectId}/schemas/payment-settled-v1`);
  }, 120_000);

  it('reports every resource unchanged on a second apply', async () => {
    lines.length = 0;
    const steps = pubsubPart(topologyText, emulator.projectId);
    const report = await applySteps(steps, context);
    expect(report.counts).toEqual({ created: 0, updated: 0, unchanged: steps.length });
    expect(lines.at(-1)).toBe(`nothing changed: all ${steps.length} steps unchanged`);
  }, 120_000);

  it('updates a changed retry policy in place (a copy of pubsub-topics.yaml) and leaves the rest', async () => {
    const changed = topologyText.replace(/(- function: track-payouts\n\s+maxDeliveryAttempts: 5\n\s+minBackoffSeconds: 10\n\s+maxBackoffSeconds:) 60/, '$1 300');
    expect(changed).not.toBe(topologyText);
    const report = await applySteps(pubsubPart(changed, emulator.projectId), context);
    expect(report.outcomes.filter((entry) => entry.outcome !== 'unchanged')).toEqual([{ id: 'pubsub/subscription/payout-tracking-requested--track-payouts', outcome: 'updated' }]);
    const [subscription] = await pubsub.subscription('payout-tracking-requested--track-payouts').getMetadata();
    expect(subscription.retryPolicy?.maximumBackoff).toMatchObject({ seconds: '300' });
  }, 120_000);

  it('sets the policy on the subscription Eventarc made (found by its Cloud Run push endpoint) instead of adding one', async () => {
    await pubsub.subscription('transfer-requested--send-transfer').delete();
    await pubsub.topic('transfer-requested').createSubscription('eventarc-europe-west1-send-transfer-481-sub-927', {
      pushConfig: { pushEndpoint: 'https://send-transfer-k3x9q2-ew.a.run.app?__GCP_CloudEventsMode=CUSTOM_PUBSUB_projects%2Fp%2Ftopics%2Ftransfer-requested' },
      ackDeadlineSeconds: 10,
    });
    const report = await applySteps(pubsubPart(topologyText, emulator.projectId), context);
    expect(report.outcomes.filter((entry) => entry.outcome !== 'unchanged').map((entry) => entry.id).sort()).toEqual([
      'pubsub/subscription/payout-tracking-requested--track-payouts', // back from the previous case
      'pubsub/subscription/transfer-requested--send-transfer',
    ]);
    const [names] = await pubsub.topic('transfer-requested').getSubscriptions();
    expect(names.map((subscription) => subscription.name.split('/').pop())).toEqual(['eventarc-europe-west1-send-transfer-481-sub-927']);
    const [metadata] = await names[0]!.getMetadata();
    expect(metadata).toMatchObject({ ackDeadlineSeconds: 120, deadLetterPolicy: { maxDeliveryAttempts: 10 } });
  }, 120_000);
});
