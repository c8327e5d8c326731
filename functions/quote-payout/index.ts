import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { createChain, createJsonRpc, expectedTransferFeeWei } from '../../shared/chain/index.js';
import { createChangeNowClient } from '../../shared/changenow/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { type NetworkFeeGuard, quotePayout } from '../../shared/payouts/index.js';
import { loadFieldCipher } from '../../shared/field-crypto/index.js';

loadFieldCipher(); // FIELD_ENCRYPTION_KEYS, FIELD_BLIND_INDEX_KEY: opens the sealed emails/wallets this stage hands on
const config = loadConfig({
  CHANGENOW_API_URL: configVars.CHANGENOW_API_URL,
  CHANGENOW_API_KEY: configVars.CHANGENOW_API_KEY,
  ETH_RPC_URL: configVars.ETH_RPC_URL,
  PAYOUT_MAX_USD_CENTS: configVars.PAYOUT_MAX_USD_CENTS,
  PAYOUT_DAILY_CAP_USD_CENTS: configVars.PAYOUT_DAILY_CAP_USD_CENTS,
  PAYOUT_MAX_NETWORK_FEE_BPS: configVars.PAYOUT_MAX_NETWORK_FEE_BPS,
});
const changenow = createChangeNowClient({ apiUrl: config.CHANGENOW_API_URL, apiKey: config.CHANGENOW_API_KEY });
const chain = createChain(createJsonRpc(config.ETH_RPC_URL));
const limits = { perPayoutMaxUsdCents: config.PAYOUT_MAX_USD_CENTS, dailyCapUsdCents: config.PAYOUT_DAILY_CAP_USD_CENTS };
const networkFee: NetworkFeeGuard = {
  estimateFeeWei: async (asset) => expectedTransferFeeWei(asset, await chain.estimateFees()),
  maxShareBps: config.PAYOUT_MAX_NETWORK_FEE_BPS,
};

/** On payout-requested: limits, destination check, gas share, then a direct transfer or a ChangeNow quote. */
ff.cloudEvent(
  'quote-payout',
  consume({
    consumer: 'quote-payout',
    topic: 'payout-requested',
    handle: async (delivery, services) => {
      await quotePayout({ ...services, logger: delivery.logger, changenow, limits, networkFee }, delivery.message.payoutId);
    },
  }),
);
