import * as ff from '@google-cloud/functions-framework';
import { consume, relayOutbox } from '../../shared/bus/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { createNowPaymentsClient } from '../../shared/nowpayments/index.js';
import { reconcilePayments } from '../../shared/payments/index.js';

const config = loadConfig({ NOWPAYMENTS_API_URL: configVars.NOWPAYMENTS_API_URL, NOWPAYMENTS_API_KEY: configVars.NOWPAYMENTS_API_KEY });
const nowpayments = createNowPaymentsClient({ apiUrl: config.NOWPAYMENTS_API_URL, apiKey: config.NOWPAYMENTS_API_KEY });

/** Scheduled: re-read payments whose IPNs went missing, and relay outbox rows left unsent. */
ff.cloudEvent(
  'reconcile',
  consume({
    consumer: 'reconcile',
    topic: 'reconciliation-requested',
    maxAgeSeconds: 600,
    handle: async (delivery, services) => {
      const payments = await reconcilePayments({ ...services, logger: delivery.logger, nowpayments });
      const outbox = await relayOutbox(services, { limit: 500 });
      delivery.logger.info('reconcile.run', { payments, outbox });
    },
  }),
);
