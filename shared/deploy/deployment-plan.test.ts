import { describe, expect, it } from 'vitest';
import { loadTopology, parseTopology } from '../bus/topology.js';
import { type FunctionDeploySettings, renderDeploymentPlan } from './index.js';

const settings = (overrides: Partial<FunctionDeploySettings> = {}): FunctionDeploySettings => ({
  secrets: ['DATABASE_URL'],
  env: [],
  isPublic: false,
  memory: '256Mi',
  minInstances: 0,
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

describe('renderDeploymentPlan', () => {
  const plan = renderDeploymentPlan({
    topology: parseTopology(TOPOLOGY),
    functions: ['nowpayments-ipn', 'record-dead-letter', 'send-transfer'],
    settings: (name) =>
      name === 'send-transfer'
        ? settings({ secrets: ['DATABASE_URL', 'HOST_WALLET_PRIVATE_KEY'] })
        : name === 'nowpayments-ipn'
          ? settings({ secrets: ['DATABASE_URL', 'NOWPAYMENTS_IPN_SECRET'], isPublic: true })
          : settings(),
    target: { projectId: 'pgp-prod', region: 'europe-west1', cloudSqlInstance: 'pgp-prod:europe-west1:ledger' },
  }).join('\n');

  it('creates each topic with its Avro schema and JSON encoding, and dead-letter topics without one', () => {
    expect(plan).toContain('gcloud pubsub schemas create payout-requested-v1 --project=pgp-prod --type=avro --definition-file=schemas/payout-requested.avsc');
    expect(plan).toContain('gcloud pubsub topics create payout-requested --project=pgp-prod --schema=payout-requested-v1 --message-encoding=json');
    expect(plan).toContain('gcloud pubsub topics create payout-requested-dlq --project=pgp-prod\n');
  });

  it('deploys event functions on nodejs22 with retries and their trigger topic, HTTP functions public only when declared', () => {
    expect(plan).toMatch(/gcloud functions deploy send-transfer[\s\S]*?--runtime=nodejs22[\s\S]*?--source=dist\/send-transfer[\s\S]*?--entry-point=send-transfer[\s\S]*?--trigger-topic=payout-requested[\s\S]*?--retry/);
    expect(plan).toMatch(/gcloud functions deploy nowpayments-ipn[\s\S]*?--trigger-http[\s\S]*?--allow-unauthenticated/);
    expect(plan).not.toMatch(/gcloud functions deploy (send-transfer|record-dead-letter)[^\n]*\n(?:\s+--[^\n]*\n)*?\s+--allow-unauthenticated/);
  });

  it('runs every function with NODE_ENV=production, so a malformed body never gets a stack-trace page', () => {
    const deploys = plan.split('gcloud functions deploy ').slice(1);
    expect(deploys).toHaveLength(3);
    for (const command of deploys) expect(command.split('\ngcloud ')[0]).toContain('NODE_ENV=production');
    // A pool that fits one request per instance.
    for (const command of deploys) expect(command.split('\ngcloud ')[0]).toContain('DB_POOL_MAX=2');
  });

  it('gives the hot-wallet key to the transfer function only', () => {
    const grants = plan.split('\n').filter((line) => line.includes('host-wallet-private-key'));
    expect(grants.length).toBeGreaterThan(0);
    for (const line of grants) expect(line).toMatch(/send-transfer|HOST_WALLET_PRIVATE_KEY=host-wallet-private-key:latest/);
    expect(plan.match(/HOST_WALLET_PRIVATE_KEY=/g)).toHaveLength(1);
  });

  it('puts the retry policy and dead-letter topic on the trigger subscription', () => {
    expect(plan).toMatch(/--min-retry-delay=10s[\s\\]*--max-retry-delay=600s[\s\S]*?--dead-letter-topic=payout-requested-dlq[\s\\]*--max-delivery-attempts=7/);
  });

  it('attaches the Cloud SQL instance and schedules jobs as Pub/Sub publishes', () => {
    expect(plan).toContain('--add-cloudsql-instances=pgp-prod:europe-west1:ledger');
    expect(plan).toContain(`gcloud scheduler jobs create pubsub relay \\\n    --project=pgp-prod`);
    expect(plan).toContain(`--message-body='{"job":"relay-outbox"}'`);
  });

  it('renders the repository topology without error', () => {
    const text = renderDeploymentPlan({ topology: loadTopology(), functions: ['record-dead-letter', 'relay-outbox'], settings: () => settings(), target: { projectId: 'p', region: 'r' } });
    expect(text.length).toBeGreaterThan(10);
  });
});
