import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repositoryRoot, subscriptionId, type Topology } from '../../bus/topology.js';

export interface ProvisionOptions {
  /** Emulator host:port (PUBSUB_EMULATOR_HOST). */
  emulatorHost: string;
  projectId: string;
  topology: Topology;
  /** Base URL of the function host; each subscription pushes to `<base>/<function>/projects/P/topics/T`. */
  pushBaseUrl: string;
  /** Overrides the topology's backoff (tests want seconds, not minutes). */
  retryPolicy?: { minimumBackoffSeconds: number; maximumBackoffSeconds: number };
}

async function call(url: string, method: 'PUT' | 'POST', body: unknown): Promise<void> {
  const response = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok && response.status !== 409) {
    throw new Error(`Pub/Sub emulator ${method} ${new URL(url).pathname} answered ${response.status}: ${await response.text()}`);
  }
}

/**
 * Creates the topology in a Pub/Sub emulator through its REST API: Avro schemas with JSON encoding,
 * topics, dead-letter topics and push subscriptions to the local function host — what
 * `scripts/deploy.ts` does in production with gcloud and Eventarc. Existing resources are kept.
 */
export async function provisionEmulatorTopology(options: ProvisionOptions): Promise<void> {
  const api = `http://${options.emulatorHost}/v1/projects/${options.projectId}`;
  const topicPath = (name: string) => `projects/${options.projectId}/topics/${name}`;
  for (const topic of options.topology.topics) {
    if (topic.schemaFile) {
      const schemaId = `${topic.name}-v1`;
      const definition = readFileSync(path.join(repositoryRoot(), topic.schemaFile), 'utf8');
      await call(`${api}/schemas?schemaId=${schemaId}`, 'POST', { type: 'AVRO', definition });
      await call(`${api}/topics/${topic.name}`, 'PUT', {
        schemaSettings: { schema: `projects/${options.projectId}/schemas/${schemaId}`, encoding: 'JSON' },
      });
    } else {
      await call(`${api}/topics/${topic.name}`, 'PUT', {});
    }
  }
  for (const subscription of options.topology.subscriptions) {
    const retry = options.retryPolicy ?? {
      minimumBackoffSeconds: subscription.minBackoffSeconds,
      maximumBackoffSeconds: subscription.maxBackoffSeconds,
    };
    await call(`${api}/subscriptions/${subscriptionId(subscription)}`, 'PUT', {
      topic: topicPath(subscription.topic),
      pushConfig: { pushEndpoint: `${options.pushBaseUrl}/${subscription.function}/${topicPath(subscription.topic)}` },
      ackDeadlineSeconds: Math.min(subscription.timeoutSeconds, 600),
      retryPolicy: { minimumBackoff: `${retry.minimumBackoffSeconds}s`, maximumBackoff: `${retry.maximumBackoffSeconds}s` },
      ...(subscription.deadLetterTopic
        ? { deadLetterPolicy: { deadLetterTopic: topicPath(subscription.deadLetterTopic), maxDeliveryAttempts: subscription.maxDeliveryAttempts } }
        : {}),
    });
  }
}
