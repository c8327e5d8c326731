import type { Logger } from '../../logging/index.js';
import { type Anvil, startAnvil } from '../simulators/anvil.js';
import { type ChangeNowSimulator, startChangeNowSimulator } from '../simulators/changenow-simulator.js';
import { type NowPaymentsSimulator, startNowPaymentsSimulator } from '../simulators/nowpayments-simulator.js';
import type { NowPaymentsChainSettlement } from '../simulators/nowpayments-simulator-chain.js';
import { readChainRecord, type RememberedPorts, reusablePort, type SandboxStatePaths, writeChainRecord } from './sandbox-state.js';
import { startTelegramSimulator, type TelegramSimulator } from '../simulators/telegram-simulator.js';
import { deployUsdtLikeToken, topUpUsdtLikeToken } from '../simulators/usdt-token.js';

export interface Simulators {
  nowpayments?: NowPaymentsSimulator;
  telegram?: TelegramSimulator;
  /** The local chain, with the hot wallet = account 0 and a USDT-like token deployed from it. */
  anvil?: Anvil;
  changenow?: ChangeNowSimulator;
}

/** Where the simulators keep their state and which ports they had; absent = memory only, any free port. */
export interface ProviderPersistence {
  paths: SandboxStatePaths;
  ports: RememberedPorts;
  logger: Logger;
}

export interface ProviderOptions {
  /** The NowPayments simulator pays each outcome into the hot wallet on the local chain it starts (both simulated). Default false. */
  isNowPaymentsOnChain?: boolean;
  /** The NowPayments simulator pays outcomes on this chain instead (a caller that runs its own, like the chaos world). */
  nowpaymentsChain?: NowPaymentsChainSettlement;
}

// Fixed sandbox credentials: they only open the local simulators.
const SANDBOX_NOWPAYMENTS_API_KEY = 'sandbox-nowpayments-api-key';
const SANDBOX_CHANGENOW_API_KEY = 'sandbox-changenow-api-key';
const SANDBOX_IPN_SECRET = 'sandbox-nowpayments-ipn-secret';
/** USDT the simulated exchange of `npm start` holds to pay swaps out with (1 000 000 000, 6 decimals), minted by itself. */
const SANDBOX_EXCHANGE_USDT_FLOAT = 10n ** 15n;
const SANDBOX_IPN_RETRY_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000];
/** anvil funds each of its default accounts with 10 000 ETH at genesis: the sandbox hot wallet's float, booked as capital. */
export const SANDBOX_HOT_WALLET_FLOAT_WEI = 10_000n * 10n ** 18n;
/** Pays NowPayments' outcomes into the hot wallet: anvil account 8, which nothing else uses (0 hot wallet, 1–2 demo owners, 9 the exchange). */
export const NOWPAYMENTS_PAYER_ACCOUNT = 8;
// Published in this file, so they protect nothing: fixed only so a restart keeps sessions and the
// simulator's webhook working. They have the shape configuration requires (32 random bytes, hex or
// base64), so the sandbox runs the same validation as production.
export const SANDBOX_WEBHOOK_SECRET = 'f3edf20db9809d7bcb330747f3d897bab9a7fe9f4a0508d697bd882eda057154';
const SANDBOX_JWT_SECRET = 'gjU8NfTIPWhECGW1hgtrDdDvs4RStu/DryOVhs8KomY=';
const SANDBOX_OWNER_WEBHOOK_SIGNING_KEY = 'q3Xw0d7mJ7cW3tq3p1jv5Rj0uQ8g9cX4Ff1b2Lk8sYo=';
/** Sandbox-only field keys (kid `sandbox`): public, so a sandbox database is never a secret; .env may set real ones. */
const SANDBOX_FIELD_ENCRYPTION_KEYS = 'sandbox:208HgNsmZIb66CM9dg/DPwQHLjTDvfw0rJ4f0QaG6t4=';
const SANDBOX_FIELD_BLIND_INDEX_KEY = 'ezDd+PKZzNxhVBlNpQdCg0DsC+UreXy4kl2djAgZ+K0=';

/** The simulated operator whose private chat with the bot is OPERATOR_ALERT_CHAT_ID when Telegram is simulated. */
export const SANDBOX_OPERATOR_TELEGRAM_ID = 999;

/** The ports the simulators listen on now, to be remembered for the next start. */
export function simulatorPorts(simulators: Simulators): RememberedPorts {
  const portOf = (url: string | undefined) => (url === undefined ? undefined : Number.parseInt(new URL(url).port, 10));
  return {
    nowpayments: portOf(simulators.nowpayments?.url),
    telegram: portOf(simulators.telegram?.apiRoot),
    changenow: portOf(simulators.changenow?.url),
    anvil: portOf(simulators.anvil?.rpcUrl),
  };
}

