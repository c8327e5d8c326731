import { createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// Counted, not changed: how many HMACs a verification computes.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, createHmac: vi.fn(actual.createHmac) };
});
import { acceptedVersions, keyIdOf, rotatingSecret } from '../secrets/index.js';
import { authenticateIpnBody, readIpnPayloadExactly, signIpnPayload, verifyIpnSignature } from './ipn-signature.js';

const SECRET = 'ipn-secret-for-test';

/**
 * The webhook example of the NowPayments docs, keys in the docs' (unsorted) order, with whitespace. The signatures
 * below were computed independently of this code (Python `json.dumps(sort_keys=True, separators=(',', ':'))` and
 * HMAC-SHA512) by QuantumNous/new-api, controller/topup_nowpayments_test.go; we reuse them as test vectors.
 */
const DOCS_BODY = `{
  "payment_id": 123456789,
  "parent_payment_id": null,
  "invoice_id": null,
  "payment_status": "finished",
  "pay_address": "address",
  "payin_extra_id": null,
  "price_amount": 10,
  "price_currency": "usd",
  "pay_amount": 15,
  "actually_paid": 15,
  "actually_paid_at_fiat": 0,
  "pay_currency": "trx",
  "order_id": "NOWPAY-42-1-abc",
  "order_description": "Recharge 10 credits",
  "purchase_id": "123456789",
  "outcome_amount": 14.8106,
  "outcome_currency": "trx",
  "payment_extra_ids": null,
  "fee": {"currency": "btc", "depositFee": 0.09853637216235617, "withdrawalFee": 0, "serviceFee": 0}
}`;
const DOCS_SIGNATURE =
  'c3f28ffddea33a5ae56576341ac5f56742580c4356eaf0225e56d793948925490f4443e58c3addde167546bd8da051f3dd4ea5ba0d96bbdcc97b529539112f91';
const ARRAY_BODY = DOCS_BODY.replace('"payment_extra_ids": null', '"payment_extra_ids": [5513339153, 5513339154]');
const ARRAY_KEPT_SIGNATURE =
  '409a1a9c5ac226dcea81dd383813a2423b66fb470a972b7b4d7cad95eb54a0dd1cdfb1c9cd90d9448a88832cacd9e5829aa2c668efe0691798be678c479bbb36';
const ARRAY_AS_OBJECT_SIGNATURE =
  'a04183e1d87a86de51e4d91c914af918632e645e1414a3b2aae8a0ed9409bf64be6206750d4439c64e659f75abb4190ebba3d11f01f14a914ab69e10652d1d59';
const HTML_BODY = DOCS_BODY.replace('"order_description": "Recharge 10 credits"', '"order_description": "a<b>&c \\"q\\" / é"');
const HTML_SIGNATURE =
  '6d7eb80665f92a530d9387b50dd16ce5341d92bc8fd3744d5c482bf5df05f7fc042945f3cb437c66f31500dde3e7f246619dbc62843c59404b099fe6f42f1e13';

const hmac = (text: string, secret = SECRET) => createHmac('sha512', secret).update(text).digest('hex');

