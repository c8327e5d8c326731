import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bigintVar, booleanVar, centsVar, ConfigError, configVars, integerVar, loadConfig } from './index.js';

type VarName = keyof typeof configVars;

/** The value loadConfig returns for one standard variable, or the ConfigError message. */
function load(name: VarName, value: string | undefined): unknown {
  try {
    return loadConfig({ [name]: configVars[name] }, { [name]: value })[name];
  } catch (error) {
    if (error instanceof ConfigError) return `error: ${error.message.replace(`Invalid configuration: ${name}: `, '')}`;
    throw error;
  }
}

const walletKey = `0x${createHash('sha256').update('config-vars fixture').digest('hex')}`;
const HTTPS_ONLY = 'error: must be an https:// URL (http:// only for localhost or 127.0.0.1)';
// Fixtures made with `openssl rand`: 32 random bytes in each encoding.
const BASE64_32 = 'iQnu/4klVj9Z9A5tYbXp6qumoIqGet8jSNtZ+71L+pY=';
const BASE64URL_32 = 'Vc_Nw498i0I3lSzKHIeJVFwZ4V43u0FRVSn4qCRZGpQ';
const HEX_32 = 'e29f801a91697540bc6744d3d372068d09639da04c7a0a704fac2ce0f0316414';
const JWT_SECRET_ERROR = 'error: must be at least 32 random bytes written as base64, base64url or hex; generate one with `openssl rand -base64 32`';
const WEBHOOK_SECRET_ERROR = 'error: must be at least 32 random bytes written as hex or base64url; generate one with `openssl rand -hex 32`';

