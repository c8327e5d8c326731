import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import * as z from 'zod';
import { type BinaryCloudEventRequest, buildPubSubCloudEvent, type Publisher } from '../../bus/index.js';
import { repositoryRoot, type Subscription, subscriptionId, subscriptionsOf, type Topology } from '../../bus/topology.js';
import { type Clock, systemClock } from '../../clock/index.js';
import { assertNoOpenTransaction } from '../../db/index.js';
import { busError } from '../../bus/errors.js';
import type { Logger } from '../../logging/index.js';
import { createStateFileWriter, readStateFile } from '../sandbox/state-file.js';

/** Sends one CloudEvent to a function and returns the HTTP status (2xx = ack). */
export type FunctionInvoker = (functionName: string, request: BinaryCloudEventRequest) => Promise<number>;

/** Invokes functions served by a function host (`/<name>`), the way Eventarc pushes to Cloud Run. */
export function createHttpInvoker(baseUrl: string): FunctionInvoker {
  return async (functionName, request) => {
    try {
      const response = await fetch(`${baseUrl}/${functionName}`, { method: 'POST', headers: request.headers, body: request.body });
      await response.arrayBuffer();
      return response.status;
    } catch {
      return 503; // unreachable: nack, like a push endpoint that refuses the connection
    }
  };
}

export type BusEvent =
  | { type: 'published'; topic: string; pubsubMessageId: string; attributes: Record<string, string>; data: string }
  | {
      type: 'delivered';
      topic: string;
      function: string;
      pubsubMessageId: string;
      attempt: number;
      status: number;
      isAck: boolean;
      isDuplicate: boolean;
    }
  | { type: 'dead-lettered'; topic: string; function: string; deadLetterTopic: string; pubsubMessageId: string; attempts: number }
  | { type: 'abandoned'; topic: string; function: string; pubsubMessageId: string; attempts: number };

export interface InProcessBusOptions {
  topology: Topology;
  invoke: FunctionInvoker;
  projectId?: string;
  clock?: Clock;
  /** Multiplies the topology's retry backoff; 0 retries at once (tests). Default 1. */
  backoffScale?: number;
  /**
   * Delivers every message a second time with the same ids: after the first delivery is acked
   * (true / 'after-ack'), or at the same moment as the first ('concurrently').
   */
  deliverTwice?: boolean | 'after-ack' | 'concurrently';
  /** Validate published messages against the topic's Avro schema, as Pub/Sub does. Default true. */
  validateSchemas?: boolean;
  /** What goes wrong on the way (chaos tests); nothing by default. */
  faults?: BusFaults;
  logger?: Logger;
  onEvent?: (event: BusEvent) => void;
  /**
   * Keep every delivery not yet acked (or dead-lettered) in this JSON file, as Pub/Sub keeps a
   * subscription's unacked messages: the file is rewritten whenever one is published, attempted or
   * finished, and `resume()` delivers what a previous run left. Default: memory only (a stopped bus
   * forgets what it had not delivered).
   */
  stateFile?: string;
}

/**
 * Faults a chaos test injects, decided per publish and per delivery (from a seeded generator, so a
 * run's faults are reproducible; the interleavings are not).
 */
export interface BusFaults {
  /** The publish fails before Pub/Sub took the message (the relay keeps the outbox row for later). */
  failPublish?(topic: string): boolean;
  /**
   * For one delivery of a message to a subscriber: `loseAck` — the function finished (committed)
   * but its answer never reached Pub/Sub, which delivers again (a crash after commit, before ack);
   * `duplicate` — Pub/Sub delivers the message a second time, at the same moment or `lateMs` after
   * the first was acknowledged; `lose` — the message is never delivered to this subscriber (the
   * process holding it died: locally a crash, in production a stage failing past its retry budget).
   * `maxAttempts` is the subscription's maxDeliveryAttempts: after that attempt fails, the message
   * goes to the dead-letter topic.
   */
  onDelivery?(delivery: { topic: string; function: string; attempt: number; maxAttempts: number }): {
    lose?: boolean;
    loseAck?: boolean;
    duplicate?: { when: 'concurrently' } | { when: 'late'; lateMs: number };
  };
}

export interface InProcessBus extends Publisher {
  /** Resolves once nothing is in flight or waiting for a retry (including messages published meanwhile). */
  drain(): Promise<void>;
  /** Everything that happened, in order (tests assert on it). */
  readonly events: readonly BusEvent[];
  /** Stops retries; deliveries in flight finish. */
  close(): Promise<void>;
  /**
   * Delivers again what the state file held at creation (deliveries a previous run had not
   * finished), continuing their attempt counts. Call it once the functions can be reached. Returns
   * how many it resumed.
   */
  resume(): number;
}

interface Published {
  topic: string;
  pubsubMessageId: string;
  publishTime: Date;
  data: string;
  attributes: Record<string, string>;
}

