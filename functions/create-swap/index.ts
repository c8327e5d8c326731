import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { createChangeNowClient } from '../../shared/changenow/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { createSwap } from '../../shared/payouts/index.js';
import { loadFieldCipher } from '../../shared/field-crypto/index.js';

loadFieldCipher(); // FIELD_ENCRYPTION_KEYS, FIELD_BLIND_INDEX_KEY: opens the sealed emails/wallets this stage hands on
const config = loadConfig({
  CHANGENOW_API_URL: configVars.CHANGENOW_API_URL,
  CHANGENOW_API_KEY: configVars.CHANGENOW_API_KEY,
  HOT_WALLET_ADDRESS: configVars.HOT_WALLET_ADDRESS,
});
const changenow = createChangeNowClient({ apiUrl: config.CHANGENOW_API_URL, apiKey: config.CHANGENOW_API_KEY });

/** On payout-quoted: the payout's one ChangeNow exchange, refunds to the hot wallet. */
ff.cloudEvent(
  'create-swap',
  consume({
    consumer: 'create-swap',
    topic: 'payout-quoted',
    handle: async (delivery, services) => {
      await createSwap({ ...services, logger: delivery.logger, changenow, refundAddress: config.HOT_WALLET_ADDRESS }, delivery.message.payoutId);
    },
  }),
);
