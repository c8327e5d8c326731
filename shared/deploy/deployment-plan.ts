import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { subscriptionId, type Topology } from '../bus/topology.js';
import { deployError } from './errors.js';

/** `functions/<name>/deploy.yaml`: what a function needs in production. */
const FunctionDeploySettingsSchema = z.object({
  /** Environment variables read from Secret Manager (secret id = kebab-case of the name). */
  secrets: z.array(z.string().regex(/^[A-Z][A-Z0-9_]*$/)).default([]),
  /** Plain environment variables, by name (values come from the deploy environment file). */
  env: z.array(z.string().regex(/^[A-Z][A-Z0-9_]*$/)).default([]),
  /** HTTP functions only: allow unauthenticated callers (the three public entry points). */
  isPublic: z.boolean().default(false),
  memory: z.string().regex(/^\d+(Mi|Gi)$/).default('256Mi'),
  timeoutSeconds: z.number().int().min(1).max(3600).optional(),
  minInstances: z.number().int().min(0).default(0),
  maxInstances: z.number().int().min(1).default(10),
});
export type FunctionDeploySettings = z.infer<typeof FunctionDeploySettingsSchema>;

export interface DeployTarget {
  projectId: string;
  region: string;
  /** Cloud SQL instance connection name (PROJECT:REGION:INSTANCE) attached to every function for the socket form of DATABASE_URL. */
  cloudSqlInstance?: string;
}

export function readDeploySettings(root: string, name: string): FunctionDeploySettings {
  const file = path.join(root, 'functions', name, 'deploy.yaml');
  const raw = existsSync(file) ? parse(readFileSync(file, 'utf8')) : {};
  const parsed = FunctionDeploySettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) throw deployError('invalid_deploy_settings', `functions/${name}/deploy.yaml is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Secret Manager id for an environment variable: DATABASE_URL → database-url. */
export function secretIdFor(variable: string): string {
  return variable.toLowerCase().replaceAll('_', '-');
}

const q = (value: string) => (/^[A-Za-z0-9_./:=@,-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`);

/**
 * Every gcloud command that creates the production topology, in order: service accounts, Avro
 * schemas, topics with schema settings, dead-letter topics, functions (each with its own service
 * account and only its own secrets), Eventarc triggers, retry and dead-letter policies on the
 * trigger subscriptions, IAM for dead-lettering, and Cloud Scheduler jobs. Re-running is safe to
 * review: create commands fail on existing resources and `functions deploy` updates in place.
 */