/**
 * The USDT-like token on this chain: deployed once per data folder, its address kept in
 * `chain.json` and reused while the chain that holds it is kept. A redeploy would get a new address
 * (the deployer's nonce has moved on), and everything that knew the old one would be wrong.
 */
async function usdtToken(anvil: Anvil, exchange: { address: string; privateKey: string }, persistence: ProviderPersistence | undefined): Promise<string> {
  const recorded = persistence ? readChainRecord(persistence.paths.chain) : undefined;
  if (recorded && anvil.isResumed) {
    const response = await fetch(anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getCode', params: [recorded.usdtContract, 'latest'] }),
    });
    const code = ((await response.json()) as { result?: string }).result;
    if (code !== undefined && code !== '0x') {
      // A folder from before the exchange minted its float: its token's minter is the hot wallet, whose nonces are the gateway's.
      await topUpUsdtLikeToken(anvil.rpcUrl, recorded.usdtContract, exchange.privateKey, exchange.address, SANDBOX_EXCHANGE_USDT_FLOAT / 2n).catch(() => {
        persistence?.logger.warn('runtime.exchange_usdt_missing', { usdtContract: recorded.usdtContract, detail: 'the simulated exchange holds no USDT and cannot mint it on this kept chain: swaps into USDT will not finish; start with --reset' });
      });
      return recorded.usdtContract;
    }
    persistence?.logger.warn('runtime.usdt_token_missing', { usdtContract: recorded.usdtContract, detail: 'the kept chain has no code at the recorded address; deploying a new token' });
  }
  const { address } = await deployUsdtLikeToken(anvil.rpcUrl, exchange.privateKey);
  // Tests without a data folder give the exchange exactly what their story needs (startPayoutGateway).
  if (persistence) await topUpUsdtLikeToken(anvil.rpcUrl, address, exchange.privateKey, exchange.address, SANDBOX_EXCHANGE_USDT_FLOAT);
  if (persistence) writeChainRecord(persistence.paths.chain, { usdtContract: address });
  return address;
}

/**
 * Points every provider whose variables are unset at a local simulator, and fills the sandbox
 * defaults (platform fee, public URL). Configured providers are left alone: that is how a provider
 * is swapped for the real one. With `persistence`, each simulator and the chain keep their state in
 * the data folder and take their previous port when it is free.
 */
export async function startMissingProviders(env: NodeJS.ProcessEnv, hostUrl: string, persistence?: ProviderPersistence, options: ProviderOptions = {}): Promise<Simulators> {
  const simulators: Simulators = {};
  try {
    await startInto(simulators, env, hostUrl, persistence, options);
  } catch (error) {
    // One that fails (an unreadable state file, say) must not leave the others running.
    await stopSimulators(simulators);
    throw error;
  }
  return simulators;
}

/** Stops every simulator in `simulators`; anvil last, as the ChangeNow simulator reads its chain. */
export async function stopSimulators(simulators: Simulators): Promise<void> {
  await simulators.nowpayments?.close();
  await simulators.telegram?.close();
  await simulators.changenow?.close();
  await simulators.anvil?.stop();
}

