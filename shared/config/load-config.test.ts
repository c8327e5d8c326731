import { createHash } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as z from 'zod';
import { createLogger } from '../logging/index.js';
import { ConfigError, configVars, loadConfig, secret } from './index.js';

/** `openssl rand -hex 32`. */
const WEBHOOK_SECRET = 'e22fe6d255a00b26c45216b0c3ee2da4bd440d8649c2d790382957493d987421';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('returns typed values for the declared variables only', () => {
    const config = loadConfig(
      { DATABASE_URL: configVars.DATABASE_URL, PLATFORM_FEE_BPS: configVars.PLATFORM_FEE_BPS },
      { DATABASE_URL: 'postgres://app:pw@localhost/pgp', PLATFORM_FEE_BPS: '300', UNRELATED: 'x' },
    );
    expect(config).toEqual({ DATABASE_URL: 'postgres://app:pw@localhost/pgp', PLATFORM_FEE_BPS: 300 });
    expectTypeOf(config).toEqualTypeOf<{ DATABASE_URL?: string | undefined; PLATFORM_FEE_BPS: number }>();
  });

  it('names a missing variable', () => {
    const error = configError(() => loadConfig({ PLATFORM_FEE_BPS: configVars.PLATFORM_FEE_BPS }, {}));
    expect(error.variables).toEqual(['PLATFORM_FEE_BPS']);
    expect(error.message).toBe('Invalid configuration: PLATFORM_FEE_BPS: required');
    expect(error.name).toBe('ConfigError');
  });

  it('lists every bad variable at once', () => {
    const error = configError(() =>
      loadConfig(
        { DATABASE_URL: configVars.DATABASE_URL.unwrap(), PLATFORM_FEE_BPS: configVars.PLATFORM_FEE_BPS, PORT: configVars.PORT },
        { PLATFORM_FEE_BPS: '10001', PORT: '8080' },
      ),
    );
    expect(error.variables).toEqual(['DATABASE_URL', 'PLATFORM_FEE_BPS']);
    expect(error.message).toBe('Invalid configuration: DATABASE_URL: required; PLATFORM_FEE_BPS: must be an integer 0..10000');
  });

  it('names an invalid variable without its value appearing anywhere in the error', () => {
    const leaked = 'sk_live_Zq8PxW3nLk7Tb2Vy9';
    const error = configError(() =>
      loadConfig(
        {
          DATABASE_URL: configVars.DATABASE_URL,
          HOST_WALLET_PRIVATE_KEY: configVars.HOST_WALLET_PRIVATE_KEY,
          PLATFORM_FEE_BPS: configVars.PLATFORM_FEE_BPS,
          CUSTOM: z.string().refine((value) => value === 'ok', { error: (issue) => `bad value ${String(issue.input)}` }),
        },
        { DATABASE_URL: `mysql://root:${leaked}@db/x`, HOST_WALLET_PRIVATE_KEY: leaked, PLATFORM_FEE_BPS: leaked, CUSTOM: leaked },
      ),
    );
    expect(error.variables).toEqual(['DATABASE_URL', 'HOST_WALLET_PRIVATE_KEY', 'PLATFORM_FEE_BPS', 'CUSTOM']);
    expect(error.message).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL');
    expect(error.message).toContain('HOST_WALLET_PRIVATE_KEY: must be 0x followed by 64 hex digits');
    expect(error.message).toContain('CUSTOM: bad value [value hidden]');
    expect(error.message).not.toContain(leaked);
    expect(JSON.stringify(error)).not.toContain(leaked);
    expect(String(error.stack)).not.toContain(leaked);
    expect(error.cause).toBeUndefined();
  });

  it('trims every value, so a trailing newline from echo does not break it', () => {
    const config = loadConfig(
      { PLATFORM_FEE_BPS: configVars.PLATFORM_FEE_BPS, TELEGRAM_WEBHOOK_SECRET: configVars.TELEGRAM_WEBHOOK_SECRET },
      { PLATFORM_FEE_BPS: ' 250\n', TELEGRAM_WEBHOOK_SECRET: `${WEBHOOK_SECRET}\n` },
    );
    expect(config).toEqual({ PLATFORM_FEE_BPS: 250, TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET });
  });

  it('treats an empty or blank value as unset, so defaults apply', () => {
    const config = loadConfig(
      { DB_POOL_MAX: configVars.DB_POOL_MAX, PORT: configVars.PORT, DATABASE_URL: configVars.DATABASE_URL },
      { DB_POOL_MAX: '', PORT: '  \n', DATABASE_URL: '' },
    );
    expect(config).toEqual({ DB_POOL_MAX: 5, PORT: 8080, DATABASE_URL: undefined });
  });

  it('reads process.env by default', () => {
    expect(loadConfig({ PATH: z.string() }).PATH).toBe(process.env.PATH?.trim());
  });
});

describe('secret', () => {
  it('registers loaded secret values so the logger redacts them', () => {
    const ipnSecret = `ipn_${createHash('sha256').update('config secret').digest('hex').slice(0, 24)}`;
    const apiKey = 'NP-KEY-TEST-0001';
    const config = loadConfig(
      { NOWPAYMENTS_IPN_SECRET: configVars.NOWPAYMENTS_IPN_SECRET, NOWPAYMENTS_API_KEY: configVars.NOWPAYMENTS_API_KEY },
      { NOWPAYMENTS_IPN_SECRET: `${ipnSecret}\n`, NOWPAYMENTS_API_KEY: apiKey },
    );
    const lines: string[] = [];
    createLogger({ write: (line) => lines.push(line) }).warn('ipn.signature_mismatch', {
      expectedWith: `hmac(${config.NOWPAYMENTS_IPN_SECRET})`,
      note: `key ${apiKey}`,
    });
    expect(lines[0]).not.toContain(ipnSecret);
    expect(lines[0]).not.toContain(apiKey);
    expect(lines[0]).toContain('hmac([REDACTED])');
  });

  it('registers the password of a secret URL on its own', () => {
    const password = 'db-Pw-secret-771';
    loadConfig({ DATABASE_URL: configVars.DATABASE_URL }, { DATABASE_URL: `postgresql://app:${password}@/pgp?host=/cloudsql/p:r:i` });
    const lines: string[] = [];
    createLogger({ write: (line) => lines.push(line) }).error('db.auth_failed', { detail: `password ${password} rejected` });
    expect(lines[0]).not.toContain(password);
  });

  it('registers a secret even when it fails validation', () => {
    const almostKey = 'not-a-valid-wallet-key-9f8e7d';
    expect(() => loadConfig({ HOST_WALLET_PRIVATE_KEY: configVars.HOST_WALLET_PRIVATE_KEY }, { HOST_WALLET_PRIVATE_KEY: almostKey })).toThrow(ConfigError);
    const lines: string[] = [];
    createLogger({ write: (line) => lines.push(line) }).info('x.y', { almostKey });
    expect(lines[0]).not.toContain(almostKey);
  });

  it('wraps any schema and keeps its output type', () => {
    const shape = { SIGNING_KEY: secret(z.string().min(8)).optional() };
    const config = loadConfig(shape, { SIGNING_KEY: 'signing-key-value-42' });
    expectTypeOf(config.SIGNING_KEY).toEqualTypeOf<string | undefined>();
    const lines: string[] = [];
    createLogger({ write: (line) => lines.push(line) }).info('x.y', { value: config.SIGNING_KEY });
    expect(lines[0]).not.toContain('signing-key-value-42');
  });
});
