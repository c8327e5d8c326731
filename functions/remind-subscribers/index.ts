import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { sendRenewalReminders } from '../../shared/notifications/index.js';
import { loadBotApi } from '../../shared/telegram/index.js';

const telegram = loadBotApi();

/** Scheduled every 5 minutes: renewal reminders (3 d, 1 d, 1 h before the end) and grace-period notices. */
ff.cloudEvent(
  'remind-subscribers',
  consume({
    consumer: 'remind-subscribers',
    topic: 'renewal-reminders-requested',
    // The next tick comes 5 minutes later and does the same work: an older one is dropped.
    maxAgeSeconds: 300,
    handle: async (delivery, services) => {
      const report = await sendRenewalReminders({ ...services, logger: delivery.logger, telegram });
      if (Object.values(report).some((count) => count > 0)) delivery.logger.info('subscriptions.reminder_run', { ...report });
    },
  }),
);
