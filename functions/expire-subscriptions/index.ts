import * as ff from '@google-cloud/functions-framework';
import { expireUnclaimedGifts } from '../../shared/gifts/index.js';
import { consume } from '../../shared/pubsub-entry/index.js';
import { expireDueSubscriptions } from '../../shared/subscriptions/index.js';
import { loadBotApi } from '../../shared/telegram/index.js';

const telegram = loadBotApi();

/** Scheduled every minute: remove members whose subscription ended; expire gifts unclaimed for 30 days. */
ff.cloudEvent(
  'expire-subscriptions',
  consume({
    consumer: 'expire-subscriptions',
    topic: 'subscription-expiry-requested',
    maxAgeSeconds: 120,
    handle: async (delivery, services) => {
      const report = await expireDueSubscriptions({ ...services, logger: delivery.logger, telegram });
      if (report.removed + report.failed > 0) delivery.logger.info('subscriptions.expiry_run', { ...report });
      await expireUnclaimedGifts({ ...services, logger: delivery.logger });
    },
  }),
);
