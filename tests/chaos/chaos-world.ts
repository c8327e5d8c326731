import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import type { Clock } from '../../shared/clock/index.js';
import { bookCapital } from '../../shared/hot-wallet/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { resetServices } from '../../shared/runtime/index.js';
import { type Anvil, startAnvil } from '../../shared/testing/simulators/anvil.js';
import { type ChangeNowSimulator, startChangeNowSimulator } from '../../shared/testing/simulators/changenow-simulator.js';
import { createTestDatabase, type TestDatabase } from '../../shared/testing/database.js';
import { type FaultProxy, type ProxyFault, type ProxiedRequest, startFaultProxy } from '../../shared/testing/simulators/fault-proxy.js';
import type { BusFaults } from '../../shared/testing/fakes/in-process-bus.js';
import { type LocalRuntime, startLocalRuntime } from '../../shared/testing/sandbox/local-runtime.js';
import { type HotWalletHoldings, readHotWalletHoldings } from '../../shared/testing/money-path-invariants.js';
import { NOWPAYMENTS_PAYER_ACCOUNT } from '../../shared/testing/sandbox/sandbox-providers.js';
import { deployUsdtLikeToken, USDT_LIKE_TOKEN_ABI } from '../../shared/testing/simulators/usdt-token.js';
import { gatewayOf, type TestGateway } from '../e2e/gateway-harness.js';

const CHANGENOW_API_KEY = 'chaos-changenow-api-key';

/** A clock that runs with real time plus an offset the chaos driver moves forward (sweeps fire). */
export interface JumpingClock extends Clock {
  jump(ms: number): void;
}

export function createJumpingClock(): JumpingClock {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    jump: (ms) => {
      offsetMs += ms;
    },
  };
}

export interface ChaosFaultSwitches {
  decideChangeNow(request: ProxiedRequest): ProxyFault;
  decideRpc(request: ProxiedRequest): ProxyFault;
  bus: BusFaults;
}

export interface ChaosWorld {
  gateway: TestGateway;
  runtime: LocalRuntime;
  clock: JumpingClock;
  anvil: Anvil;
  /** Direct to anvil, for the driver and the invariants (never through the fault proxy). */
  provider: JsonRpcProvider;
  token: Contract;
  hotWallet: string;
  /** What the hot wallet held on chain and in the ledger when the payments began (its float is booked as capital). */
  hotWalletBefore: HotWalletHoldings;
  changenow: ChangeNowSimulator;
  changenowProxy: FaultProxy;
  rpcProxy: FaultProxy;
  logLines: string[];
  stop(): Promise<void>;
}

/**
 * The gateway as `npm start` runs it (every function, the in-process bus, the simulators) with the
 * providers behind fault proxies: anvil with automine off (the driver mines, and drops hot-wallet
 * transactions from the mempool), and the ChangeNow simulator paying out on it.
 */
export async function startChaosWorld(faults: ChaosFaultSwitches): Promise<ChaosWorld> {
  const testDb: TestDatabase = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'pgp-chaos-'));
  const anvil = await startAnvil();
  const hotWallet = anvil.accounts[0];
  const operator = anvil.accounts[9];
  const payer = anvil.accounts[NOWPAYMENTS_PAYER_ACCOUNT];
  if (!hotWallet || !operator || !payer) throw new Error('anvil has fewer than ten accounts');
  // The exchange's account deploys the token and mints its own USDT, as in the sandbox: the hot wallet keeps its genesis float untouched.
  const { address: tokenAddress } = await deployUsdtLikeToken(anvil.rpcUrl, operator.privateKey);
  const provider = new JsonRpcProvider(anvil.rpcUrl, anvil.chainId, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
  const token = new Contract(tokenAddress, USDT_LIKE_TOKEN_ABI, new Wallet(operator.privateKey, provider));
  await (await token.getFunction('mint')(operator.address, 10n ** 15n)).wait();
  const changenow = await startChangeNowSimulator({ apiKey: CHANGENOW_API_KEY, rpcUrl: anvil.rpcUrl, operatorKey: operator.privateKey, tokens: { usdt: tokenAddress } });
  const changenowProxy = await startFaultProxy({ target: changenow.url, decide: faults.decideChangeNow });
  const rpcProxy = await startFaultProxy({ target: anvil.rpcUrl, decide: faults.decideRpc });
  await provider.send('evm_setAutomine', [false]);

  for (const name of ['NOWPAYMENTS_API_URL', 'TELEGRAM_BOT_TOKEN', 'PUBLIC_BASE_URL']) delete process.env[name];
  Object.assign(process.env, {
    PLATFORM_FEE_BPS: '300',
    ETH_RPC_URL: rpcProxy.url,
    ETH_CHAIN_ID: String(anvil.chainId),
    HOST_WALLET_PRIVATE_KEY: hotWallet.privateKey,
    HOT_WALLET_ADDRESS: hotWallet.address,
    USDT_ERC20_CONTRACT: tokenAddress,
    CHANGENOW_API_URL: `${changenowProxy.url}/v2`,
    CHANGENOW_API_KEY,
    PAYOUT_MAX_USD_CENTS: '1000000',
    PAYOUT_DAILY_CAP_USD_CENTS: '1000000000',
    CONVERSION_MIN_BATCH_USD_CENTS: '2000',
  });
  const clock = createJumpingClock();
  const logLines: string[] = [];
  const runtime = await startLocalRuntime({
    port: 0,
    dataDir,
    db: testDb.db,
    clock,
    backoffScale: 0.005,
    busFaults: faults.bus,
    runScheduler: false,
    logger: createLogger({ write: (line) => logLines.push(line) }),
    // NowPayments pays each outcome into the hot wallet from its own node connection, never through the fault proxy.
    nowpaymentsChain: { rpcUrl: anvil.rpcUrl, payerPrivateKey: payer.privateKey, outcomeWallet: hotWallet.address, usdtContract: tokenAddress },
  });
  const gateway = gatewayOf(runtime, testDb, logLines, async () => undefined);
  // The float booked as capital, so reconcile-hot-wallet finds the wallet matched all through the run.
  await bookCapital(testDb.db, {
    asset: 'ETH',
    units: await provider.getBalance(hotWallet.address),
    direction: 'in',
    operator: 'chaos',
    note: 'anvil genesis funds of the hot wallet',
    key: 'chaos-float',
    at: clock.now(),
  });
  const hotWalletBefore = await readHotWalletHoldings(testDb.db, provider, hotWallet.address, tokenAddress);
  return {
    gateway,
    runtime,
    clock,
    anvil,
    provider,
    token,
    hotWallet: hotWallet.address,
    hotWalletBefore,
    changenow,
    changenowProxy,
    rpcProxy,
    logLines,
    stop: async () => {
      await runtime.stop();
      await changenowProxy.close();
      await rpcProxy.close();
      await changenow.close();
      provider.destroy();
      await anvil.stop();
      await testDb.dispose();
      await rm(dataDir, { recursive: true, force: true });
      resetServices();
      for (const name of ['ETH_RPC_URL', 'ETH_CHAIN_ID', 'HOST_WALLET_PRIVATE_KEY', 'HOT_WALLET_ADDRESS', 'USDT_ERC20_CONTRACT', 'CHANGENOW_API_URL', 'CHANGENOW_API_KEY', 'CONVERSION_MIN_BATCH_USD_CENTS']) {
        delete process.env[name];
      }
    },
  };
}
