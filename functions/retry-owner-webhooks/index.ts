import * as ff from '@google-cloud/functions-framework';
import { requeueDueWebhookDeliveries } from '../../shared/owner-webhooks/index.js';
import { consume } from '../../shared/pubsub-entry/index.js';

/**
 * Scheduled every minute: queues owner webhook deliveries whose next attempt is due (the 3-day
 * retry schedule lives in the table; Pub/Sub's backoff stops at 600 s).
 */
ff.cloudEvent(
  'retry-owner-webhooks',
  consume({
    consumer: 'retry-owner-webhooks',
    topic: 'owner-webhook-retries-requested',
    maxAgeSeconds: 120,
    handle: async (delivery, services) => {
      const queued = await requeueDueWebhookDeliveries(services);
      if (queued > 0) delivery.logger.info('owner_webhook.retries_queued', { queued });
    },
  }),
);