const cases: [VarName, string | undefined, unknown][] = [
  ['DATABASE_URL', undefined, undefined],
  ['DATABASE_URL', 'postgres://app:pw@localhost:5432/pgp', 'postgres://app:pw@localhost:5432/pgp'],
  ['DATABASE_URL', 'postgresql://app:pw@/pgp?host=/cloudsql/proj:us-central1:db', 'postgresql://app:pw@/pgp?host=/cloudsql/proj:us-central1:db'],
  ['DATABASE_URL', 'mysql://app@db/x', 'error: must be a postgres:// or postgresql:// URL'],
  ['DB_POOL_MAX', undefined, 5],
  ['DB_POOL_MAX', '50', 50],
  ['DB_POOL_MAX', '0', 'error: must be an integer 1..50'],
  ['DB_POOL_MAX', '5.5', 'error: must be an integer 1..50'],

  ['NOWPAYMENTS_API_URL', 'https://api.nowpayments.io/v1/', 'https://api.nowpayments.io/v1'],
  ['NOWPAYMENTS_API_URL', 'http://localhost:4010/v1', 'http://localhost:4010/v1'],
  ['NOWPAYMENTS_API_URL', 'http://127.0.0.1:4010', 'http://127.0.0.1:4010'],
  ['NOWPAYMENTS_API_URL', 'http://api.nowpayments.io/v1', HTTPS_ONLY],
  ['NOWPAYMENTS_API_URL', 'http://localhost.evil.example/v1', HTTPS_ONLY],
  ['NOWPAYMENTS_API_URL', 'api.nowpayments.io', HTTPS_ONLY],
  ['NOWPAYMENTS_API_URL', undefined, 'error: required'],
  ['NOWPAYMENTS_API_KEY', 'NP-SANDBOX-KEY', 'NP-SANDBOX-KEY'],
  ['NOWPAYMENTS_API_KEY', 'two words', 'error: must not contain whitespace'],
  ['NOWPAYMENTS_IPN_SECRET', 'ipn-sandbox-secret', 'ipn-sandbox-secret'],
  ['NOWPAYMENTS_IPN_ALLOWED_IPS', undefined, []],
  ['NOWPAYMENTS_IPN_ALLOWED_IPS', '52.29.216.31, 18.157.160.115,', ['52.29.216.31', '18.157.160.115']],
  ['NOWPAYMENTS_IPN_ALLOWED_IPS', '149.154.160.0/20,2001:db8::/32,::1', ['149.154.160.0/20', '2001:db8::/32', '::1']],
  [
    'NOWPAYMENTS_IPN_ALLOWED_IPS',
    '1.2.3.4,10.0.0.0/33',
    'error: must be a comma-separated list of IP addresses or CIDR ranges (entry 2 is not one)',
  ],
  ['NOWPAYMENTS_IPN_ALLOWED_IPS', 'example.com', 'error: must be a comma-separated list of IP addresses or CIDR ranges (entry 1 is not one)'],

  ['TRUSTED_PROXY_HOPS', undefined, undefined],
  ['TRUSTED_PROXY_HOPS', '0', 0],
  ['TRUSTED_PROXY_HOPS', '2', 2],
  ['TRUSTED_PROXY_HOPS', '5', 5],
  ['TRUSTED_PROXY_HOPS', '6', 'error: must be an integer 0..5'],
  ['TRUSTED_PROXY_HOPS', '-1', 'error: must be an integer 0..5'],
  ['TRUSTED_PROXY_HOPS', 'two', 'error: must be an integer 0..5'],

  ['CHANGENOW_API_URL', 'https://api.changenow.io/v2', 'https://api.changenow.io/v2'],
  ['CHANGENOW_API_URL', 'http://changenow.io', HTTPS_ONLY],
  ['CHANGENOW_API_KEY', 'cn-sandbox-key', 'cn-sandbox-key'],

  ['TELEGRAM_BOT_TOKEN', '123456:sandbox_Token-1', '123456:sandbox_Token-1'],
  ['TELEGRAM_BOT_TOKEN', 'sandbox-token', 'error: must look like a @BotFather token: digits, a colon, then letters, digits, _ or -'],
  ['TELEGRAM_API_ROOT', undefined, 'https://api.telegram.org'],
  ['TELEGRAM_API_ROOT', 'http://localhost:8081/', 'http://localhost:8081'],
  ['TELEGRAM_API_ROOT', 'http://api.telegram.org', HTTPS_ONLY],
  ['TELEGRAM_WEBHOOK_SECRET', HEX_32, HEX_32],
  ['TELEGRAM_WEBHOOK_SECRET', BASE64URL_32, BASE64URL_32],
  ['TELEGRAM_WEBHOOK_SECRET', 'a', WEBHOOK_SECRET_ERROR],
  ['TELEGRAM_WEBHOOK_SECRET', 'sandbox-telegram-webhook-secret', WEBHOOK_SECRET_ERROR],
  ['TELEGRAM_WEBHOOK_SECRET', HEX_32.slice(0, 62), WEBHOOK_SECRET_ERROR],
  // Telegram refuses + / = in secret_token: standard base64 is not accepted here.
  ['TELEGRAM_WEBHOOK_SECRET', BASE64_32, WEBHOOK_SECRET_ERROR],
  ['TELEGRAM_WEBHOOK_SECRET', 'x'.repeat(257), `${WEBHOOK_SECRET_ERROR} (at most 256 characters), ${WEBHOOK_SECRET_ERROR.slice('error: '.length)}`],
  ['OPERATOR_ALERT_CHAT_ID', undefined, undefined],
  ['OPERATOR_ALERT_CHAT_ID', '123456789', 123456789],
  ['OPERATOR_ALERT_CHAT_ID', '-1001234567890', -1001234567890],
  ['OPERATOR_ALERT_CHAT_ID', '@ops_channel', 'error: must be a Telegram chat id: an integer, negative for groups and channels (-100…)'],
  ['OPERATOR_ALERT_CHAT_ID', '99999999999999999', 'error: must be a Telegram chat id: an integer, negative for groups and channels (-100…)'],
  ['TELEGRAM_BOT_USERNAME', '@PayGatePrimeBot', 'PayGatePrimeBot'],
  ['TELEGRAM_BOT_USERNAME', 'sandbox_bot', 'sandbox_bot'],
  ['TELEGRAM_BOT_USERNAME', 'PayGatePrime', 'error: must be a Telegram bot username (5-32 letters, digits or _, ending in "bot")'],

  ['ETH_RPC_URL', 'https://eth.example/v3/key', 'https://eth.example/v3/key'],
  ['ETH_RPC_URL', 'wss://eth.example/ws', 'wss://eth.example/ws'],
  ['ETH_RPC_URL', 'http://127.0.0.1:8545', 'http://127.0.0.1:8545'],
  ['ETH_RPC_URL', 'http://eth.example', 'error: must be an https:// or wss:// URL (http:// or ws:// only for localhost or 127.0.0.1)'],
  ['ETH_CHAIN_ID', '31337', 31337],
  ['ETH_CHAIN_ID', '0', 'error: must be a positive integer chain id'],
  ['HOST_WALLET_PRIVATE_KEY', walletKey, walletKey],
  ['HOST_WALLET_PRIVATE_KEY', walletKey.slice(2), 'error: must be 0x followed by 64 hex digits'],
  ['HOST_WALLET_PRIVATE_KEY', `0x${'0'.repeat(64)}`, 'error: must be a valid secp256k1 private key'],
  ['HOST_WALLET_PRIVATE_KEY', `0x${'f'.repeat(64)}`, 'error: must be a valid secp256k1 private key'],

  ['MIN_TIER_PRICE_CENTS', undefined, 499n],
  ['MIN_TIER_PRICE_CENTS', '100', 100n],
  ['MIN_TIER_PRICE_CENTS', '0', 'error: must be a whole number of USD cents, 1..10000000'],
  ['MIN_TIER_PRICE_CENTS', '4.99', 'error: must be a whole number of USD cents, 1..10000000'],
  ['MIN_PAYOUT_THRESHOLD_CENTS', undefined, 2000n],
  ['MIN_PAYOUT_THRESHOLD_CENTS', '5000', 5000n],
  ['MIN_PAYOUT_THRESHOLD_CENTS', '-1', 'error: must be a whole number of USD cents, 1..100000000'],

  ['PAYOUT_MAX_USD_CENTS', '100000', 100000n],
  ['PAYOUT_MAX_USD_CENTS', '0', 0n],
  ['PAYOUT_MAX_USD_CENTS', undefined, 'error: required'],
  ['PAYOUT_MAX_USD_CENTS', '1e5', 'error: must be a whole number of USD cents'],
  ['PAYOUT_DAILY_CAP_USD_CENTS', '1000000', 1000000n],
  ['CONVERSION_MIN_BATCH_USD_CENTS', undefined, 5000n],
  ['CONVERSION_MIN_BATCH_USD_CENTS', '0', 'error: must be a whole number of USD cents'],
  ['PAYOUT_MAX_NETWORK_FEE_BPS', undefined, 1000n],
  ['PAYOUT_MAX_NETWORK_FEE_BPS', '10000', 10000n],
  ['PAYOUT_MAX_NETWORK_FEE_BPS', '0', 'error: must be an integer 1..10000'],
  ['MAX_FEE_PER_GAS_GWEI', undefined, 200n],
  ['MAX_FEE_PER_GAS_GWEI', '10001', 'error: must be an integer 1..10000'],
  ['IPN_SIGNATURE_FAILURE_ALERT', undefined, { maxEvents: 20, windowMinutes: 10 }],
  ['IPN_SIGNATURE_FAILURE_ALERT', '5/1', { maxEvents: 5, windowMinutes: 1 }],
  ['IPN_SIGNATURE_FAILURE_ALERT', '5/0', 'error: must be <count>/<minutes>, e.g. 20/10 (more than 20 within 10 minutes)'],
  ['IPN_SIGNATURE_FAILURE_ALERT', '20/10/5', 'error: must be <count>/<minutes>, e.g. 20/10 (more than 20 within 10 minutes)'],
  ['PAYMENT_FAILURE_ALERT', undefined, { maxEvents: 10, windowMinutes: 60 }],
  ['PAYMENT_FAILURE_ALERT', '3/1440', { maxEvents: 3, windowMinutes: 1440 }],
  ['PAYMENT_FAILURE_ALERT', '3/1441', 'error: must be <count>/<minutes>, e.g. 20/10 (more than 20 within 10 minutes)'],
  ['LOGIN_FAILURE_ALERT', undefined, { maxEvents: 20, windowMinutes: 10, minActors: 5 }],
  ['LOGIN_FAILURE_ALERT', '50/15/10', { maxEvents: 50, windowMinutes: 15, minActors: 10 }],
  ['LOGIN_FAILURE_ALERT', '50/15', 'error: must be <count>/<minutes>/<addresses>, e.g. 20/10/5 (more than 20 within 10 minutes for at least 5 addresses)'],
  ['BURST_ALERT_COOL_DOWN_MINUTES', undefined, 60],
  ['BURST_ALERT_COOL_DOWN_MINUTES', '0', 'error: must be an integer 1..10080'],
  ['PLATFORM_FEE_BPS', '0', 0],
  ['PLATFORM_FEE_BPS', '10000', 10000],
  ['PLATFORM_FEE_BPS', undefined, 'error: required'],
  ['PLATFORM_FEE_BPS', '10001', 'error: must be an integer 0..10000'],
  ['PLATFORM_FEE_BPS', '-1', 'error: must be an integer 0..10000'],
  ['PLATFORM_FEE_BPS', '3%', 'error: must be an integer 0..10000'],
  ['JWT_SECRET', BASE64_32, BASE64_32],
  ['JWT_SECRET', BASE64_32.slice(0, -1), BASE64_32.slice(0, -1)],
  ['JWT_SECRET', BASE64URL_32, BASE64URL_32],
  ['JWT_SECRET', HEX_32, HEX_32],
  ['JWT_SECRET', HEX_32.toUpperCase(), HEX_32.toUpperCase()],
  // 32 characters are not 32 bytes: the old rule let these through.
  ['JWT_SECRET', 'j'.repeat(32), JWT_SECRET_ERROR],
  ['JWT_SECRET', 'j'.repeat(64), JWT_SECRET_ERROR],
  ['JWT_SECRET', 'test-jwt-secret-that-is-at-least-32-characters', JWT_SECRET_ERROR],
  ['JWT_SECRET', 'ThisIsMyJwtSecretPlease', JWT_SECRET_ERROR],
  ['JWT_SECRET', HEX_32.slice(0, 62), JWT_SECRET_ERROR],
  ['JWT_SECRET', 'deadbeef'.repeat(8), JWT_SECRET_ERROR],
  ['JWT_SECRET', `${BASE64_32.slice(0, 20)} ${BASE64_32.slice(20)}`, JWT_SECRET_ERROR],
  ['JWT_SECRET', BASE64_32.replace('=', '==='), JWT_SECRET_ERROR],
  ['PUBLIC_BASE_URL', 'https://pay.example.com/', 'https://pay.example.com'],
  ['PUBLIC_BASE_URL', 'http://localhost:8080', 'http://localhost:8080'],
  ['PUBLIC_BASE_URL', 'http://pay.example.com', HTTPS_ONLY],
  ['DASHBOARD_CORS_ORIGINS', undefined, []],
  ['DASHBOARD_CORS_ORIGINS', 'https://dash.example.com, http://localhost:5173,', ['https://dash.example.com', 'http://localhost:5173']],
  ['DASHBOARD_CORS_ORIGINS', 'https://dash.example.com,*', 'error: must be a comma-separated list of origins like https://dashboard.example.com (entry 2 is not one; http:// only for localhost)'],
  ['DASHBOARD_CORS_ORIGINS', 'https://dash.example.com,https://*.example.com', 'error: must be a comma-separated list of origins like https://dashboard.example.com (entry 2 is not one; http:// only for localhost)'],
  ['DASHBOARD_CORS_ORIGINS', 'https://dash.example.com,http://dash.example.com', 'error: must be a comma-separated list of origins like https://dashboard.example.com (entry 2 is not one; http:// only for localhost)'],
  ['DASHBOARD_CORS_ORIGINS', 'https://dash.example.com,https://dash.example.com/app', 'error: must be a comma-separated list of origins like https://dashboard.example.com (entry 2 is not one; http:// only for localhost)'],
  ['DASHBOARD_CORS_ORIGINS', 'https://dash.example.com,https://DASH.example.com', 'error: must be a comma-separated list of origins like https://dashboard.example.com (entry 2 is not one; http:// only for localhost)'],
  ['SMTP_URL', 'smtps://mailer:pw@smtp.example.com:465', 'smtps://mailer:pw@smtp.example.com:465'],
  ['SMTP_URL', 'smtp://127.0.0.1:1025', 'smtp://127.0.0.1:1025'],
  ['SMTP_URL', 'https://smtp.example.com', 'error: must be an smtp:// or smtps:// URL'],
  ['MAIL_FROM', 'PayGatePrime <no-reply@paygateprime.com>', 'PayGatePrime <no-reply@paygateprime.com>'],
  ['MAIL_FROM', 'no-reply@paygateprime.com', 'no-reply@paygateprime.com'],
  ['MAIL_FROM', 'PayGatePrime', 'error: must be an address or "Name <address>"'],

  ['GOOGLE_CLOUD_PROJECT', undefined, undefined],
  ['GOOGLE_CLOUD_PROJECT', 'pgp-live', 'pgp-live'],
  ['GOOGLE_CLOUD_PROJECT', 'PGP_Live', 'error: must be a Google Cloud project id (6-30 lowercase letters, digits or hyphens)'],
  ['PUBSUB_EMULATOR_HOST', 'localhost:8085', 'localhost:8085'],
  ['FIRESTORE_EMULATOR_HOST', '[::1]:8080', '[::1]:8080'],
  ['FIRESTORE_EMULATOR_HOST', 'localhost', 'error: must be host:port with a port 1..65535'],
  ['PUBSUB_EMULATOR_HOST', 'localhost:70000', 'error: must be host:port with a port 1..65535'],
  ['PORT', undefined, 8080],
  ['PORT', '3000', 3000],
  ['PORT', '65536', 'error: must be an integer 1..65535'],
  ['LOG_LEVEL', undefined, undefined],
  ['LOG_LEVEL', 'warning', 'WARNING'],
  ['LOG_LEVEL', 'verbose', 'error: must be one of DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL, ALERT'],
];

