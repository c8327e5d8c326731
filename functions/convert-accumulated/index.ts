import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { createChangeNowClient } from '../../shared/changenow/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { convertAccumulated } from '../../shared/payouts/index.js';

const config = loadConfig({
  CHANGENOW_API_URL: configVars.CHANGENOW_API_URL,
  CHANGENOW_API_KEY: configVars.CHANGENOW_API_KEY,
  HOT_WALLET_ADDRESS: configVars.HOT_WALLET_ADDRESS,
  CONVERSION_MIN_BATCH_USD_CENTS: configVars.CONVERSION_MIN_BATCH_USD_CENTS,
});
const changenow = createChangeNowClient({ apiUrl: config.CHANGENOW_API_URL, apiKey: config.CHANGENOW_API_KEY });

/** Scheduled every 15 minutes: park threshold owners' unconverted ETH as USDT, one swap per batch. */
ff.cloudEvent(
  'convert-accumulated',
  consume({
    consumer: 'convert-accumulated',
    topic: 'conversion-requested',
    maxAgeSeconds: 600,
    isTickOnce: true,
    handle: async (delivery, services) => {
      const result = await convertAccumulated({
        ...services,
        logger: delivery.logger,
        changenow,
        hotWalletAddress: config.HOT_WALLET_ADDRESS,
        minBatchUsdCents: config.CONVERSION_MIN_BATCH_USD_CENTS,
      });
      if (result.outcome === 'below_minimum') delivery.logger.info('conversion.waiting', { reason: result.reason, totalUnits: result.totalUnits });
    },
  }),
);
