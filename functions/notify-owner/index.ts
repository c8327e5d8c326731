import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { notifyOwner } from '../../shared/notifications/index.js';
import { loadBotApi } from '../../shared/telegram/index.js';

const telegram = loadBotApi();

/** On owner-notification-requested: the owner's DM, once per event. */
ff.cloudEvent(
  'notify-owner',
  consume({
    consumer: 'notify-owner',
    topic: 'owner-notification-requested',
    // A concurrent duplicate waits for this one instead of sending a second DM.
    exclusiveKey: (delivery) => delivery.messageId,
    handle: async (delivery, services) => {
      await notifyOwner({ ...services, logger: delivery.logger, telegram }, delivery.message);
    },
  }),
);
