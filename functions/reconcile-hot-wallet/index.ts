import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { createJsonRpc } from '../../shared/chain/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { createHotWalletChain, reconcileHotWallet } from '../../shared/hot-wallet/index.js';

const config = loadConfig({
  ETH_RPC_URL: configVars.ETH_RPC_URL,
  ETH_CHAIN_ID: configVars.ETH_CHAIN_ID,
  HOT_WALLET_ADDRESS: configVars.HOT_WALLET_ADDRESS,
  USDT_ERC20_CONTRACT: configVars.USDT_ERC20_CONTRACT,
});
// Read-only: the address, never the key.
const chain = createHotWalletChain(createJsonRpc(config.ETH_RPC_URL));
const target = {
  chainId: BigInt(config.ETH_CHAIN_ID),
  address: config.HOT_WALLET_ADDRESS,
  tokenContracts: config.USDT_ERC20_CONTRACT ? { USDT_ERC20: config.USDT_ERC20_CONTRACT } : {},
};

/** Scheduled every 15 minutes: the hot wallet's balances on chain against the ledger, per asset; drift is alerted. */
ff.cloudEvent(
  'reconcile-hot-wallet',
  consume({
    consumer: 'reconcile-hot-wallet',
    topic: 'hot-wallet-reconciliation-requested',
    maxAgeSeconds: 900,
    isTickOnce: true,
    handle: async (delivery, services) => {
      await reconcileHotWallet({ ...services, logger: delivery.logger, chain, target });
    },
  }),
);