async function startInto(simulators: Simulators, env: NodeJS.ProcessEnv, hostUrl: string, persistence: ProviderPersistence | undefined, options: ProviderOptions): Promise<void> {
  const portFor = (name: keyof RememberedPorts) => reusablePort(persistence?.ports[name]);
  env.PUBLIC_BASE_URL ||= hostUrl;
  env.PLATFORM_FEE_BPS ||= '300';
  env.PAYOUT_MAX_USD_CENTS ||= '100000';
  env.PAYOUT_DAILY_CAP_USD_CENTS ||= '1000000';
  env.JWT_SECRET ||= SANDBOX_JWT_SECRET;
  env.OWNER_WEBHOOK_SIGNING_KEY ||= SANDBOX_OWNER_WEBHOOK_SIGNING_KEY;
  env.FIELD_ENCRYPTION_KEYS ||= SANDBOX_FIELD_ENCRYPTION_KEYS;
  env.FIELD_BLIND_INDEX_KEY ||= SANDBOX_FIELD_BLIND_INDEX_KEY;
  env.DASHBOARD_CORS_ORIGINS ||= `${hostUrl},http://localhost:5173`;
  if (!env.TELEGRAM_BOT_TOKEN) {
    simulators.telegram = await startTelegramSimulator({ port: await portFor('telegram'), stateFile: persistence?.paths.telegram });
    env.TELEGRAM_BOT_TOKEN = simulators.telegram.token;
    env.TELEGRAM_API_ROOT = simulators.telegram.apiRoot;
    env.TELEGRAM_BOT_USERNAME = simulators.telegram.botInfo.username;
    env.TELEGRAM_WEBHOOK_SECRET = SANDBOX_WEBHOOK_SECRET;
    // Operator alerts (notify-operator) go to a simulated operator's private chat with the bot.
    if (!simulators.telegram.hasUser(SANDBOX_OPERATOR_TELEGRAM_ID)) simulators.telegram.addUser({ id: SANDBOX_OPERATOR_TELEGRAM_ID, first_name: 'Operator', username: 'sandbox_operator', language_code: 'en' });
    env.OPERATOR_ALERT_CHAT_ID ||= String(SANDBOX_OPERATOR_TELEGRAM_ID);
  }
  if (!env.ETH_RPC_URL) {
    // The hot wallet is anvil account 0 (10 000 ETH). The exchange's account (9) deploys the token and
    // mints itself the USDT it pays swaps out with, so setting up the chain never spends a hot-wallet
    // nonce (the gateway counts those) and swaps into USDT can finish.
    simulators.anvil = await startAnvil({ port: await portFor('anvil'), stateFile: persistence?.paths.anvil, logger: persistence?.logger });
    const hotWallet = simulators.anvil.accounts[0];
    const operator = simulators.anvil.accounts[9];
    if (!hotWallet || !operator) throw new Error('anvil has fewer than ten accounts');
    const usdtContract = await usdtToken(simulators.anvil, operator, persistence);
    env.ETH_RPC_URL = simulators.anvil.rpcUrl;
    env.ETH_CHAIN_ID = String(simulators.anvil.chainId);
    env.HOST_WALLET_PRIVATE_KEY = hotWallet.privateKey;
    env.HOT_WALLET_ADDRESS = hotWallet.address;
    env.USDT_ERC20_CONTRACT = usdtContract;
    if (!env.CHANGENOW_API_URL) {
      simulators.changenow = await startChangeNowSimulator({
        apiKey: SANDBOX_CHANGENOW_API_KEY,
        port: await portFor('changenow'),
        rpcUrl: simulators.anvil.rpcUrl,
        operatorKey: operator.privateKey,
        tokens: { usdt: usdtContract },
        stateFile: persistence?.paths.changenow,
        logger: persistence?.logger,
      });
    }
  }
  if (!env.NOWPAYMENTS_API_URL) {
    const anvil = simulators.anvil;
    const payer = anvil?.accounts[NOWPAYMENTS_PAYER_ACCOUNT];
    const localChain =
      options.isNowPaymentsOnChain && anvil && payer && env.HOT_WALLET_ADDRESS
        ? { rpcUrl: anvil.rpcUrl, payerPrivateKey: payer.privateKey, outcomeWallet: env.HOT_WALLET_ADDRESS, usdtContract: env.USDT_ERC20_CONTRACT }
        : undefined;
    const chain = options.nowpaymentsChain ?? localChain;
    simulators.nowpayments = await startNowPaymentsSimulator({
      apiKey: SANDBOX_NOWPAYMENTS_API_KEY,
      ipnSecret: SANDBOX_IPN_SECRET,
      port: await portFor('nowpayments'),
      stateFile: persistence?.paths.nowpayments,
      // A kept sandbox behaves like the real service across our restarts: unanswered IPNs are sent again.
      ...(persistence && { ipnRetryDelaysMs: SANDBOX_IPN_RETRY_DELAYS_MS }),
      // As NowPayments pays the merchant's outcome wallet: the hot wallet grows with every payment.
      ...(chain && { chain }),
    });
    env.NOWPAYMENTS_API_URL = simulators.nowpayments.apiUrl;
    env.NOWPAYMENTS_API_KEY = SANDBOX_NOWPAYMENTS_API_KEY;
    env.NOWPAYMENTS_IPN_SECRET = SANDBOX_IPN_SECRET;
  }
  if (!env.CHANGENOW_API_URL && !simulators.changenow) {
    simulators.changenow = await startChangeNowSimulator({ apiKey: SANDBOX_CHANGENOW_API_KEY, port: await portFor('changenow'), stateFile: persistence?.paths.changenow });
  }
  if (simulators.changenow) {
    env.CHANGENOW_API_URL = simulators.changenow.apiUrl;
    env.CHANGENOW_API_KEY = SANDBOX_CHANGENOW_API_KEY;
  }
}
