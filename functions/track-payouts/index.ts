import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { createChain, createJsonRpc } from '../../shared/chain/index.js';
import { createChangeNowClient } from '../../shared/changenow/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { trackPayouts } from '../../shared/payouts/index.js';

const config = loadConfig({
  ETH_RPC_URL: configVars.ETH_RPC_URL,
  CHANGENOW_API_URL: configVars.CHANGENOW_API_URL,
  CHANGENOW_API_KEY: configVars.CHANGENOW_API_KEY,
  PAYOUT_CONFIRMATIONS: configVars.PAYOUT_CONFIRMATIONS,
});
const chain = createChain(createJsonRpc(config.ETH_RPC_URL));
const changenow = createChangeNowClient({ apiUrl: config.CHANGENOW_API_URL, apiKey: config.CHANGENOW_API_KEY });

/** Scheduled every minute: confirm broadcast transfers, follow swaps until finished, failed or refunded. */
ff.cloudEvent(
  'track-payouts',
  consume({
    consumer: 'track-payouts',
    topic: 'payout-tracking-requested',
    maxAgeSeconds: 120,
    handle: async (delivery, services) => {
      const report = await trackPayouts({ ...services, logger: delivery.logger, chain, changenow, confirmations: config.PAYOUT_CONFIRMATIONS });
      if (report.checked > 0) delivery.logger.info('payouts.tracking_run', { ...report });
    },
  }),
);
