import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/bus/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { notifyOwner } from '../../shared/notifications/index.js';
import { createBotApi } from '../../shared/telegram/index.js';

const config = loadConfig({ TELEGRAM_BOT_TOKEN: configVars.TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT: configVars.TELEGRAM_API_ROOT });
const telegram = createBotApi({ token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT });

/** On owner-notification-requested: the owner's DM, once per event. */
ff.cloudEvent(
  'notify-owner',
  consume({
    consumer: 'notify-owner',
    topic: 'owner-notification-requested',
    handle: async (delivery, services) => {
      await notifyOwner({ ...services, logger: delivery.logger, telegram }, delivery.message);
    },
  }),
);
