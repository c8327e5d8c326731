import type { CloudEvent } from '@google-cloud/functions-framework';
import { errorCode, isRetryable } from '../errors/index.js';
import { withLease } from '../kv/index.js';
import { cloudTraceFields, type Logger } from '../logging/index.js';
import { TOPIC_SCHEMAS, type TopicMessage, type TopicName } from '../messages/index.js';
import { assertServicesConfigured, getServices, type Services } from '../runtime/index.js';
import { decodePubSubCloudEvent, type PubSubMessage } from '../bus/cloud-event.js';
import { deadLetterAction, type RecordedDeadLetter, recordDeadLetter } from '../bus/dead-letters.js';
import { claimMessage } from '../bus/handle-once.js';
import { type QueuedOutboxRow, relayAfterCommit, trackQueuedMessages } from '../bus/outbox.js';
import { pubsubEntryError } from './errors.js';

export interface Delivery<M> {
  consumer: string;
  topic: string;
  /** The de-duplication id: pass it to `handleOnce`. */
  messageId: string;
  pubsubMessageId: string;
  publishTime: Date;
  attributes: Record<string, string>;
  message: M;
  /** A logger carrying consumer, topic, messageId and the trace. */
  logger: Logger;
}

export interface ConsumeOptions<T extends TopicName> {
  /** The function's name, also the idempotency namespace in processed_messages. */
  consumer: string;
  topic: T;
  /** Acknowledge without effect a message published longer ago than this (scheduler ticks). */
  maxAgeSeconds?: number;
  /**
   * Scheduler ticks that move money: a tick delivered again (same message id) is acknowledged
   * without running. The tick is claimed in processed_messages before it runs, so a tick that fails
   * is not retried either: the next tick comes on the schedule.
   */
  isTickOnce?: boolean;
  /**
   * Work only one delivery may do at a time (a Telegram DM or a mail the database cannot take
   * back): the handler runs under an exclusive lease named `<consumer>:<key>` in the key-value store,
   * held for at most EXCLUSIVE_LEASE_SECONDS and released when the handler ends. A delivery that
   * finds the lease taken runs nothing and fails with `TransientError('work_in_progress')`, so
   * Pub/Sub redelivers it later, when the winner's record says the work is done. A function of the
   * delivery gives one lease per message (its id, or the entity it acts on); a string, one per
   * function.
   */
  exclusiveKey?: string | ((delivery: Delivery<TopicMessage<T>>) => string);
  handle: (delivery: Delivery<TopicMessage<T>>, services: Services) => Promise<void>;
}

/** How long an `exclusiveKey` lease lasts at most: it expires by itself when its holder dies. */
export const EXCLUSIVE_LEASE_SECONDS = 120;

/**
 * Turns a stage into a CloudEvent function with the project's delivery rules:
 * - an envelope or message that cannot be decoded or fails its schema is recorded as a dead letter
 *   and acknowledged (retrying cannot fix it);
 * - a `PermanentError` from the stage likewise;
 * - anything else is thrown, so Pub/Sub redelivers within the subscription's retry policy and
 *   dead-letters it after the maximum attempts;
 * - after the stage succeeds, the outbox rows it wrote (and no others) are published right away
 *   (the scheduled relay catches any this misses).
 */