describe('configVars', () => {
  for (const [name, value, expected] of cases) {
    it(`${name}=${value === undefined ? '(unset)' : JSON.stringify(value.length > 40 ? `${value.slice(0, 12)}…` : value)} → ${typeof expected === 'bigint' ? `${expected}n` : JSON.stringify(expected)}`, () => {
      expect(load(name, value)).toEqual(expected);
    });
  }

  it('documents every standard variable in .env.example', async () => {
    const { readFile } = await import('node:fs/promises');
    const example = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    const declared = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]));
    expect([...Object.keys(configVars)].filter((name) => !declared.has(name))).toEqual([]);
  });

  it('accepts every example value in .env.example', async () => {
    const { readFile } = await import('node:fs/promises');
    const example = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    const env = Object.fromEntries([...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((match) => [match[1], match[2]]));
    const optionalShape = Object.fromEntries(Object.entries(configVars).map(([name, schema]) => [name, schema.optional()]));
    expect(() => loadConfig(optionalShape, env)).not.toThrow();
  });
});

describe('booleanVar', () => {
  it("accepts only 'true' and 'false'", () => {
    const shape = { FLAG: booleanVar() };
    expect(loadConfig(shape, { FLAG: 'true' }).FLAG).toBe(true);
    expect(loadConfig(shape, { FLAG: 'false\n' }).FLAG).toBe(false);
    for (const bad of ['1', 'yes', 'TRUE']) {
      expect(() => loadConfig(shape, { FLAG: bad })).toThrow("FLAG: must be 'true' or 'false'");
    }
    expect(loadConfig({ FLAG: booleanVar().default(false) }, {}).FLAG).toBe(false);
  });
});

