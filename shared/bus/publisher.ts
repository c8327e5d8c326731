import type { PubSub, Topic, v1 } from '@google-cloud/pubsub';
import { assertNoOpenTransaction } from '../db/index.js';
import { busError } from './errors.js';

export interface PublishOptions {
  attributes?: Record<string, string>;
}

/**
 * Publishes one JSON message to a topic and returns the provider's message id. Never called inside a
 * database transaction: stages write to the outbox instead, and the relay publishes after commit.
 */
export interface Publisher {
  publish(topic: string, message: unknown, options?: PublishOptions): Promise<string>;
}

// gRPC status codes that mean "this publish can never succeed": INVALID_ARGUMENT (schema
// rejection), NOT_FOUND (no such topic), PERMISSION_DENIED, FAILED_PRECONDITION.
const PERMANENT_GRPC_CODES = new Set([3, 5, 7, 9]);

/**
 * `pubsub` with its publishing stub started (credentials read, channel built), awaited here. The
 * library starts it inside its first `publish` and rethrows a failure there where nothing catches
 * it (`initialize().catch(err => { throw err; })`, @google-cloud/pubsub 5.3): an unhandled
 * rejection, which the Functions Framework answers with a 500 on the request that happens to run
 * (an IPN already stored and settled, a delivery already applied). It also keeps the failed stub,
 * so one credentials hiccup would fail every later publish of the instance. Started here, a failure
 * is this publish's error, and the failed stub is dropped so the next publish starts a new one.
 */
async function withPublishingStub(pubsub: PubSub): Promise<PubSub> {
  // Typed as the library's generic stub; it is the v1 client the publisher of every topic uses.
  const stub = (await pubsub.getClientAsync_({ client: 'PublisherClient' })) as unknown as v1.PublisherClient;
  try {
    await stub.initialize();
  } catch (error) {
    delete pubsub.api.PublisherClient;
    throw error;
  }
  return pubsub;
}

/**
 * The production adapter (and the emulator's, when PUBSUB_EMULATOR_HOST is set). `pubsub` may be a
 * loader, called on the first publish: the client library (gRPC, protobufs) is the heaviest load of
 * a cold start, and a request that publishes nothing (a repeated IPN, a read) never needs it.
 */
export function createPubSubPublisher(options: {
  pubsub: PubSub | (() => Promise<PubSub>);
  /** Give up (transient) after this long. Default 10 s. */
  timeoutMs?: number;
}): Publisher {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const { pubsub } = options;
  let client: Promise<PubSub> | undefined;
  const clientOf = () => {
    client ??= (typeof pubsub === 'function' ? pubsub() : Promise.resolve(pubsub)).then(withPublishingStub);
    client.catch(() => {
      client = undefined; // a failed load or start is retried on the next publish
    });
    return client;
  };
  const topics = new Map<string, Topic>();
  const topicFor = async (name: string) => {
    let topic = topics.get(name);
    if (!topic) {
      // The relay publishes a batch in one go: messages for one topic queued in the same tick leave
      // in one request (maxMilliseconds 0 = the next turn of the event loop), none waits longer.
      topic = (await clientOf()).topic(name, {
        batching: { maxMessages: 100, maxMilliseconds: 0 },
        gaxOpts: { timeout: timeoutMs, retry: { backoffSettings: { totalTimeoutMillis: timeoutMs } } as never },
      });
      topics.set(name, topic);
    }
    return topic;
  };
  return {
    async publish(topic, message, publishOptions) {
      assertNoOpenTransaction(`publish to ${topic}`);
      try {
        // The client retries internally; this bound keeps a stage from hanging on an unreachable
        // Pub/Sub. A publish that still lands later is a duplicate, which consumers absorb.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(busError('publish_failed', `publish timed out after ${timeoutMs} ms`, { topic })), timeoutMs);
        });
        try {
          return await Promise.race([
            topicFor(topic).then((target) =>
              target.publishMessage({
                data: Buffer.from(JSON.stringify(message), 'utf8'),
                attributes: publishOptions?.attributes ?? {},
              }),
            ),
            timeout,
          ]);
        } finally {
          clearTimeout(timer);
        }
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'number' && PERMANENT_GRPC_CODES.has(code)) {
          throw busError('publish_rejected', `Pub/Sub refused the message for ${topic}`, { topic, grpcCode: code }, error);
        }
        throw busError('publish_failed', `Could not publish to ${topic}`, { topic }, error);
      }
    },
  };
}
