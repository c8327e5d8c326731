import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import { type Clock, systemClock } from '../../shared/clock/index.js';
import { type Checkout, openCheckout } from '../../shared/checkout/index.js';
import type { Db } from '../../shared/db/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { createNowPaymentsClient } from '../../shared/nowpayments/index.js';
import { resetServices } from '../../shared/runtime/index.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { insertChannel, insertTier } from '../../shared/testing/fixtures.js';
import { type LocalRuntime, startLocalRuntime } from '../../shared/testing/sandbox/local-runtime.js';
import type { ChangeNowSimulator } from '../../shared/testing/simulators/changenow-simulator.js';
import type { NowPaymentsSimulator } from '../../shared/testing/simulators/nowpayments-simulator.js';
import type { TelegramSimulator } from '../../shared/testing/simulators/telegram-simulator.js';
import { topUpUsdtLikeToken, USDT_LIKE_TOKEN_ABI } from '../../shared/testing/simulators/usdt-token.js';

export interface TestGateway {
  runtime: LocalRuntime;
  testDb: TestDatabase;
  telegram: TelegramSimulator;
  nowpayments: NowPaymentsSimulator;
  logLines: string[];
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The whole gateway as `npm start` runs it (every function, the in-process bus, the NowPayments and
 * Telegram simulators), on a throw-away database, delivering every message twice by default.
 * One gateway per test file: functions read their configuration (simulator URLs) when first loaded.
 * `clock` (default the system clock) is what every function reads time from. `wrapDb` gives the
 * functions a wrapper of the database instead of the database itself (a benchmark counting their
 * statements); `testDb` stays the unwrapped database.
 */
export interface TestGatewayOptions {
  deliverTwice?: boolean | 'after-ack' | 'concurrently';
  clock?: Clock;
  wrapDb?: (db: Db) => Db;
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const testDb = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'pgp-e2e-'));
  const logLines: string[] = [];
  for (const name of ['NOWPAYMENTS_API_URL', 'TELEGRAM_BOT_TOKEN', 'PUBLIC_BASE_URL', 'ETH_RPC_URL', 'CHANGENOW_API_URL']) delete process.env[name];
  process.env.PLATFORM_FEE_BPS = '300';
  const runtime = await startLocalRuntime({
    port: 0,
    dataDir,
    db: options.wrapDb ? options.wrapDb(testDb.db) : testDb.db,
    deliverTwice: options.deliverTwice ?? true,
    clock: options.clock,
    backoffScale: 0,
    runScheduler: false,
    logger: createLogger({ write: (line) => logLines.push(line) }),
  });
  return gatewayOf(runtime, testDb, logLines, async () => {
    await runtime.stop();
    await testDb.dispose();
    await rm(dataDir, { recursive: true, force: true });
    resetServices();
  });
}

/** A started runtime seen as a test gateway: its simulators, and `settle()` = nothing left in flight. */
export function gatewayOf(runtime: LocalRuntime, testDb: TestDatabase, logLines: string[], stop: () => Promise<void>): TestGateway {
  const { telegram, nowpayments } = runtime.simulators;
  if (!telegram || !nowpayments) throw new Error('the runtime did not start the Telegram and NowPayments simulators');
  return {
    runtime,
    testDb,
    telegram,
    nowpayments,
    logLines,
    settle: async () => {
      await runtime.bus?.drain();
      await telegram.flush();
      await runtime.bus?.drain();
    },
    stop,
  };
}

export interface PayoutGateway {
  gateway: TestGateway;
  /** On the gateway's anvil; no network-cache, so balances read after a transaction are current. */
  provider: JsonRpcProvider;
  /** The hot wallet's address (anvil account 0). */
  hotWallet: string;
  /** The USDT-like token on anvil. */
  token: Contract;
  changenow: ChangeNowSimulator;
  stop(): Promise<void>;
}

/**
 * A test gateway for payout tests: the outflow limits set before the functions load (they read them
 * then), a provider on its anvil, and `exchangeUsdtUnits` of USDT for the simulated exchange, which
 * pays out from its operator account (anvil account 9). `gateway` is passed to `startTestGateway`.
 */
