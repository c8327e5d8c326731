import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { createNowPaymentsClient } from '../../shared/nowpayments/index.js';
import { runReconciliation } from '../../shared/payments/index.js';
import { loadBurstLimits } from '../../shared/watchdog/index.js';

const config = loadConfig({ NOWPAYMENTS_API_URL: configVars.NOWPAYMENTS_API_URL, NOWPAYMENTS_API_KEY: configVars.NOWPAYMENTS_API_KEY });
const nowpayments = createNowPaymentsClient({ apiUrl: config.NOWPAYMENTS_API_URL, apiKey: config.NOWPAYMENTS_API_KEY });
const bursts = loadBurstLimits(['paymentFailures']);

/** Scheduled: re-read payments whose IPNs went missing, re-drive and alert stuck work, relay the outbox. */
ff.cloudEvent(
  'reconcile',
  consume({
    consumer: 'reconcile',
    topic: 'reconciliation-requested',
    maxAgeSeconds: 600,
    handle: async (delivery, services) => {
      delivery.logger.info('reconcile.run', await runReconciliation({ ...services, logger: delivery.logger, nowpayments, bursts }));
    },
  }),
);
