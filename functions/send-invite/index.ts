import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { sendInvite } from '../../shared/subscriptions/index.js';
import { loadBotApi } from '../../shared/telegram/index.js';

const telegram = loadBotApi();

/** On invite-requested: one one-time invite link per payment, DM'd to the subscriber. */
ff.cloudEvent(
  'send-invite',
  consume({
    consumer: 'send-invite',
    topic: 'invite-requested',
    // A concurrent duplicate waits for this one instead of sending a second DM.
    exclusiveKey: (delivery) => delivery.message.paymentId,
    handle: async (delivery, services) => {
      await sendInvite({ ...services, logger: delivery.logger, telegram }, delivery.message.paymentId);
    },
  }),
);