export function renderDeploymentPlan(input: {
  topology: Topology;
  functions: string[];
  settings: (name: string) => FunctionDeploySettings;
  target: DeployTarget;
}): string[] {
  const { topology, target } = input;
  const { projectId, region } = target;
  const commands: string[] = [];
  const serviceAccount = (name: string) => `fn-${name}`.slice(0, 30);
  const saEmail = (name: string) => `${serviceAccount(name)}@${projectId}.iam.gserviceaccount.com`;
  const invoker = `eventarc-invoker@${projectId}.iam.gserviceaccount.com`;
  const subscribed = new Map<string, string[]>();
  for (const subscription of topology.subscriptions) {
    subscribed.set(subscription.function, [...(subscribed.get(subscription.function) ?? []), subscription.topic]);
  }

  commands.push('# Service accounts: one per function, plus the identity Eventarc and Scheduler use to invoke.');
  commands.push(`gcloud iam service-accounts create eventarc-invoker --project=${projectId} --display-name='Eventarc invoker'`);
  for (const name of input.functions) {
    commands.push(`gcloud iam service-accounts create ${serviceAccount(name)} --project=${projectId} --display-name=${q(`PayGatePrime ${name}`)}`);
  }

  commands.push('# Schemas and topics (schema settings cannot be added to an existing topic).');
  for (const topic of topology.topics) {
    if (topic.schemaFile) {
      commands.push(`gcloud pubsub schemas create ${topic.name}-v1 --project=${projectId} --type=avro --definition-file=${topic.schemaFile}`);
      commands.push(`gcloud pubsub topics create ${topic.name} --project=${projectId} --schema=${topic.name}-v1 --message-encoding=json`);
    } else {
      commands.push(`gcloud pubsub topics create ${topic.name} --project=${projectId}`);
    }
  }

  commands.push('# Functions: built by `npm run build` into dist/<name>.');
  for (const name of input.functions) {
    const settings = input.settings(name);
    const topics = subscribed.get(name) ?? [];
    const trigger = topics[0];
    const flags = [
      `gcloud functions deploy ${name}`,
      `--project=${projectId}`,
      '--gen2',
      `--region=${region}`,
      '--runtime=nodejs22',
      `--source=dist/${name}`,
      `--entry-point=${name}`,
      `--memory=${settings.memory}`,
      `--min-instances=${settings.minInstances}`,
      `--max-instances=${settings.maxInstances}`,
      // Ledger stages are written for one request per instance; keep pools small and predictable.
      '--concurrency=1',
      `--run-service-account=${saEmail(name)}`,
    ];
    if (trigger) {
      const policy = topology.subscriptions.find((subscription) => subscription.function === name && subscription.topic === trigger);
      flags.push(`--trigger-topic=${trigger}`, '--retry', `--trigger-service-account=${invoker}`, `--timeout=${settings.timeoutSeconds ?? policy?.timeoutSeconds ?? 120}s`);
    } else {
      flags.push('--trigger-http', settings.isPublic ? '--allow-unauthenticated' : '--no-allow-unauthenticated', `--timeout=${settings.timeoutSeconds ?? 60}s`);
    }
    if (settings.secrets.length > 0) {
      flags.push(`--set-secrets=${settings.secrets.map((variable) => `${variable}=${secretIdFor(variable)}:latest`).join(',')}`);
    }
    if (settings.env.length > 0) flags.push('--env-vars-file=deploy.env.yaml');
    // GOOGLE_CLOUD_PROJECT, NODE_ENV=production, DB_POOL_MAX=2: see platformEnv.
    flags.push(`--set-env-vars=${Object.entries(platformEnv(projectId)).map(([name, value]) => `${name}=${value}`).join(',')}`);
    commands.push(flags.join(' \\\n    '));
    if (trigger) {
      commands.push(
        `gcloud functions add-invoker-policy-binding ${name} --project=${projectId} --region=${region} --member=serviceAccount:${invoker}`,
      );
    }
    if (target.cloudSqlInstance && settings.secrets.includes('DATABASE_URL')) {
      // gen2 functions reach Cloud SQL's unix socket only once the instance is attached to the Cloud Run service.
      commands.push(`gcloud run services update ${name} --project=${projectId} --region=${region} --add-cloudsql-instances=${target.cloudSqlInstance}`);
    }
    for (const variable of settings.secrets) {
      commands.push(
        `gcloud secrets add-iam-policy-binding ${secretIdFor(variable)} --project=${projectId} --member=serviceAccount:${saEmail(name)} --role=roles/secretmanager.secretAccessor`,
      );
    }
    // Functions with more than one topic get an Eventarc trigger for each further topic.
    for (const topic of topics.slice(1)) {
      commands.push(
        [
          `gcloud eventarc triggers create ${`${name}--${topic}`.slice(0, 63)}`,
          `--project=${projectId}`,
          `--location=${region}`,
          `--destination-run-service=${name}`,
          `--destination-run-region=${region}`,
          "--event-filters='type=google.cloud.pubsub.topic.v1.messagePublished'",
          `--transport-topic=projects/${projectId}/topics/${topic}`,
          `--service-account=${invoker}`,
        ].join(' \\\n    '),
      );
    }
  }

  commands.push('# Retry and dead-letter policies on the subscriptions Eventarc created.');
  commands.push(`PUBSUB_SA="service-$(gcloud projects describe ${projectId} --format='value(projectNumber)')@gcp-sa-pubsub.iam.gserviceaccount.com"`);
  for (const subscription of topology.subscriptions) {
    const find = `$(gcloud pubsub subscriptions list --project=${projectId} --filter="topic:projects/${projectId}/topics/${subscription.topic} AND pushConfig.pushEndpoint:${subscription.function}" --format='value(name)' --limit=1)`;
    const update = [
      `gcloud pubsub subscriptions update "${find}"`,
      `--project=${projectId}`,
      `--min-retry-delay=${Math.max(subscription.minBackoffSeconds, 10)}s`,
      `--max-retry-delay=${subscription.maxBackoffSeconds}s`,
      `--ack-deadline=${Math.min(subscription.timeoutSeconds, 600)}`,
    ];
    if (subscription.deadLetterTopic) {
      update.push(`--dead-letter-topic=${subscription.deadLetterTopic}`, `--max-delivery-attempts=${subscription.maxDeliveryAttempts}`);
    }
    commands.push(`# ${subscriptionId(subscription)}`);
    commands.push(update.join(' \\\n    '));
    if (subscription.deadLetterTopic) {
      // Pub/Sub's own agent must be able to acknowledge here to forward a message to the dead-letter topic.
      commands.push(
        `gcloud pubsub subscriptions add-iam-policy-binding "${find}" --project=${projectId} --member="serviceAccount:$PUBSUB_SA" --role=roles/pubsub.subscriber`,
      );
    }
  }
  for (const topic of topology.topics.filter((candidate) => candidate.deadLetterFor)) {
    commands.push(`gcloud pubsub topics add-iam-policy-binding ${topic.name} --project=${projectId} --member="serviceAccount:$PUBSUB_SA" --role=roles/pubsub.publisher`);
  }

  commands.push('# Publishing: each function may publish to the outbox topics (the relay runs in every stage).');
  for (const name of input.functions) {
    for (const topic of topology.topics.filter((candidate) => candidate.schemaFile)) {
      commands.push(`gcloud pubsub topics add-iam-policy-binding ${topic.name} --project=${projectId} --member=serviceAccount:${saEmail(name)} --role=roles/pubsub.publisher`);
    }
  }

  if (input.functions.includes('telegram-webhook')) {
    // setWebhook with the secret token and the update types the bot needs (chat_member is opt-in).
    // The secrets are read by gcloud when the script runs; nothing secret is printed here.
    commands.push('# Point Telegram at the webhook function.');
    commands.push(
      [
        `WEBHOOK_URL=$(gcloud functions describe telegram-webhook --project=${projectId} --region=${region} --format='value(serviceConfig.uri)')`,
        `curl -sf "https://api.telegram.org/bot$(gcloud secrets versions access latest --project=${projectId} --secret=${secretIdFor('TELEGRAM_BOT_TOKEN')})/setWebhook" \\`,
        '    --data-urlencode "url=$WEBHOOK_URL" \\',
        `    --data-urlencode "secret_token=$(gcloud secrets versions access latest --project=${projectId} --secret=${secretIdFor('TELEGRAM_WEBHOOK_SECRET')})" \\`,
        `    --data-urlencode 'allowed_updates=["message","callback_query","chat_member","my_chat_member"]' > /dev/null`,
      ].join('\n'),
    );
  }

  commands.push('# Cloud Scheduler jobs publish to topics (no HTTP invoker needed).');
  for (const job of topology.schedulerJobs) {
    commands.push(
      [
        `gcloud scheduler jobs create pubsub ${job.name}`,
        `--project=${projectId}`,
        `--location=${region}`,
        `--schedule=${q(job.schedule)}`,
        `--time-zone=${job.timeZone}`,
        `--topic=${job.topic}`,
        `--message-body=${q(JSON.stringify(job.body))}`,
        '--max-retry-attempts=0',
      ].join(' \\\n    '),
    );
  }
  return commands;
}

/**
 * Variables the plan sets on every function itself (not listed in deploy.yaml). NODE_ENV=production:
 * Express (inside the Functions Framework) otherwise answers a body it cannot parse with an HTML page
 * carrying the stack trace. DB_POOL_MAX=2: one request per instance (--concurrency=1) holds one
 * connection at a time; the second serves a read beside an open transaction. Connections =
 * instances × 2, not × 5.
 */
export function platformEnv(projectId: string): Record<string, string> {
  return { GOOGLE_CLOUD_PROJECT: projectId, NODE_ENV: 'production', DB_POOL_MAX: '2' };
}
