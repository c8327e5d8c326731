import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/bus/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { expireDueSubscriptions } from '../../shared/subscriptions/index.js';
import { createBotApi } from '../../shared/telegram/index.js';

const config = loadConfig({ TELEGRAM_BOT_TOKEN: configVars.TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT: configVars.TELEGRAM_API_ROOT });
const telegram = createBotApi({ token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT });

/** Scheduled every minute: remove members whose subscription ended. */
ff.cloudEvent(
  'expire-subscriptions',
  consume({
    consumer: 'expire-subscriptions',
    topic: 'subscription-expiry-requested',
    maxAgeSeconds: 120,
    handle: async (delivery, services) => {
      const report = await expireDueSubscriptions({ ...services, logger: delivery.logger, telegram });
      if (report.removed + report.failed > 0) delivery.logger.info('subscriptions.expiry_run', { ...report });
    },
  }),
);