export function consume<T extends TopicName>(options: ConsumeOptions<T>): (event: CloudEvent<unknown>) => Promise<void> {
  assertServicesConfigured();
  return async (event) => {
    const services = await getServices();
    let envelope: PubSubMessage | undefined;
    try {
      envelope = decodePubSubCloudEvent(event);
    } catch (error) {
      const recorded = await deadLetter(services, options, undefined, error, JSON.stringify(event.data ?? null), event.id);
      logDeadLetter(services.logger, 'message.malformed', recorded, { consumer: options.consumer, topic: options.topic, ceId: event.id, error });
      return;
    }
    const logger = services.logger.child({
      consumer: options.consumer,
      topic: options.topic,
      messageId: envelope.messageId,
      ...cloudTraceFields((event as { traceparent?: string }).traceparent, services.projectId),
    });

    const ageSeconds = (services.clock.now().getTime() - envelope.publishTime.getTime()) / 1000;
    if (options.maxAgeSeconds !== undefined && ageSeconds > options.maxAgeSeconds) {
      logger.warn('message.too_old', { ageSeconds: Math.floor(ageSeconds), maxAgeSeconds: options.maxAgeSeconds });
      return;
    }

    if (options.isTickOnce) {
      const key = { consumer: options.consumer, messageId: envelope.messageId, topic: options.topic };
      const isFirst = await services.db.transaction((tx) => claimMessage(tx, key, services.clock.now()));
      if (!isFirst) {
        logger.info('message.tick_repeated', {});
        return;
      }
    }

    let message: TopicMessage<T>;
    try {
      message = parseMessage(options.topic, envelope.data);
    } catch (error) {
      const recorded = await deadLetter(services, options, envelope, error, envelope.data);
      logDeadLetter(logger, 'message.invalid', recorded, { error });
      return;
    }

    const delivery: Delivery<TopicMessage<T>> = {
      consumer: options.consumer,
      topic: options.topic,
      messageId: envelope.messageId,
      pubsubMessageId: envelope.pubsubMessageId,
      publishTime: envelope.publishTime,
      attributes: envelope.attributes,
      message,
      logger,
    };
    const { exclusiveKey } = options;
    const run =
      exclusiveKey === undefined
        ? () => options.handle(delivery, services)
        : () =>
            withLease(services.kv, `${options.consumer}:${typeof exclusiveKey === 'string' ? exclusiveKey : exclusiveKey(delivery)}`, EXCLUSIVE_LEASE_SECONDS, () =>
              options.handle(delivery, services),
            );
    const queued: QueuedOutboxRow[] = [];
    try {
      await trackQueuedMessages(run, queued);
    } catch (error) {
      // What a transaction of this delivery committed before the failure goes out now, not after its lease.
      await relayAfterCommit({ ...services, logger }, queued);
      if (isRetryable(error)) {
        logger.error('message.failed', { error, willRetry: true });
        throw error;
      }
      const recorded = await deadLetter(services, options, envelope, error, envelope.data);
      logDeadLetter(logger, 'message.rejected', recorded, { error, code: errorCode(error) });
      return;
    }

    // What this delivery queued goes out now; a failure is logged and left to the scheduled relay.
    await relayAfterCommit({ ...services, logger }, queued);
  };
}

function parseMessage<T extends TopicName>(topic: T, data: string): TopicMessage<T> {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw pubsubEntryError('invalid_message', `The ${topic} message is not JSON`);
  }
  const parsed = TOPIC_SCHEMAS[topic].safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw pubsubEntryError('invalid_message', `The ${topic} message does not match its schema: ${fields}`);
  }
  return parsed.data as TopicMessage<T>;
}

async function deadLetter(
  services: Services,
  options: { consumer: string; topic: string },
  envelope: PubSubMessage | undefined,
  error: unknown,
  data: string,
  fallbackMessageId?: string,
): Promise<RecordedDeadLetter> {
  // If this write fails the error propagates: the delivery is retried rather than lost.
  return recordDeadLetter(services.db, {
    source: options.consumer,
    topic: options.topic,
    messageId: envelope?.messageId ?? fallbackMessageId,
    reasonCode: errorCode(error) === 'unexpected_error' ? 'invalid_message' : errorCode(error),
    reason: error instanceof Error ? error.message : String(error),
    data,
    attributes: envelope?.attributes,
    at: services.clock.now(),
  });
}

/** Log fields naming the dead letter and the command that shows it (a re-opened one says so). */
/**
 * A dead letter needs an operator: CRITICAL (what alerting policies match) with the command to look
 * at it, the first time it is recorded; a redelivery of the same poison message only warns.
 */
function logDeadLetter(logger: Logger, event: string, recorded: RecordedDeadLetter, context: Record<string, unknown>): void {
  const fields = { ...context, deadLetterId: String(recorded.id), deadLetterOutcome: recorded.outcome, action: deadLetterAction(recorded.id) };
  if (recorded.outcome === 'already_recorded') logger.warn(event, fields);
  else logger.critical(event, fields);
}