export async function startPayoutGateway(options: { maxUsdCents: string; dailyCapUsdCents: string; exchangeUsdtUnits: bigint; gateway?: TestGatewayOptions }): Promise<PayoutGateway> {
  process.env.PAYOUT_MAX_USD_CENTS = options.maxUsdCents;
  process.env.PAYOUT_DAILY_CAP_USD_CENTS = options.dailyCapUsdCents;
  const gateway = await startTestGateway(options.gateway);
  const { anvil, changenow } = gateway.runtime.simulators;
  const tokenAddress = process.env.USDT_ERC20_CONTRACT;
  if (!anvil || !changenow || !tokenAddress) throw new Error('the runtime did not start anvil and the ChangeNow simulator');
  const provider = new JsonRpcProvider(anvil.rpcUrl, anvil.chainId, { staticNetwork: true, cacheTimeout: -1 });
  const token = new Contract(tokenAddress, USDT_LIKE_TOKEN_ABI, new Wallet(anvil.accounts[0]?.privateKey ?? '', provider));
  // The exchange's account deployed the token and is its minter.
  const exchangeAccount = anvil.accounts[9];
  await topUpUsdtLikeToken(anvil.rpcUrl, tokenAddress, exchangeAccount?.privateKey ?? '', exchangeAccount?.address ?? '', options.exchangeUsdtUnits);
  return {
    gateway,
    provider,
    hotWallet: anvil.accounts[0]?.address ?? '',
    token,
    changenow,
    stop: async () => {
      provider.destroy();
      await gateway.stop();
      delete process.env.PAYOUT_MAX_USD_CENTS;
      delete process.env.PAYOUT_DAILY_CAP_USD_CENTS;
    },
  };
}

let nextUserId = 7_000_000_000;

export interface SeededChannel {
  channelId: string;
  ownerAccountId: string;
  closedChatId: number;
  ownerTelegramId: number;
  tierPriceCents: bigint;
  tierDays: number;
}

/** An active channel with one tier, its closed chat in the Telegram simulator with the bot as admin, and owner notifications on. */
export async function seedChannel(gateway: TestGateway, options: { strategy?: 'instant' | 'threshold'; priceCents?: bigint; days?: number; toleranceBps?: number } = {}): Promise<SeededChannel> {
  const db = gateway.testDb.db;
  const channel = await insertChannel(db, { payoutStrategy: options.strategy ?? 'instant', underpaymentToleranceBps: options.toleranceBps });
  const tier = await insertTier(db, { channelId: channel.id, tierNumber: 1, priceCents: options.priceCents ?? 1999n, durationDays: options.days ?? 30 });
  const ownerTelegramId = nextUserId++;
  gateway.telegram.addUser({ id: ownerTelegramId, first_name: 'Owner', username: `owner${ownerTelegramId}` });
  await db.query(`UPDATE channels SET notifications_enabled = true, notification_chat_id = $2, closed_title = 'Premium <Club>' WHERE id = $1`, [
    channel.id,
    ownerTelegramId,
  ]);
  const closedChatId = Number(channel.closedChatId);
  gateway.telegram.addChat({ id: closedChatId, type: 'channel', title: 'Premium <Club>' });
  gateway.telegram.setBotMembership(closedChatId, 'administrator', { can_invite_users: true, can_restrict_members: true });
  await gateway.telegram.flush(); // the bot learns its rights before the test acts
  return { channelId: channel.id, ownerAccountId: channel.ownerAccountId, closedChatId, ownerTelegramId, tierPriceCents: tier.priceCents, tierDays: tier.durationDays };
}

export function newSubscriber(gateway: TestGateway, options: { username?: string } = {}): { id: number; username: string } {
  const id = nextUserId++;
  const username = options.username ?? `fan${id}`;
  gateway.telegram.addUser({ id, first_name: 'Fan', username });
  return { id, username };
}

/** What the bot does when a subscriber picks tier 1: a checkout with a NowPayments invoice. */
export async function checkoutFor(gateway: TestGateway, channel: SeededChannel, subscriber: { id: number; username: string }): Promise<Checkout & { invoiceId: string }> {
  const checkout = await openCheckout(
    {
      db: gateway.testDb.db,
      clock: systemClock,
      nowpayments: createNowPaymentsClient({ apiUrl: process.env.NOWPAYMENTS_API_URL ?? '', apiKey: process.env.NOWPAYMENTS_API_KEY ?? '' }),
      publicBaseUrl: gateway.runtime.url,
      returnUrl: 'https://t.me/PayGatePrimeSandboxBot',
    },
    { kind: 'subscription', user: { id: BigInt(subscriber.id), username: subscriber.username, firstName: 'Fan' }, channelId: channel.channelId, tierNumber: 1 },
  );
  const { rows } = await gateway.testDb.db.query<{ provider_invoice_id: string }>('SELECT provider_invoice_id FROM checkouts WHERE id = $1', [checkout.id]);
  return { ...checkout, invoiceId: rows[0]?.provider_invoice_id ?? '' };
}
