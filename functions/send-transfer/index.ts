import * as ff from '@google-cloud/functions-framework';
import { consume } from '../../shared/pubsub-entry/index.js';
import { assertHotWalletAddress, createChain, createJsonRpc, createHotWallet } from '../../shared/chain/index.js';
import { configVars, loadConfig } from '../../shared/config/index.js';
import { sendTransfer } from '../../shared/payouts/index.js';
import { loadFieldCipher } from '../../shared/field-crypto/index.js';

loadFieldCipher(); // FIELD_ENCRYPTION_KEYS, FIELD_BLIND_INDEX_KEY: opens the sealed emails/wallets this stage hands on
const config = loadConfig({
  ETH_RPC_URL: configVars.ETH_RPC_URL,
  ETH_CHAIN_ID: configVars.ETH_CHAIN_ID,
  HOST_WALLET_PRIVATE_KEY: configVars.HOST_WALLET_PRIVATE_KEY,
  HOT_WALLET_ADDRESS: configVars.HOT_WALLET_ADDRESS,
  USDT_ERC20_CONTRACT: configVars.USDT_ERC20_CONTRACT,
  MAX_FEE_PER_GAS_GWEI: configVars.MAX_FEE_PER_GAS_GWEI,
});
const chain = createChain(createJsonRpc(config.ETH_RPC_URL));
const wallet = createHotWallet(config.HOST_WALLET_PRIVATE_KEY);
assertHotWalletAddress(wallet, config.HOT_WALLET_ADDRESS); // the refund address create-swap gives ChangeNow
const settings = {
  chainId: BigInt(config.ETH_CHAIN_ID),
  maxFeePerGasCapWei: config.MAX_FEE_PER_GAS_GWEI * 1_000_000_000n,
  tokenContracts: config.USDT_ERC20_CONTRACT ? { USDT_ERC20: config.USDT_ERC20_CONTRACT } : {},
};

/** On transfer-requested: sign and store the payout's one transaction, then broadcast those bytes. */
ff.cloudEvent(
  'send-transfer',
  consume({
    consumer: 'send-transfer',
    topic: 'transfer-requested',
    handle: async (delivery, services) => {
      await sendTransfer({ ...services, logger: delivery.logger, chain, wallet, settings }, delivery.message.payoutId);
    },
  }),
);
