import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/bus/index.js';
import { createChangeNowClient } from '../../shared/changenow/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { quotePayout } from '../../shared/payouts/index.js';

const config = loadConfig({
  CHANGENOW_API_URL: configVars.CHANGENOW_API_URL,
  CHANGENOW_API_KEY: configVars.CHANGENOW_API_KEY,
  PAYOUT_MAX_USD_CENTS: configVars.PAYOUT_MAX_USD_CENTS,
  PAYOUT_DAILY_CAP_USD_CENTS: configVars.PAYOUT_DAILY_CAP_USD_CENTS,
});
const changenow = createChangeNowClient({ apiUrl: config.CHANGENOW_API_URL, apiKey: config.CHANGENOW_API_KEY });
const limits = { perPayoutMaxUsdCents: BigInt(config.PAYOUT_MAX_USD_CENTS), dailyCapUsdCents: BigInt(config.PAYOUT_DAILY_CAP_USD_CENTS) };

/** On payout-requested: limits, destination check, then a direct transfer or a ChangeNow quote. */
ff.cloudEvent(
  'quote-payout',
  consume({
    consumer: 'quote-payout',
    topic: 'payout-requested',
    handle: async (delivery, services) => {
      await quotePayout({ ...services, log: delivery.logger, changenow, limits }, delivery.message.payoutId);
    },
  }),
);
