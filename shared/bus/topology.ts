import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import * as z from 'zod';

/** What `pubsub-topics.yaml` holds, validated. */
const FunctionName = z.string().regex(/^[a-z][a-z0-9-]{1,61}[a-z0-9]$/, 'function names are kebab-case');
const TopicName = z.string().regex(/^[a-z][a-z0-9-]{2,254}$/, 'topic names are kebab-case, at least 3 characters');

const SubscriberPolicySchema = z.object({
  maxDeliveryAttempts: z.number().int().min(5).max(100),
  minBackoffSeconds: z.number().int().min(0).max(600),
  maxBackoffSeconds: z.number().int().min(0).max(600),
  timeoutSeconds: z.number().int().min(10).max(540),
});

const TopologyFileSchema = z.object({
  defaults: z.object({ subscriber: SubscriberPolicySchema }),
  deadLetterSubscriber: FunctionName,
  topics: z.record(
    TopicName,
    z.object({
      schema: z.string().regex(/^schemas\/[a-z0-9-]+\.avsc$/),
      deadLetterTopic: TopicName,
      subscribers: z.array(SubscriberPolicySchema.partial().extend({ function: FunctionName })),
    }),
  ),
  scheduler: z.record(
    z.string().regex(/^[a-z][a-z0-9-]{0,499}$/),
    z.object({
      schedule: z.string().min(9),
      timeZone: z.string().default('Etc/UTC'),
      topic: TopicName,
      body: z.record(z.string(), z.unknown()),
    }),
  ),
});

export type SubscriberPolicy = z.infer<typeof SubscriberPolicySchema>;

export interface Subscription extends SubscriberPolicy {
  /** The function that receives the topic's messages. */
  function: string;
  topic: string;
  /** Where Pub/Sub forwards a message after maxDeliveryAttempts; undefined for dead-letter subscriptions. */
  deadLetterTopic?: string;
}

export interface TopicSpec {
  name: string;
  /** Avro schema path relative to the repository root; dead-letter topics have none. */
  schemaFile?: string;
  deadLetterTopic?: string;
  /** The topic this one collects dead letters for. */
  deadLetterFor?: string;
}

export interface SchedulerJob {
  name: string;
  schedule: string;
  timeZone: string;
  topic: string;
  body: Record<string, unknown>;
}

export interface Topology {
  topics: TopicSpec[];
  subscriptions: Subscription[];
  schedulerJobs: SchedulerJob[];
  /** Every function that consumes messages. */
  eventFunctions: string[];
}

export class TopologyError extends Error {
  override name = 'TopologyError';
}

/** Parses and validates the topology text (YAML), expanding defaults and dead-letter topics. */
export function parseTopology(text: string): Topology {
  const parsed = TopologyFileSchema.safeParse(parse(text));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new TopologyError(`pubsub-topics.yaml is invalid:\n  ${problems.join('\n  ')}`);
  }
  const file = parsed.data;
  const topics: TopicSpec[] = [];
  const subscriptions: Subscription[] = [];

  for (const [name, topic] of Object.entries(file.topics)) {
    topics.push({ name, schemaFile: topic.schema, deadLetterTopic: topic.deadLetterTopic });
    topics.push({ name: topic.deadLetterTopic, deadLetterFor: name });
    for (const subscriber of topic.subscribers) {
      const policy = { ...file.defaults.subscriber, ...subscriber };
      if (policy.minBackoffSeconds > policy.maxBackoffSeconds) {
        throw new TopologyError(`${name} → ${subscriber.function}: minBackoffSeconds exceeds maxBackoffSeconds`);
      }
      subscriptions.push({ ...policy, topic: name, deadLetterTopic: topic.deadLetterTopic });
    }
    // The dead-letter subscriber has no dead-letter topic of its own: a failure there is retried
    // until the message's retention runs out, and alerts through the error log meanwhile.
    subscriptions.push({
      ...file.defaults.subscriber,
      maxDeliveryAttempts: 100,
      function: file.deadLetterSubscriber,
      topic: topic.deadLetterTopic,
    });
  }

  const names = new Set<string>();
  for (const topic of topics) {
    if (names.has(topic.name)) throw new TopologyError(`topic ${topic.name} is declared twice`);
    names.add(topic.name);
  }
  const schedulerJobs = Object.entries(file.scheduler).map(([name, job]) => {
    if (!names.has(job.topic)) throw new TopologyError(`scheduler job ${name} publishes to unknown topic ${job.topic}`);
    return { name, ...job };
  });
  const eventFunctions = [...new Set(subscriptions.map((subscription) => subscription.function))].sort();
  return { topics, subscriptions, schedulerJobs, eventFunctions };
}

/** The repository root (the folder holding pubsub-topics.yaml). */
export function repositoryRoot(): string {
  return path.resolve(import.meta.dirname, '../..');
}

export function loadTopology(file = path.join(repositoryRoot(), 'pubsub-topics.yaml')): Topology {
  return parseTopology(readFileSync(file, 'utf8'));
}

export function subscriptionsOf(topology: Topology, topic: string): Subscription[] {
  return topology.subscriptions.filter((subscription) => subscription.topic === topic);
}

/** The subscription id we give a (topic, function) pair, in Pub/Sub's naming rules. */
export function subscriptionId(subscription: Pick<Subscription, 'topic' | 'function'>): string {
  return `${subscription.topic}--${subscription.function}`;
}
