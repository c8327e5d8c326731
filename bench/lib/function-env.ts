/** The configuration benches give the built functions they start (bench/cold-start.ts, bench/function-memory.ts). */
import { randomBytes } from 'node:crypto';
import { Wallet } from 'ethers';

/**
 * Every variable any function reads at cold start (shared/config's configVars), with values that
 * pass validation and point nowhere: providers at a closed port on localhost, so a function that
 * called one during the probe would fail fast rather than reach the network.
 */
export function coldStartEnv(databaseUrl: string, closedPort: number): Record<string, string> {
  const nowhere = `http://127.0.0.1:${closedPort}`;
  const wallet = Wallet.createRandom();
  return {
    DATABASE_URL: databaseUrl,
    GOOGLE_CLOUD_PROJECT: 'demo-paygateprime',
    NOWPAYMENTS_API_URL: `${nowhere}/nowpayments/v1`,
    NOWPAYMENTS_API_KEY: 'bench-nowpayments-key',
    NOWPAYMENTS_IPN_SECRET: randomBytes(32).toString('hex'),
    CHANGENOW_API_URL: `${nowhere}/changenow/v2`,
    CHANGENOW_API_KEY: 'bench-changenow-key',
    TELEGRAM_BOT_TOKEN: `123456789:${randomBytes(24).toString('base64url')}`,
    TELEGRAM_API_ROOT: `${nowhere}/telegram`,
    TELEGRAM_WEBHOOK_SECRET: randomBytes(32).toString('hex'),
    TELEGRAM_BOT_USERNAME: 'PayGatePrimeBenchBot',
    ETH_RPC_URL: `${nowhere}/rpc`,
    ETH_CHAIN_ID: '31337',
    HOST_WALLET_PRIVATE_KEY: wallet.privateKey,
    HOT_WALLET_ADDRESS: wallet.address,
    USDT_ERC20_CONTRACT: Wallet.createRandom().address,
    PAYOUT_MAX_USD_CENTS: '100000',
    PAYOUT_DAILY_CAP_USD_CENTS: '1000000',
    PLATFORM_FEE_BPS: '300',
    JWT_SECRET: randomBytes(32).toString('base64'),
    // Random per run, like JWT_SECRET: the functions that open sealed emails and wallets need them.
    FIELD_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    FIELD_BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
    OWNER_WEBHOOK_SIGNING_KEY: randomBytes(32).toString('base64'),
    PUBLIC_BASE_URL: nowhere,
    DASHBOARD_CORS_ORIGINS: 'http://localhost:5173',
    SMTP_URL: `smtp://bench:bench@127.0.0.1:${closedPort}`,
    MAIL_FROM: 'PayGatePrime <no-reply@example.com>',
  };
}
