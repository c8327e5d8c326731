import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { settlePayment } from '../../shared/payments/index.js';

const config = loadConfig({ PLATFORM_FEE_BPS: configVars.PLATFORM_FEE_BPS });

/** On payment-settled: ledger, subscription, invite / notification / payout messages, once. */
ff.cloudEvent(
  'settle-payment',
  consume({
    consumer: 'settle-payment',
    topic: 'payment-settled',
    handle: async (delivery, services) => {
      await settlePayment({ ...services, logger: delivery.logger, platformFeeBps: config.PLATFORM_FEE_BPS }, delivery, delivery.message.paymentId);
    },
  }),
);
