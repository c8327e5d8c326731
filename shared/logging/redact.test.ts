import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redact, registerSecretValues } from './index.js';

// Fixtures are built at run time so no key-shaped literal sits in the repository.
const hex64 = createHash('sha256').update('redact fixture').digest('hex');
const jwt = ['{"alg":"HS256"}', '{"sub":"1"}', 'signature']
  .map((part) => Buffer.from(part).toString('base64url'))
  .join('.');
const botToken = `${'7'.repeat(10)}:${'Fake_'.repeat(7)}`;

describe('redact by key name', () => {
  const secretKeys = [
    'password',
    'dbPasswd',
    'NOWPAYMENTS_IPN_SECRET',
    'clientSecret',
    'token',
    'accessToken',
    'refresh_token',
    'apiKey',
    'api_key',
    'x-api-key',
    'Authorization',
    'cookie',
    'set-cookie',
    'private_key',
    'privateKey',
    'hostWalletPrivateKey',
    'mnemonic',
    'seedPhrase',
    'jwt',
    'sessionId',
    'databaseUrl',
    'DATABASE_URL',
    'connectionString',
    'x-telegram-bot-api-secret-token',
  ];
  for (const key of secretKeys) {
    it(`hides the value of "${key}"`, () => {
      expect(redact({ [key]: 'visible-value' })).toEqual({ [key]: '[REDACTED]' });
    });
  }

  const publicKeys = ['payoutId', 'x-nowpayments-sig', 'signature', 'txHash', 'amountUnits', 'walletAddress', 'status'];
  for (const key of publicKeys) {
    it(`keeps the value of "${key}"`, () => {
      expect(redact({ [key]: 'visible-value' })).toEqual({ [key]: 'visible-value' });
    });
  }

  it('hides whole objects and works at any depth, inside arrays too', () => {
    expect(redact({ a: [{ b: { Password: { nested: 1 } } }], headers: { Cookie: ['x=1'] } })).toEqual({
      a: [{ b: { Password: '[REDACTED]' } }],
      headers: { Cookie: '[REDACTED]' },
    });
  });

  it('keeps null and undefined under secret keys, so a missing secret stays visible', () => {
    expect(redact({ apiKey: null, token: undefined })).toEqual({ apiKey: null, token: undefined });
  });
});

describe('redact inside strings', () => {
  const cases: { name: string; input: string; expected: string }[] = [
    { name: 'a postgres URL password', input: 'postgres://user:pass@host/db', expected: 'postgres://user:[REDACTED]@host/db' },
    { name: 'a postgresql URL password', input: 'at postgresql://app:s3cr3t@10.0.0.1:5432/pgp', expected: 'at postgresql://app:[REDACTED]@10.0.0.1:5432/pgp' },
    { name: 'a password containing @', input: 'postgres://u:p@ss@host/db', expected: 'postgres://u:[REDACTED]@host/db' },
    { name: 'a Cloud SQL socket URL', input: 'postgresql://u:pw12@/db?host=/cloudsql/p:r:i', expected: 'postgresql://u:[REDACTED]@/db?host=/cloudsql/p:r:i' },
    { name: 'any scheme with credentials', input: 'redis://default:hunter2@cache:6379', expected: 'redis://default:[REDACTED]@cache:6379' },
    { name: 'a password query parameter', input: 'postgres://host/db?user=u&password=pw&sslmode=require', expected: 'postgres://host/db?user=u&password=[REDACTED]&sslmode=require' },
    { name: 'an apikey query parameter', input: 'https://rpc.example/v1?apikey=abc123', expected: 'https://rpc.example/v1?apikey=[REDACTED]' },
    { name: 'a JWT', input: `Bearer ${jwt}`, expected: 'Bearer [REDACTED]' },
    { name: 'a Telegram bot token', input: `got ${botToken} here`, expected: 'got [REDACTED] here' },
    {
      name: 'a Bot API URL path',
      input: 'GET https://api.telegram.org/bot123:abc/sendMessage failed',
      expected: 'GET https://api.telegram.org/bot[REDACTED]/sendMessage failed',
    },
    {
      name: 'a Bot API file path',
      input: 'https://api.telegram.org/file/bot42:xyz-_/photos/1.jpg',
      expected: 'https://api.telegram.org/file/bot[REDACTED]/photos/1.jpg',
    },
    { name: 'a 0x-prefixed 64-hex key', input: `key 0x${hex64} used`, expected: 'key [REDACTED] used' },
    { name: 'a bare 64-hex key', input: `key=${hex64}`, expected: 'key=[REDACTED]' },
    { name: 'nothing in an ordinary sentence', input: 'payment pay_1 settled for 1500 cents', expected: 'payment pay_1 settled for 1500 cents' },
    { name: 'nothing in a 40-hex address', input: `to 0x${hex64.slice(0, 40)}`, expected: `to 0x${hex64.slice(0, 40)}` },
    { name: 'nothing in a 128-hex IPN signature', input: hex64 + hex64, expected: hex64 + hex64 },
  ];
  for (const { name, input, expected } of cases) {
    it(`replaces ${name}`, () => {
      expect(redact(input)).toBe(expected);
    });
  }

  it('removes the shortest secret of every kind wherever it sits, in strings short enough to be screened', () => {
    // redactString skips its scans for a string that holds no ':', '=' or 'eyJ' and is under 64
    // characters; every shape below is as short as its pattern allows, so a wrong screen shows here.
    const secrets: { text: string; secretPart: string }[] = [
      { text: 'a://u:pw@h', secretPart: ':pw@' },
      { text: '?key=kv1', secretPart: 'kv1' },
      { text: '&pwd=pw2', secretPart: 'pw2' },
      { text: '/bot1:tk3', secretPart: 'tk3' },
      { text: 'eyJ.b4.c', secretPart: 'eyJ.b4' },
      { text: `123456:${'t'.repeat(30)}`, secretPart: 't'.repeat(30) },
      { text: hex64, secretPart: hex64 },
    ];
    const filler = fc.string({ unit: fc.constantFrom(' ', 'a', 'Z', '0', '.', '-', '_', '/', '!'), maxLength: 12 });
    fc.assert(
      fc.property(fc.constantFrom(...secrets), filler, filler, ({ text, secretPart }, before, after) => {
        const out = redact(`${before} ${text} ${after}`) as string;
        expect(out).toContain('[REDACTED]');
        expect(out).not.toContain(secretPart);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves a short string without those characters as it is', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'x', '0', '9', '.', '-', '_', '/', '@', '?', '&', ' '), maxLength: 63 }), (text) => {
        expect(redact(text)).toBe(text);
      }),
    );
  });

  it('keeps 64-hex values under hash keys (transaction hashes are public)', () => {
    const txHash = `0x${hex64}`;
    expect(redact({ txHash, blockHash: txHash, txHashes: [txHash], note: `sent ${txHash}` })).toEqual({
      txHash,
      blockHash: txHash,
      txHashes: [txHash],
      note: 'sent [REDACTED]',
    });
  });

  it('hides a registered secret even under a hash key', () => {
    const key = `0x${createHash('sha256').update('registered key').digest('hex')}`;
    registerSecretValues([key]);
    expect(redact({ txHash: key })).toEqual({ txHash: '[REDACTED]' });
  });
});

