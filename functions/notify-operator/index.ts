import * as ff from '@google-cloud/functions-framework';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { consume } from '../../shared/pubsub-entry/index.js';
import { loadBotApi } from '../../shared/telegram/index.js';
import { createOperatorNotifier } from '../../shared/watchdog/index.js';

const config = loadConfig({ OPERATOR_ALERT_CHAT_ID: configVars.OPERATOR_ALERT_CHAT_ID });
const notifyOperator = createOperatorNotifier({ telegram: loadBotApi(), chatId: config.OPERATOR_ALERT_CHAT_ID });

/** On operator-alert-requested: the alert in the operator's Telegram chat, once. */
ff.cloudEvent(
  'notify-operator',
  consume({
    consumer: 'notify-operator',
    topic: 'operator-alert-requested',
    // A concurrent duplicate waits for this one instead of sending a second message.
    exclusiveKey: (delivery) => delivery.message.alertId,
    handle: async (delivery, services) => {
      await notifyOperator({ ...services, logger: delivery.logger }, delivery.message);
    },
  }),
);
