import type { PubSub } from '@google-cloud/pubsub';
import { subscriptionId, type Subscription, type Topology } from '../bus/topology.js';
import type { ApplyContext, DeployStep, StepOutcome } from './deploy-step.js';
import { deployError } from './errors.js';
import { type FunctionUses, functionServiceAccount, serviceAccountEmail } from './function-access.js';
import { need, projectNumber } from './gcloud.js';
import { withExactRole } from './iam-policy.js';

const NOT_FOUND = 5;
const isNotFound = (error: unknown) => (error as { code?: unknown } | null)?.code === NOT_FOUND;

export const schemaIdFor = (topic: string): string => `${topic}-v1`;
const pubsubAgent = async (context: ApplyContext) => `serviceAccount:service-${await projectNumber(context)}@gcp-sa-pubsub.iam.gserviceaccount.com`;

/** The retry, dead-letter and ack settings a subscription should have, in the API's field names. */
export function subscriptionPolicy(subscription: Subscription, projectId: string) {
  return {
    ackDeadlineSeconds: Math.min(subscription.timeoutSeconds, 600),
    retryPolicy: { minimumBackoff: { seconds: Math.max(subscription.minBackoffSeconds, 10) }, maximumBackoff: { seconds: subscription.maxBackoffSeconds } },
    deadLetterPolicy: subscription.deadLetterTopic
      ? { deadLetterTopic: `projects/${projectId}/topics/${subscription.deadLetterTopic}`, maxDeliveryAttempts: subscription.maxDeliveryAttempts }
      : null,
  };
}

type Duration = { seconds?: unknown; nanos?: unknown } | null | undefined;
const seconds = (duration: Duration): number => Number(duration?.seconds ?? 0);

/** Whether a subscription's current settings differ from the policy (the fields the deploy owns). */
function policyDiffers(current: Record<string, unknown>, wanted: ReturnType<typeof subscriptionPolicy>): boolean {
  const retry = current.retryPolicy as { minimumBackoff?: Duration; maximumBackoff?: Duration } | null | undefined;
  const deadLetter = current.deadLetterPolicy as { deadLetterTopic?: string; maxDeliveryAttempts?: number } | null | undefined;
  return (
    Number(current.ackDeadlineSeconds) !== wanted.ackDeadlineSeconds ||
    seconds(retry?.minimumBackoff) !== wanted.retryPolicy.minimumBackoff.seconds ||
    seconds(retry?.maximumBackoff) !== wanted.retryPolicy.maximumBackoff.seconds ||
    (deadLetter?.deadLetterTopic || null) !== (wanted.deadLetterPolicy?.deadLetterTopic ?? null) ||
    (wanted.deadLetterPolicy !== null && Number(deadLetter?.maxDeliveryAttempts) !== wanted.deadLetterPolicy.maxDeliveryAttempts)
  );
}

/**
 * A push subscription to the function: ours by name (`<topic>--<function>`, the emulator's), or the
 * one Eventarc made for the function's trigger, which pushes to its Cloud Run URL
 * (`https://<function>-<hash>-<region>.a.run.app` or `https://<function>-<number>.<region>.run.app`).
 */
export function isSubscriptionOf(name: string, pushEndpoint: string | undefined, subscription: Pick<Subscription, 'topic' | 'function'>): boolean {
  if (name.endsWith(`/subscriptions/${subscriptionId(subscription)}`)) return true;
  if (!pushEndpoint) return false;
  const host = URL.canParse(pushEndpoint) ? new URL(pushEndpoint).hostname : '';
  if (!host.startsWith(`${subscription.function}-`)) return false;
  return /^(?:[a-z0-9]+-[a-z]{2,4}\.a\.run\.app|\d+\.[a-z0-9-]+\.run\.app)$/.test(host.slice(subscription.function.length + 1));
}

async function findSubscription(pubsub: PubSub, subscription: Subscription) {
  const [names] = await pubsub.topic(subscription.topic).getSubscriptions();
  for (const candidate of names) {
    const [metadata] = await candidate.getMetadata();
    if (isSubscriptionOf(candidate.name, metadata.pushConfig?.pushEndpoint ?? undefined, subscription)) return { handle: candidate, metadata };
  }
  return undefined;
}

async function ensureRole(policyOf: { getPolicy(): Promise<[unknown, ...unknown[]]>; setPolicy(policy: never): Promise<unknown> }, role: string, members: string[]): Promise<StepOutcome> {
  const [policy] = await policyOf.getPolicy();
  const next = withExactRole(policy as { bindings?: never[] }, role, members);
  if (!next) return 'unchanged';
  await policyOf.setPolicy(next as never);
  return (policy as { bindings?: unknown[] }).bindings?.some((binding) => (binding as { role?: string }).role === role) ? 'updated' : 'created';
}

/**
 * Schemas, topics (with schema settings), dead-letter topics and who may publish to each: the
 * functions whose code queues to it, and Pub/Sub's own agent on the dead-letter topics. Runs before
 * the functions deploy (their triggers need the topics).
 */
