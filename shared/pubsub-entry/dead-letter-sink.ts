import type { CloudEvent } from '@google-cloud/functions-framework';
import { assertServicesConfigured, getServices } from '../runtime/index.js';
import { decodePubSubCloudEvent } from '../bus/cloud-event.js';
import { deadLetterAction, recordDeadLetter } from '../bus/dead-letters.js';

// Attributes Pub/Sub adds when it forwards a message to a dead-letter topic.
const SOURCE_SUBSCRIPTION = 'CloudPubSubDeadLetterSourceSubscription';
const SOURCE_DELIVERY_COUNT = 'CloudPubSubDeadLetterSourceDeliveryCount';

/**
 * The subscriber of every dead-letter topic: a message that exhausted its delivery attempts is
 * recorded in dead_letters (once, however often it arrives) and raised as a critical log line so
 * an operator looks at it. Nothing is dropped: if the insert fails this throws and Pub/Sub retries.
 */
export function deadLetterSink(options: { consumer: string }): (event: CloudEvent<unknown>) => Promise<void> {
  assertServicesConfigured();
  return async (event) => {
    const services = await getServices();
    const at = services.clock.now();
    let envelope;
    try {
      envelope = decodePubSubCloudEvent(event);
    } catch (error) {
      const recorded = await recordDeadLetter(services.db, {
        source: options.consumer,
        messageId: event.id,
        reasonCode: 'malformed_envelope',
        reason: error instanceof Error ? error.message : String(error),
        data: JSON.stringify(event.data ?? null),
        at,
      });
      services.logger.critical('dead_letter.malformed', { ceId: event.id, error, deadLetterId: String(recorded.id), action: deadLetterAction(recorded.id) });
      return;
    }
    const deadLetterTopic = envelope.topic ?? 'unknown';
    const sourceSubscription = envelope.attributes[SOURCE_SUBSCRIPTION]?.split('/').pop();
    const deliveryCount = Number.parseInt(envelope.attributes[SOURCE_DELIVERY_COUNT] ?? '', 10);
    const recorded = await recordDeadLetter(services.db, {
      source: sourceSubscription ?? deadLetterTopic,
      topic: deadLetterTopic.replace(/-dlq$/, ''),
      messageId: envelope.messageId,
      reasonCode: 'max_delivery_attempts',
      reason: `Delivery failed ${Number.isNaN(deliveryCount) ? 'the maximum number of' : deliveryCount} times; forwarded to ${deadLetterTopic}`,
      data: envelope.data,
      attributes: envelope.attributes,
      deliveryAttempt: Number.isNaN(deliveryCount) ? undefined : deliveryCount,
      at,
    });
    if (recorded.outcome !== 'already_recorded') {
      // 'dead_letter.reopened': an operator re-drove this message and it failed again.
      services.logger.critical(recorded.outcome === 'reopened' ? 'dead_letter.reopened' : 'dead_letter.recorded', {
        deadLetterTopic,
        sourceSubscription,
        messageId: envelope.messageId,
        deliveryCount: Number.isNaN(deliveryCount) ? undefined : deliveryCount,
        deadLetterId: String(recorded.id),
        action: deadLetterAction(recorded.id),
      });
    }
  };
}
