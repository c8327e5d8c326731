import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/bus/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { sendInvite } from '../../shared/subscriptions/index.js';
import { createBotApi } from '../../shared/telegram/index.js';

const config = loadConfig({ TELEGRAM_BOT_TOKEN: configVars.TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT: configVars.TELEGRAM_API_ROOT });
const telegram = createBotApi({ token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT });

/** On invite-requested: one one-time invite link per payment, DM'd to the subscriber. */
ff.cloudEvent(
  'send-invite',
  consume({
    consumer: 'send-invite',
    topic: 'invite-requested',
    handle: async (delivery, services) => {
      await sendInvite({ ...services, logger: delivery.logger, telegram }, delivery.message.paymentId);
    },
  }),
);
