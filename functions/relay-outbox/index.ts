import * as ff from '@google-cloud/functions-framework';
import { relayOutbox } from '../../shared/bus/index.js';
import { consume } from '../../shared/pubsub-entry/index.js';

/**
 * Scheduled every minute: publishes outbox rows that the publish-after-commit path left unsent
 * (a crash between commit and publish, Pub/Sub unavailable).
 */
ff.cloudEvent(
  'relay-outbox',
  consume({
    consumer: 'relay-outbox',
    topic: 'outbox-relay-requested',
    maxAgeSeconds: 120,
    handle: async (delivery, services) => {
      const report = await relayOutbox(services, { limit: 500 });
      delivery.logger.info('outbox.relayed', { ...report });
    },
  }),
);