export function pubsubTopicSteps(input: { topology: Topology; uses: FunctionUses[]; projectId: string; schemaText: (file: string) => string }): DeployStep[] {
  const { projectId } = input;
  const steps: DeployStep[] = [];
  for (const topic of input.topology.topics) {
    if (topic.schemaFile) {
      const schemaFile = topic.schemaFile;
      const id = schemaIdFor(topic.name);
      steps.push({
        part: 'pubsub',
        id: `pubsub/schema/${id}`,
        summary: `Pub/Sub schema ${id}: Avro from ${schemaFile}`,
        commands: [],
        async apply(context) {
          const pubsub = need(context.pubsub, 'Pub/Sub');
          const definition = input.schemaText(schemaFile);
          try {
            const current = await pubsub.schema(id).get();
            if (JSON.stringify(JSON.parse(current.definition ?? 'null')) === JSON.stringify(JSON.parse(definition))) return 'unchanged';
            // A schema is immutable: a changed definition needs a new id (and topic settings pointing at it).
            throw deployError('deploy_state_conflict', `schema ${id} exists with another definition: add ${topic.name}-v2 rather than editing v1`);
          } catch (error) {
            if (!isNotFound(error)) throw error;
          }
          await pubsub.createSchema(id, 'AVRO', definition);
          return 'created';
        },
      });
    }
    const schemaSettings = topic.schemaFile ? { schema: `projects/${projectId}/schemas/${schemaIdFor(topic.name)}`, encoding: 'JSON' as const } : undefined;
    steps.push({
      part: 'pubsub',
      id: `pubsub/topic/${topic.name}`,
      summary: topic.schemaFile
        ? `Pub/Sub topic ${topic.name} (schema ${schemaIdFor(topic.name)}, JSON encoding; dead letters to ${topic.deadLetterTopic})`
        : `Pub/Sub dead-letter topic ${topic.name} (for ${topic.deadLetterFor})`,
      commands: [],
      async apply(context) {
        const handle = need(context.pubsub, 'Pub/Sub').topic(topic.name);
        let current: { schemaSettings?: { schema?: string | null; encoding?: unknown } | null };
        try {
          [current] = await handle.getMetadata();
        } catch (error) {
          if (!isNotFound(error)) throw error;
          await need(context.pubsub, 'Pub/Sub').createTopic(schemaSettings ? { name: topic.name, schemaSettings } : { name: topic.name });
          return 'created';
        }
        const encoding = current.schemaSettings?.encoding;
        const isSame = schemaSettings
          ? current.schemaSettings?.schema === schemaSettings.schema && (encoding === 'JSON' || encoding === 1)
          : !current.schemaSettings?.schema;
        if (isSame) return 'unchanged';
        await handle.setMetadata({ schemaSettings: schemaSettings ?? null });
        return 'updated';
      },
    });
  }
  for (const topic of input.topology.topics) {
    const publishers = input.uses.filter((use) => use.publishes.includes(topic.name)).map((use) => `serviceAccount:${serviceAccountEmail(functionServiceAccount(use.name), projectId)}`);
    const who = [...input.uses.filter((use) => use.publishes.includes(topic.name)).map((use) => use.name), ...(topic.deadLetterFor ? ['the Pub/Sub service agent'] : [])];
    steps.push({
      part: 'pubsub',
      id: `pubsub/topic-iam/${topic.name}`,
      summary: `roles/pubsub.publisher on topic ${topic.name}: ${who.length > 0 ? who.join(', ') : 'nobody (only Cloud Scheduler publishes, through its agent)'}`,
      commands: [],
      async apply(context) {
        const members = topic.deadLetterFor ? [...publishers, await pubsubAgent(context)] : publishers;
        return ensureRole(need(context.pubsub, 'Pub/Sub').topic(topic.name).iam as never, 'roles/pubsub.publisher', members);
      },
    });
  }
  return steps;
}

/**
 * Retry and dead-letter policy on each function's push subscription, and Pub/Sub's agent as
 * subscriber where it must forward to a dead-letter topic. Runs after the functions deploy: in
 * production Eventarc creates the subscription with the trigger.
 */
export function pubsubSubscriptionSteps(input: { topology: Topology; projectId: string }): DeployStep[] {
  const steps: DeployStep[] = [];
  for (const subscription of input.topology.subscriptions) {
    const wanted = subscriptionPolicy(subscription, input.projectId);
    const id = subscriptionId(subscription);
    steps.push({
      part: 'pubsub',
      id: `pubsub/subscription/${id}`,
      summary:
        `Pub/Sub subscription ${subscription.topic} → ${subscription.function}: retry ${wanted.retryPolicy.minimumBackoff.seconds}–${wanted.retryPolicy.maximumBackoff.seconds} s, ack deadline ${wanted.ackDeadlineSeconds} s` +
        (wanted.deadLetterPolicy ? `, dead letters to ${subscription.deadLetterTopic} after ${subscription.maxDeliveryAttempts} attempts` : ', no dead-letter topic'),
      commands: [],
      async apply(context) {
        const pubsub = need(context.pubsub, 'Pub/Sub');
        const found = await findSubscription(pubsub, subscription);
        if (!found) {
          if (!context.pushEndpointFor) {
            throw deployError('deploy_state_conflict', `no subscription of ${subscription.topic} pushes to ${subscription.function}: deploy the function first (its Eventarc trigger creates it)`);
          }
          await pubsub.topic(subscription.topic).createSubscription(id, { ...wanted, pushConfig: { pushEndpoint: context.pushEndpointFor(subscription.function, subscription.topic) } });
          return 'created';
        }
        if (!policyDiffers(found.metadata as Record<string, unknown>, wanted)) return 'unchanged';
        await found.handle.setMetadata(wanted);
        return 'updated';
      },
    });
    if (subscription.deadLetterTopic) {
      steps.push({
        part: 'pubsub',
        id: `pubsub/subscription-iam/${id}`,
        summary: `roles/pubsub.subscriber on the ${subscription.topic} → ${subscription.function} subscription for the Pub/Sub service agent (to forward dead letters)`,
        commands: [],
        async apply(context) {
          const found = await findSubscription(need(context.pubsub, 'Pub/Sub'), subscription);
          if (!found) throw deployError('deploy_state_conflict', `no subscription of ${subscription.topic} pushes to ${subscription.function}`);
          return ensureRole(found.handle.iam as never, 'roles/pubsub.subscriber', [await pubsubAgent(context)]);
        },
      });
    }
  }
  return steps;
}