const PendingDeliverySchema = z.object({
  topic: z.string(),
  function: z.string(),
  pubsubMessageId: z.string(),
  publishTime: z.iso.datetime().transform((text) => new Date(text)),
  data: z.string(),
  attributes: z.record(z.string(), z.string()),
  /** Attempts already made. */
  attempts: z.number().int().nonnegative(),
  /**
   * When the next attempt is due (epoch ms): the last attempt's start plus its backoff, set before it
   * is made. A run that stopped mid-attempt resumes on that schedule, as Pub/Sub keeps retrying on
   * its own schedule whatever happens to the subscriber (absent in older state files: at once).
   */
  nextAttemptAtMs: z.number().int().nonnegative().optional(),
});
type PendingDelivery = z.infer<typeof PendingDeliverySchema>;

const BusStateSchema = z.object({ version: z.literal(1), pending: z.array(PendingDeliverySchema) });

/**
 * Pub/Sub + Eventarc on one machine: a publish fans out to every subscriber listed in the topology
 * as the binary CloudEvent a gen2 function receives; a non-2xx answer is retried with the
 * subscription's exponential backoff; after maxDeliveryAttempts the message is forwarded to the
 * dead-letter topic with Pub/Sub's dead-letter attributes. At least once, like the real thing.
 */
