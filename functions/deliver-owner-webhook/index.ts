import * as ff from '@google-cloud/functions-framework';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { deliverOwnerWebhook } from '../../shared/owner-webhooks/index.js';
import { consume } from '../../shared/pubsub-entry/index.js';

const config = loadConfig({ OWNER_WEBHOOK_SIGNING_KEY: configVars.OWNER_WEBHOOK_SIGNING_KEY });
// Production settings: the system resolver, private and loopback targets refused, 10 s per POST.
const settings = { signingKey: config.OWNER_WEBHOOK_SIGNING_KEY };

/** On owner-webhook-requested: one signed POST of the event to the owner's endpoint, if due (lease on the row). */
ff.cloudEvent(
  'deliver-owner-webhook',
  consume({
    consumer: 'deliver-owner-webhook',
    topic: 'owner-webhook-requested',
    handle: async (delivery, services) => {
      const outcome = await deliverOwnerWebhook({ ...services, logger: delivery.logger }, settings, delivery.message.deliveryId);
      if (outcome === 'in_progress' || outcome === 'not_due') delivery.logger.info('owner_webhook.nothing_to_do', { outcome });
    },
  }),
);