/** The same JSON members in another order at every level. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([key, inner]) => [key, reversedKeys(inner)]));
}

describe('verifyIpnSignature', () => {
  const sortedBody = JSON.stringify(JSON.parse(DOCS_BODY)); // keys still in docs order, whitespace gone
  const reordered = JSON.stringify(reversedKeys(JSON.parse(DOCS_BODY)));

  it.each<[string, { rawBody: string; signature: string | undefined; secret?: string }, ReturnType<typeof verifyIpnSignature>['isValid'], string?]>([
    ['the docs example with its independent signature', { rawBody: DOCS_BODY, signature: DOCS_SIGNATURE }, true],
    ['the same members without whitespace', { rawBody: sortedBody, signature: DOCS_SIGNATURE }, true],
    ['keys reordered at every level, nested fee object included', { rawBody: reordered, signature: DOCS_SIGNATURE }, true],
    ['an upper-case hex header', { rawBody: DOCS_BODY, signature: DOCS_SIGNATURE.toUpperCase() }, true],
    ['a header with surrounding spaces', { rawBody: DOCS_BODY, signature: ` ${DOCS_SIGNATURE} ` }, true],
    ['an array kept as an array (PHP and Python examples)', { rawBody: ARRAY_BODY, signature: ARRAY_KEPT_SIGNATURE }, true],
    ['an array as an index-keyed object (the Node example)', { rawBody: ARRAY_BODY, signature: ARRAY_AS_OBJECT_SIGNATURE }, true],
    ['unescaped HTML characters and non-ASCII text', { rawBody: HTML_BODY, signature: HTML_SIGNATURE }, true],
    ['an HMAC over the raw body exactly as sent (older docs)', { rawBody: DOCS_BODY, signature: hmac(DOCS_BODY) }, true],
    ['one changed byte in the body', { rawBody: DOCS_BODY.replace('"price_amount": 10', '"price_amount": 11'), signature: DOCS_SIGNATURE }, false, 'signature_mismatch'],
    ['one changed byte in a nested object', { rawBody: DOCS_BODY.replace('"currency": "btc"', '"currency": "btd"'), signature: DOCS_SIGNATURE }, false, 'signature_mismatch'],
    ['one changed hex digit in the header', { rawBody: DOCS_BODY, signature: `${DOCS_SIGNATURE.slice(0, -1)}0` }, false, 'signature_mismatch'],
    ['another secret', { rawBody: DOCS_BODY, signature: DOCS_SIGNATURE, secret: 'other-secret' }, false, 'signature_mismatch'],
    ['a truncated header', { rawBody: DOCS_BODY, signature: DOCS_SIGNATURE.slice(0, 64) }, false, 'signature_mismatch'],
    ['a header that is not hex', { rawBody: DOCS_BODY, signature: 'z'.repeat(128) }, false, 'signature_mismatch'],
    ['a SHA-256 HMAC (the legacy twin)', { rawBody: DOCS_BODY, signature: createHmac('sha256', SECRET).update(DOCS_BODY).digest('hex') }, false, 'signature_mismatch'],
    ['no header', { rawBody: DOCS_BODY, signature: undefined }, false, 'missing_signature'],
    ['an empty header', { rawBody: DOCS_BODY, signature: '  ' }, false, 'missing_signature'],
    ['a body that is not JSON', { rawBody: 'payment_id=1&payment_status=finished', signature: DOCS_SIGNATURE }, false, 'malformed_json'],
    ['a truncated body', { rawBody: DOCS_BODY.slice(0, 100), signature: DOCS_SIGNATURE }, false, 'malformed_json'],
    ['a JSON array', { rawBody: '[1,2]', signature: hmac('[1,2]') }, false, 'not_an_object'],
    ['a JSON string', { rawBody: '"finished"', signature: hmac('"finished"') }, false, 'not_an_object'],
  ])('judges %s (and authenticateIpnBody judges it alike)', (_name, input, isValid, reason) => {
    const result = verifyIpnSignature({ secret: SECRET, ...input });
    expect(result.isValid).toBe(isValid);
    if (!result.isValid) expect(result.reason).toBe(reason);
    const authenticated = authenticateIpnBody({ secret: SECRET, ...input });
    expect(authenticated.isValid ? { isValid: true } : authenticated).toEqual(result.isValid ? { isValid: true } : result);
  });

  it('authenticates without the exact reading (amounts as doubles, to route on), which readIpnPayloadExactly then gives', () => {
    const rawBody = '{"payment_id":5077125051,"payment_status":"finished","price_amount":19.99,"actually_paid":0.123456789012345678}';
    const authenticated = authenticateIpnBody({ rawBody, signature: hmac(rawBody), secret: SECRET });
    expect(authenticated).toEqual({
      isValid: true,
      parsed: { payment_id: 5077125051, payment_status: 'finished', price_amount: 19.99, actually_paid: 0.12345678901234568 },
      key: { role: 'current', kid: keyIdOf(SECRET) },
    });
    if (!authenticated.isValid) return;
    expect(readIpnPayloadExactly(rawBody, authenticated.key)).toEqual(verifyIpnSignature({ rawBody, signature: hmac(rawBody), secret: SECRET }));
  });

  it('returns the payload with amounts as exact decimal text', () => {
    const rawBody = '{"payment_id":5077125051,"payment_status":"finished","price_amount":19.99,"actually_paid":0.123456789012345678,"pay_amount":1e-7}';
    const result = verifyIpnSignature({ rawBody, signature: hmac(rawBody), secret: SECRET });
    expect(result).toEqual({
      isValid: true,
      payload: { payment_id: '5077125051', payment_status: 'finished', price_amount: '19.99', actually_paid: '0.123456789012345678', pay_amount: '1e-7' },
      key: { role: 'current', kid: keyIdOf(SECRET) },
    });
  });

  it('refuses to verify with an empty secret', () => {
    expect(() => verifyIpnSignature({ rawBody: DOCS_BODY, signature: DOCS_SIGNATURE, secret: '' })).toThrow(
      expect.objectContaining({ name: 'TransientError', code: 'ipn_secret_missing' }),
    );
  });
});

describe('verifyIpnSignature during a secret rotation', () => {
  const OLD = 'ipn-secret-being-replaced';
  const NEW = 'ipn-secret-replacing-it';
  const until = new Date('2026-06-01T00:00:00Z');
  const ring = rotatingSecret(NEW, { value: OLD, until });
  const during = acceptedVersions(ring, new Date('2026-05-31T23:59:59Z'));
  const after = acceptedVersions(ring, until);

  it('accepts the current and, until the overlap ends, the previous secret, saying which matched', () => {
    expect(verifyIpnSignature({ rawBody: DOCS_BODY, signature: hmacWith(NEW), secret: during })).toMatchObject({ isValid: true, key: { role: 'current', kid: keyIdOf(NEW) } });
    expect(verifyIpnSignature({ rawBody: DOCS_BODY, signature: hmacWith(OLD), secret: during })).toMatchObject({ isValid: true, key: { role: 'previous', kid: keyIdOf(OLD) } });
    expect(verifyIpnSignature({ rawBody: DOCS_BODY, signature: hmacWith(NEW), secret: after })).toMatchObject({ isValid: true, key: { role: 'current' } });
    expect(verifyIpnSignature({ rawBody: DOCS_BODY, signature: hmacWith(OLD), secret: after })).toEqual({ isValid: false, reason: 'signature_mismatch' });
  });

  it('computes one HMAC per candidate text and accepted secret, parsing the body once', () => {
    const parse = JSON.parse;
    let parses = 0;
    const parseSpy = vi.spyOn(JSON, 'parse').mockImplementation((...args: Parameters<typeof parse>) => {
      parses++;
      return parse(...args);
    });
    try {
      // A forged header is tried with every form under every secret, no more (the docs body has no arrays: two distinct texts).
      vi.mocked(createHmac).mockClear();
      expect(verifyIpnSignature({ rawBody: DOCS_BODY, signature: 'a'.repeat(128), secret: during })).toEqual({ isValid: false, reason: 'signature_mismatch' });
      expect({ hmacs: vi.mocked(createHmac).mock.calls.length, parses }).toEqual({ hmacs: 2 * 2, parses: 1 });
      vi.mocked(createHmac).mockClear();
      expect(verifyIpnSignature({ rawBody: DOCS_BODY, signature: 'a'.repeat(128), secret: after }).isValid).toBe(false);
      expect(vi.mocked(createHmac).mock.calls.length).toBe(2);
    } finally {
      parseSpy.mockRestore();
    }
  });

  function hmacWith(secret: string): string {
    return signIpnPayload(JSON.parse(DOCS_BODY) as Record<string, unknown>, secret);
  }
});

describe('signIpnPayload', () => {
  it('reproduces the independently computed signature of the docs example', () => {
    expect(signIpnPayload(JSON.parse(DOCS_BODY) as Record<string, unknown>, SECRET)).toBe(DOCS_SIGNATURE);
  });

  it('signs like the documented Node example, arrays included', () => {
    expect(signIpnPayload(JSON.parse(ARRAY_BODY) as Record<string, unknown>, SECRET)).toBe(ARRAY_AS_OBJECT_SIGNATURE);
  });

  it('gives the same signature whatever the key order', () => {
    const payload = JSON.parse(DOCS_BODY) as Record<string, unknown>;
    expect(signIpnPayload(reversedKeys(payload) as Record<string, unknown>, SECRET)).toBe(signIpnPayload(payload, SECRET));
  });

  it('makes signatures its verifier accepts', () => {
    const payload = { payment_id: 1, payment_status: 'waiting', fee: { serviceFee: 0.5, currency: 'eth' } };
    const signature = signIpnPayload(payload, SECRET);
    expect(signature).toMatch(/^[0-9a-f]{128}$/);
    expect(verifyIpnSignature({ rawBody: JSON.stringify(payload), signature, secret: SECRET }).isValid).toBe(true);
    expect(verifyIpnSignature({ rawBody: JSON.stringify(payload), signature, secret: 'another' }).isValid).toBe(false);
  });
});

describe('verifyIpnSignature on bodies nested without end', () => {
  // Found by the fuzz suite: JSON.parse accepts any depth, and the signature's sorting recursed on it.
  it.each([
    ['objects', (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`],
    ['arrays inside an object', (depth: number) => `{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}`],
  ])('refuses %s 20,000 levels deep as malformed, without throwing, whatever the signature', (_kind, nested) => {
    const rawBody = nested(20_000);
    for (const signature of ['a'.repeat(128), createHmac('sha512', 'secret').update(rawBody).digest('hex')]) {
      expect(verifyIpnSignature({ rawBody, signature, secret: 'secret' })).toEqual({ isValid: false, reason: 'malformed_json' });
    }
  });

  it('still accepts a body as deep as the limit allows', () => {
    const payload = JSON.parse(`${'{"a":'.repeat(200)}1${'}'.repeat(200)}`) as Record<string, unknown>;
    const rawBody = JSON.stringify(payload);
    expect(verifyIpnSignature({ rawBody, signature: signIpnPayload(payload, 'secret'), secret: 'secret' })).toMatchObject({ isValid: true });
  });
});
