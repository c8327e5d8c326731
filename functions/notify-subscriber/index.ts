import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { notifySubscriber } from '../../shared/notifications/index.js';
import { loadBotApi } from '../../shared/telegram/index.js';

const config = loadConfig({ TELEGRAM_BOT_USERNAME: configVars.TELEGRAM_BOT_USERNAME.optional() });
const telegram = loadBotApi();

/** On subscriber-notification-requested: payment problems and expiry, told once. */
ff.cloudEvent(
  'notify-subscriber',
  consume({
    consumer: 'notify-subscriber',
    topic: 'subscriber-notification-requested',
    // A concurrent duplicate waits for this one instead of sending a second DM.
    exclusiveKey: (delivery) => delivery.messageId,
    handle: async (delivery, services) => {
      await notifySubscriber({ ...services, logger: delivery.logger, telegram, botUsername: config.TELEGRAM_BOT_USERNAME }, delivery.message, delivery.messageId);
    },
  }),
);
