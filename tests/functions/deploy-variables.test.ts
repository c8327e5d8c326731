import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../../shared/bus/topology.js';
import { configVars } from '../../shared/config/index.js';
import { platformEnv, readDeploySettings } from '../../shared/deploy/index.js';
import { createMemoryKeyValueStore } from '../../shared/kv/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { assertServicesConfigured, provideServices, resetServices } from '../../shared/runtime/index.js';
import { createFakeClock } from '../../shared/testing/fakes/clock.js';
import { discoverFunctions } from '../../shared/deploy/function-folders.js';
import { loadFunction } from '../../shared/testing/sandbox/function-host.js';
import { TEST_FIELD_KEY_ENV } from '../../shared/testing/field-keys.js';

/**
 * Each function's variables are declared once, in its code (`loadConfig`, directly or through a
 * shared loader such as `loadBotApi`); its deploy.yaml must list exactly those. Found by loading the
 * function with an environment that records which variables are read.
 */

/** A complete, valid configuration, so that every function loads (nothing here reaches a provider). */
const VALID_ENV: Record<string, string> = {
  NOWPAYMENTS_API_URL: 'http://127.0.0.1:9/v1',
  NOWPAYMENTS_API_KEY: 'deploy-variables-nowpayments-key',
  NOWPAYMENTS_IPN_SECRET: 'deploy-variables-ipn-secret',
  TELEGRAM_BOT_TOKEN: '123456789:AAdeploy-variables-token-abcdefghijklmn',
  TELEGRAM_BOT_USERNAME: 'PayGatePrimeTestBot',
  TELEGRAM_WEBHOOK_SECRET: 'e22fe6d255a00b26c45216b0c3ee2da4bd440d8649c2d790382957493d987421',
  PLATFORM_FEE_BPS: '300',
  PUBLIC_BASE_URL: 'http://localhost:8080',
  CHANGENOW_API_URL: 'http://127.0.0.1:9/v2',
  CHANGENOW_API_KEY: 'deploy-variables-changenow-key',
  ETH_RPC_URL: 'http://127.0.0.1:9',
  ETH_CHAIN_ID: '31337',
  // anvil's well-known account 0: public test key, never funded outside a local chain.
  HOST_WALLET_PRIVATE_KEY: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  HOT_WALLET_ADDRESS: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  PAYOUT_MAX_USD_CENTS: '100000',
  PAYOUT_DAILY_CAP_USD_CENTS: '1000000',
  JWT_SECRET: 'iQnu/4klVj9Z9A5tYbXp6qumoIqGet8jSNtZ+71L+pY=',
  OWNER_WEBHOOK_SIGNING_KEY: 'Xk2b7QmR0vT9yL4cW1pN8dF6hJ3sA5gZ0eU2iO7rK9M=',
  ...TEST_FIELD_KEY_ENV,
  SMTP_URL: 'smtp://127.0.0.1:9',
  MAIL_FROM: 'PayGatePrime <no-reply@example.com>',
};

/** Set by the platform, not by deploy.yaml: the plan's own variables, and Cloud Run's K_SERVICE. */
const SET_BY_THE_PLATFORM = new Set([...Object.keys(platformEnv('p')), 'K_SERVICE']);
/**
 * Read, but production wants the default and deploys no value: the Bot API root (a local Bot API
 * server or the simulators replace it; deploy.env.yaml may still set it for every function).
 */
const DEFAULT_IN_PRODUCTION = new Set(['TELEGRAM_API_ROOT']);
const KNOWN = new Set([...Object.keys(configVars), 'K_SERVICE']);

/** Runs `work` with process.env replaced by VALID_ENV, returning the configuration variables read. */
async function variablesReadBy(work: () => Promise<void> | void): Promise<string[]> {
  const read = new Set<string>();
  const env = new Proxy({ ...VALID_ENV } as NodeJS.ProcessEnv, {
    get(target, key) {
      if (typeof key === 'string' && KNOWN.has(key)) read.add(key);
      return Reflect.get(target, key);
    },
  });
  const original = process.env;
  process.env = env;
  try {
    await work();
  } finally {
    process.env = original;
  }
  return [...read].sort();
}

describe('deploy.yaml lists exactly the variables each function reads', () => {
  let servicesVariables: string[];
  beforeAll(async () => {
    resetServices();
    // Every function runs on the shared services (consume, deadLetterSink, getServices).
    servicesVariables = await variablesReadBy(() => assertServicesConfigured());
    // Loading a function must not open a database or a Pub/Sub client.
    provideServices({
      db: undefined as never,
      kv: createMemoryKeyValueStore(),
      publisher: { publish: async () => 'not-published' },
      logger: createLogger({ write: () => undefined }),
      clock: createFakeClock('2026-01-01T00:00:00Z'),
      projectId: 'p',
    });
  });
  afterAll(() => resetServices());

  it('reads DATABASE_URL for the shared services', () => {
    expect(servicesVariables).toContain('DATABASE_URL');
  });

  it.each(discoverFunctions())('functions/%s', async (name) => {
    const read = await variablesReadBy(() => loadFunction(name));
    const settings = readDeploySettings(repositoryRoot(), name);
    const needed = [...new Set([...servicesVariables, ...read])].filter((variable) => !SET_BY_THE_PLATFORM.has(variable) && !DEFAULT_IN_PRODUCTION.has(variable));
    expect([...settings.secrets, ...settings.env].sort()).toEqual(needed.sort());
  });
});