describe('registerSecretValues', () => {
  it('hides registered values wherever they appear, longest first', () => {
    registerSecretValues(['Abcdef-123456', 'Abcdef-123456-longer', undefined]);
    expect(redact({ msg: 'x Abcdef-123456-longer y Abcdef-123456 z' })).toEqual({ msg: 'x [REDACTED] y [REDACTED] z' });
  });

  it('ignores values shorter than 6 characters', () => {
    registerSecretValues(['12345', 'true']);
    expect(redact('12345 true')).toBe('12345 true');
  });
});

describe('redact structures', () => {
  it('turns bigint, Date, Map, Set and bytes into JSON-safe values without printing bytes', () => {
    expect(
      redact({
        units: 10n ** 30n,
        at: new Date('2025-01-02T03:04:05Z'),
        map: new Map([['k', 1n]]),
        set: new Set(['a']),
        bytes: new Uint8Array(32),
      }),
    ).toEqual({
      units: '1000000000000000000000000000000',
      at: '2025-01-02T03:04:05.000Z',
      map: { k: '1' },
      set: ['a'],
      bytes: '[Uint8Array(32)]',
    });
  });

  it('prints a shared object twice but a cycle once', () => {
    const shared = { id: 1 };
    const cycle: unknown[] = [];
    cycle.push(cycle);
    expect(redact({ a: shared, b: shared, cycle })).toEqual({ a: { id: 1 }, b: { id: 1 }, cycle: ['[Circular]'] });
  });

  it('applies toJSON (URL credentials included)', () => {
    expect(redact({ url: new URL('https://user:pw1234@rpc.example/path') })).toEqual({ url: 'https://user:[REDACTED]@rpc.example/path' });
  });

  it('cuts very long strings after redacting them', () => {
    const redacted = `postgres://u:[REDACTED]@h/db ${'x'.repeat(20_000)}`;
    const out = redact(`postgres://u:secretpw@h/db ${'x'.repeat(20_000)}`) as string;
    expect(out).toBe(`${redacted.slice(0, 16_384)}…[${redacted.length - 16_384} more characters]`);
  });

  it('stays linear on pathological input', () => {
    const started = performance.now();
    redact(`${'a.'.repeat(50_000)}://x:y`);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('redacts the message and stack of an Error and of its cause', () => {
    const cause = new Error('auth failed for postgres://app:topsecret@db/x');
    const error = new Error('wrapped postgres://app:topsecret@db/x', { cause });
    const text = JSON.stringify(redact(error));
    expect(text).not.toContain('topsecret');
    expect(text).toContain('postgres://app:[REDACTED]@db/x');
  });
});
