import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/bus/index.js';
import { withLease } from '../../shared/kv/index.js';
import { sendInvite } from '../../shared/subscriptions/index.js';
import { loadBotApi } from '../../shared/telegram/index.js';

const telegram = loadBotApi();

/** On invite-requested: one one-time invite link per payment, DM'd to the subscriber. */
ff.cloudEvent(
  'send-invite',
  consume({
    consumer: 'send-invite',
    topic: 'invite-requested',
    handle: async (delivery, services) => {
      // A concurrent duplicate waits for this one instead of sending a second DM.
      await withLease(services.kv, `send-invite:${delivery.message.paymentId}`, 120, () =>
        sendInvite({ ...services, logger: delivery.logger, telegram }, delivery.message.paymentId),
      );
    },
  }),
);