describe('integerVar', () => {
  it('states its range and rejects unsafe integers', () => {
    const shape = { LIMIT: integerVar(1, 100) };
    expect(loadConfig(shape, { LIMIT: '100' }).LIMIT).toBe(100);
    expect(() => loadConfig(shape, { LIMIT: '99999999999999999999' })).toThrow('LIMIT: must be an integer 1..100');
  });
});

describe('bigintVar and centsVar', () => {
  const parse = (schema: ReturnType<typeof bigintVar>, value: string) => {
    const result = schema.safeParse(value);
    return result.success ? result.data : `error: ${result.error.issues[0]?.message}`;
  };
  const TWO_TO_53 = 2n ** 53n;

  it.each([
    ['0', 0n],
    ['007', 7n],
    ['-0', 0n],
    ['-12', -12n],
    [String(TWO_TO_53 + 1n), TWO_TO_53 + 1n], // exact: Number() would round it to 2^53
    ['123456789012345678901234567890', 123456789012345678901234567890n],
    ['+12', 'error: must be an integer -1000000000000000000000000000000..1000000000000000000000000000000'],
    ['1e3', 'error: must be an integer -1000000000000000000000000000000..1000000000000000000000000000000'],
    ['1.0', 'error: must be an integer -1000000000000000000000000000000..1000000000000000000000000000000'],
    ['0x10', 'error: must be an integer -1000000000000000000000000000000..1000000000000000000000000000000'],
    ['1_000', 'error: must be an integer -1000000000000000000000000000000..1000000000000000000000000000000'],
    ['1 000', 'error: must be an integer -1000000000000000000000000000000..1000000000000000000000000000000'],
    ['Infinity', 'error: must be an integer -1000000000000000000000000000000..1000000000000000000000000000000'],
  ])('bigintVar(-10^30, 10^30) reads %s as %s', (value, expected) => {
    expect(parse(bigintVar(-(10n ** 30n), 10n ** 30n), value)).toEqual(expected);
  });

  it.each([
    ['0', 0n],
    ['0000499', 499n],
    [String(TWO_TO_53 - 1n), TWO_TO_53 - 1n],
    [String(TWO_TO_53), 'error: must be a whole number of USD cents'],
    [String(TWO_TO_53 + 1n), 'error: must be a whole number of USD cents'],
    ['-1', 'error: must be a whole number of USD cents'],
    ['+1', 'error: must be a whole number of USD cents'],
    ['4.99', 'error: must be a whole number of USD cents'],
    ['5e3', 'error: must be a whole number of USD cents'],
  ])('centsVar(0n) reads %s as %s (at most 2^53 - 1)', (value, expected) => {
    expect(parse(centsVar(0n), value)).toEqual(expected);
  });

  it('names a stated range in the message, never the value', () => {
    expect(parse(centsVar(1n, 100n), '101')).toBe('error: must be a whole number of USD cents, 1..100');
    expect(parse(centsVar(1n, 100n), '100')).toBe(100n);
    expect(loadConfig({ X: centsVar(1n, 100n) }, { X: ' 0042 ' })).toEqual({ X: 42n });
  });
});