export function createInProcessBus(options: InProcessBusOptions): InProcessBus {
  const projectId = options.projectId ?? 'paygateprime-local';
  const clock = options.clock ?? systemClock;
  const backoffScale = options.backoffScale ?? 1;
  const events: BusEvent[] = [];
  const inFlight = new Set<Promise<void>>();
  const timers = new Map<NodeJS.Timeout, () => void>();
  const avroTypes = new Map<string, avro.Type>();
  let isClosed = false;
  // Deliveries not finished yet, by subscription and message: what the state file holds.
  const pending = new Map<string, PendingDelivery>();
  const leftOver = options.stateFile === undefined ? [] : (readStateFile(options.stateFile, BusStateSchema)?.pending ?? []);
  for (const delivery of leftOver) pending.set(`${delivery.function}/${delivery.pubsubMessageId}`, delivery);
  const writer = options.stateFile === undefined ? undefined : createStateFileWriter(options.stateFile);
  const save = () => writer?.save({ version: 1, pending: [...pending.values()] });

  const emit = (event: BusEvent) => {
    events.push(event);
    options.onEvent?.(event);
  };

  const avroTypeFor = (topic: string): avro.Type | undefined => {
    const spec = options.topology.topics.find((candidate) => candidate.name === topic);
    if (!spec?.schemaFile) return undefined;
    let type = avroTypes.get(topic);
    if (!type) {
      type = avro.Type.forSchema(JSON.parse(readFileSync(path.join(repositoryRoot(), spec.schemaFile), 'utf8')));
      avroTypes.set(topic, type);
    }
    return type;
  };

  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return setImmediate(resolve);
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.set(timer, resolve);
    });

  const backoffMs = (subscription: Subscription, failedAttempts: number) =>
    Math.min(subscription.minBackoffSeconds * 2 ** (failedAttempts - 1), subscription.maxBackoffSeconds) * 1000 * backoffScale;

  const deliverOnce = async (subscription: Subscription, message: Published, attempt: number, isDuplicate: boolean) => {
    const request = buildPubSubCloudEvent({
      projectId,
      topic: message.topic,
      subscription: subscriptionId(subscription),
      pubsubMessageId: message.pubsubMessageId,
      publishTime: message.publishTime,
      data: message.data,
      attributes: message.attributes,
    });
    const status = await options.invoke(subscription.function, request);
    const isAck = status >= 200 && status < 300;
    emit({
      type: 'delivered',
      topic: message.topic,
      function: subscription.function,
      pubsubMessageId: message.pubsubMessageId,
      attempt,
      status,
      isAck,
      isDuplicate,
    });
    return isAck;
  };

  const deliver = async (subscription: Subscription, message: Published, attemptsMade = 0, resumeAtMs?: number) => {
    const key = `${subscription.function}/${message.pubsubMessageId}`;
    const record: PendingDelivery = pending.get(key) ?? { ...message, function: subscription.function, attempts: attemptsMade };
    pending.set(key, record);
    save();
    // Resumed after a stop: the retry it was waiting for (or the one it was making) keeps its time.
    if (resumeAtMs !== undefined && resumeAtMs > Date.now()) await sleep(resumeAtMs - Date.now());
    const finish = () => {
      pending.delete(key);
      save();
    };
    for (let attempt = attemptsMade + 1; attempt <= subscription.maxDeliveryAttempts; attempt++) {
      if (isClosed) return;
      record.attempts = attempt;
      record.nextAttemptAtMs = Date.now() + backoffMs(subscription, attempt);
      save();
      const fault = options.faults?.onDelivery?.({ topic: message.topic, function: subscription.function, attempt, maxAttempts: subscription.maxDeliveryAttempts }) ?? {};
      if (fault.lose) {
        emit({ type: 'abandoned', topic: message.topic, function: subscription.function, pubsubMessageId: message.pubsubMessageId, attempts: attempt });
        return finish();
      }
      if (options.deliverTwice === 'concurrently' || fault.duplicate?.when === 'concurrently') {
        const [first, second] = await Promise.all([
          deliverOnce(subscription, message, attempt, false),
          deliverOnce(subscription, message, attempt, true),
        ]);
        // Pub/Sub acks one of the two; a nacked twin is redelivered like any nack.
        if ((first || second) && !fault.loseAck) {
          if (!(first && second)) await deliverOnce(subscription, message, attempt + 1, true);
          return finish();
        }
      } else if ((await deliverOnce(subscription, message, attempt, false)) && !fault.loseAck) {
        finish();
        if (options.deliverTwice) await deliverOnce(subscription, message, attempt + 1, true);
        if (fault.duplicate?.when === 'late') {
          const lateMs = fault.duplicate.lateMs;
          track(sleep(lateMs).then(async () => {
            if (!isClosed) await deliverOnce(subscription, message, attempt + 1, true);
          }));
        }
        return;
      }
      if (attempt < subscription.maxDeliveryAttempts) await sleep(backoffMs(subscription, attempt));
    }
    // Closed while waiting for the last retry: the delivery stays pending for the next run.
    if (isClosed) return;
    finish();
    const attempts = subscription.maxDeliveryAttempts;
    if (!subscription.deadLetterTopic) {
      emit({ type: 'abandoned', topic: message.topic, function: subscription.function, pubsubMessageId: message.pubsubMessageId, attempts });
      options.logger?.critical('bus.delivery_abandoned', { topic: message.topic, function: subscription.function, attempts });
      return;
    }
    emit({
      type: 'dead-lettered',
      topic: message.topic,
      function: subscription.function,
      deadLetterTopic: subscription.deadLetterTopic,
      pubsubMessageId: message.pubsubMessageId,
      attempts,
    });
    publishRaw(subscription.deadLetterTopic, message.data, {
      ...message.attributes,
      CloudPubSubDeadLetterSourceDeliveryCount: String(attempts),
      CloudPubSubDeadLetterSourceSubscription: `projects/${projectId}/subscriptions/${subscriptionId(subscription)}`,
      CloudPubSubDeadLetterSourceSubscriptionProject: projectId,
      CloudPubSubDeadLetterSourceTopicPublishTime: message.publishTime.toISOString(),
    });
  };

  const publishRaw = (topic: string, data: string, attributes: Record<string, string>) => {
    if (!options.topology.topics.some((candidate) => candidate.name === topic)) {
      throw busError('publish_rejected', `Topic ${topic} does not exist`, { topic });
    }
    const message: Published = { topic, pubsubMessageId: randomUUID(), publishTime: clock.now(), data, attributes };
    emit({ type: 'published', topic, pubsubMessageId: message.pubsubMessageId, attributes, data });
    for (const subscription of subscriptionsOf(options.topology, topic)) track(deliver(subscription, message));
    return message.pubsubMessageId;
  };

  return {
    async publish(topic, message, publishOptions) {
      assertNoOpenTransaction(`publish to ${topic}`);
      const data = JSON.stringify(message);
      if (options.faults?.failPublish?.(topic)) {
        throw busError('publish_failed', `Publishing to ${topic} failed (injected fault)`, { topic });
      }
      const type = options.validateSchemas === false ? undefined : avroTypeFor(topic);
      if (type && !type.isValid(message)) {
        throw busError('publish_rejected', `The message does not match the Avro schema of ${topic}`, { topic });
      }
      return publishRaw(topic, data, publishOptions?.attributes ?? {});
    },
    async drain() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    get events() {
      return events;
    },
    resume() {
      let resumed = 0;
      for (const delivery of leftOver) {
        const subscription = subscriptionsOf(options.topology, delivery.topic).find((candidate) => candidate.function === delivery.function);
        if (!subscription) {
          // The topology changed between runs: nobody subscribes any more.
          pending.delete(`${delivery.function}/${delivery.pubsubMessageId}`);
          options.logger?.warn('bus.resumed_delivery_dropped', { topic: delivery.topic, function: delivery.function, pubsubMessageId: delivery.pubsubMessageId });
          continue;
        }
        const { function: _function, attempts, nextAttemptAtMs, ...message } = delivery;
        track(deliver(subscription, message, Math.min(attempts, subscription.maxDeliveryAttempts - 1), nextAttemptAtMs));
        resumed += 1;
      }
      leftOver.length = 0;
      save();
      return resumed;
    },
    async close() {
      isClosed = true;
      // Wake every delivery waiting for a retry; each sees isClosed and stops.
      for (const [timer, wake] of timers) {
        clearTimeout(timer);
        wake();
      }
      timers.clear();
    },
  };
}
