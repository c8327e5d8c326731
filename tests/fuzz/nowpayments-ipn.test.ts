import { createHmac } from 'node:crypto';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPN_SIGNATURE_HEADER, NOWPAYMENTS_STATUSES, signIpnPayload } from '../../shared/nowpayments/index.js';
import { checkoutFor, newSubscriber, seedChannel } from '../e2e/gateway-harness.js';
import {
  createBatchClock,
  type FuzzGateway,
  type FuzzRequest,
  fuzzSettings,
  fuzzTimeoutMs,
  probeWrites,
  quiesce,
  responseViolations,
  runFuzz,
  sendRaw,
  startFuzzGateway,
  writesSince,
} from './fuzz-harness.js';
import {
  type BodyPlan,
  bodyBytes,
  boundedHeaders,
  bodyPlan,
  clientAddress,
  contentEncoding,
  contentType,
  encodeBody,
  headerValue,
  keepInsideMount,
  hostileNumber,
  hostileString,
  type JsonLike,
  methodFor,
  mutatedJson,
  noiseHeaders,
  pathSegment,
  queryString,
  rawNumber,
} from './request-arbitraries.js';

/**
 * nowpayments-ipn under generated requests: forged, missing and valid signatures; IPN bodies with
 * fields mutated into wrong types, exponent and 80-digit numbers, unicode and NUL, deep nesting,
 * truncation; other methods, paths, content types and encodings. A share is signed with the real
 * IPN secret but carries garbage, so the payment code behind the signature check is fuzzed too.
 */

type SignatureMode = 'valid' | 'valid-uppercase' | 'valid-padded' | 'valid-raw-body' | 'other-secret' | 'other-body' | 'forged' | 'garbage' | 'empty' | 'missing';
const AUTHENTIC_MODES: ReadonlySet<SignatureMode> = new Set(['valid', 'valid-uppercase', 'valid-padded', 'valid-raw-body']);

interface IpnPlan {
  method: string;
  path: string;
  body: BodyPlan;
  signature: SignatureMode;
  garbage: string;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  noise: Record<string, string>;
  localAddress: string;
}

/** What an IPN refused for its signature writes: its count and, past the limit, the operator alert with its Telegram message (outbox). */
const SIGNATURE_FAILURE_COUNTERS = ['burst_events', 'operator_alerts', 'outbox'];

describe('fuzz: nowpayments-ipn', () => {
  const settings = fuzzSettings();
  let fuzz: FuzzGateway;
  let ipnSecret: string;
  const orderIds: string[] = [];

  beforeAll(async () => {
    fuzz = await startFuzzGateway();
    ipnSecret = process.env.NOWPAYMENTS_IPN_SECRET ?? '';
    // Threshold channels: a settled payment books the ledger and invites, without starting payouts.
    const channel = await seedChannel(fuzz.gateway, { strategy: 'threshold', priceCents: 1999n, days: 30 });
    for (let index = 0; index < 3; index++) orderIds.push((await checkoutFor(fuzz.gateway, channel, newSubscriber(fuzz.gateway))).publicId);
  });
  afterAll(() => fuzz?.stop());

  /** `valid` twelve times in thirteen: hostile fields come from the mutations too, and whole payloads must get through. */
  const mostly = <T,>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: hostile });

  /** Plausible ETH amounts near the seeded price (exponent form and long fractions included), or anything hostile. */
  const amount: fc.Arbitrary<JsonLike> = mostly(
    fc.constantFrom('0.00666334', '0.00663002', '0.0066', '0.0065', '0', '1e-7', '6.66334e-3', '0.006663340000000000000000001').map(rawNumber),
    fc.oneof(hostileNumber, fc.constantFrom<JsonLike>('0.00666334', null, '', 'abc', '-0.1')),
  );

  /** An IPN body shaped like NowPayments' (sorted keys, JSON numbers), before mutation. */
  const ipnBody = (): fc.Arbitrary<JsonLike> =>
    fc
      .record({
        orderId: mostly(fc.constantFrom(...orderIds), fc.oneof(fc.constantFrom('chk_AAAAAAAAAAAAAAAAAAAAAA', 'chk_'), hostileString)),
        // A small pool, so statuses of one payment follow each other; sometimes a fresh id.
        paymentId: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 9_200_000_001, max: 9_200_000_008 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 47 }) }),
        status: mostly(fc.constantFrom(...NOWPAYMENTS_STATUSES), hostileString),
        payAmount: amount,
        actuallyPaid: amount,
        outcomeAmount: amount,
        payCurrency: mostly(fc.constant('eth'), fc.constantFrom('usdttrc20', 'btc', 'ETH', '')),
        outcomeCurrency: mostly(fc.constant('eth'), fc.constantFrom('usdterc20', 'xmr', 'ETH')),
        priceAmount: mostly(fc.constant<JsonLike>(rawNumber('19.99')), fc.constantFrom<JsonLike>(rawNumber('1e400'), '19.99', rawNumber('19.990000000000000000001'))),
        updatedAt: mostly(
          fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }).map((ms) => rawNumber(String(ms))),
          fc.constantFrom<JsonLike>('2026-01-01T00:00:00.000Z', 'yesterday', rawNumber('-1'), rawNumber('1e400')),
        ),
      })
      .chain((fields) =>
        mutatedJson({
          actually_paid: fields.actuallyPaid,
          actually_paid_at_fiat: rawNumber('0'),
          invoice_id: rawNumber(String(fields.paymentId + 1)),
          order_description: 'Premium <Club>: 30 days',
          order_id: fields.orderId,
          outcome_amount: fields.outcomeAmount,
          outcome_currency: fields.outcomeCurrency,
          pay_address: '0x1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c',
          pay_amount: fields.payAmount,
          pay_currency: fields.payCurrency,
          payment_id: rawNumber(String(fields.paymentId)),
          payment_status: fields.status,
          price_amount: fields.priceAmount,
          price_currency: 'usd',
          purchase_id: String(fields.paymentId + 2),
          updated_at: fields.updatedAt,
        }, { intactShare: 1 / 2 }),
      );

  const plans = (): fc.Arbitrary<IpnPlan> =>
    fc.record({
      method: methodFor('POST'),
      path: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constant('/') }, { weight: 1, arbitrary: fc.array(pathSegment, { minLength: 1, maxLength: 3 }).map((segments) => `/${segments.join('/')}`) }).chain((path) =>
        queryString(['order_id', 'payment_id', 'sig'], hostileString).map((query) => `${path}${query}`),
      ),
      body: bodyPlan(ipnBody(), { oversizeBytes: 64 * 1024 }),
      signature: fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom<SignatureMode>('valid', 'valid-uppercase', 'valid-padded', 'valid-raw-body') },
        { weight: 4, arbitrary: fc.constantFrom<SignatureMode>('other-secret', 'other-body', 'forged', 'garbage', 'empty', 'missing') },
      ),
      garbage: headerValue,
      contentType,
      contentEncoding,
      noise: noiseHeaders,
      localAddress: clientAddress,
    });

  /** The signature header for `text` in the given mode; undefined = no header. */
  function signatureFor(mode: SignatureMode, text: string, garbage: string): string | undefined {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
    const isObject = typeof payload === 'object' && payload !== null && !Array.isArray(payload);
    const hmac = (secret: string, over: string) => createHmac('sha512', secret).update(over, 'utf8').digest('hex');
    const sorted = (secret: string) => {
      if (!isObject) return hmac(secret, text);
      try {
        return signIpnPayload(payload as Record<string, unknown>, secret);
      } catch {
        // Nested too deep for the signer's recursion: the raw-body form verifies the same bytes.
        return hmac(secret, text);
      }
    };
    switch (mode) {
      case 'valid':
        return sorted(ipnSecret);
      case 'valid-uppercase':
        return sorted(ipnSecret).toUpperCase();
      case 'valid-padded':
        return `  ${sorted(ipnSecret)} `;
      case 'valid-raw-body':
        return hmac(ipnSecret, text);
      case 'other-secret':
        return sorted(`${ipnSecret}-not`);
      case 'other-body':
        return hmac(ipnSecret, `${text} `);
      case 'forged':
        return 'ab'.repeat(64);
      case 'garbage':
        return garbage;
      case 'empty':
        return '';
      case 'missing':
        return undefined;
    }
  }

  function requestOf(plan: IpnPlan): FuzzRequest {
    const plain = bodyBytes(plan.body);
    const text = plain?.toString('utf8') ?? '';
    const signature = signatureFor(plan.signature, text, plan.garbage);
    const { bytes, header: encoding } = encodeBody(plain, plan.contentEncoding);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const headers: Record<string, string> = { ...plan.noise };
    if (plan.contentType !== undefined) headers['content-type'] = plan.contentType;
    if (encoding !== undefined) headers['content-encoding'] = encoding;
    if (signature !== undefined) headers[IPN_SIGNATURE_HEADER] = signature;
    return {
      method: plan.method,
      path: keepInsideMount(plan.path),
      headers: boundedHeaders(headers),
      body: bytes,
      localAddress: plan.localAddress,
      // Authentic only when signed with the secret over exactly the JSON object the server reads.
      isAuthenticated: AUTHENTIC_MODES.has(plan.signature) && typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed),
      label: `${plan.body.kind} body, signature ${plan.signature}`,
    };
  }

  it(`answers ${settings.runs} generated IPN requests without a 5xx or a leak, in the envelope, and unsigned ones write nothing`, async () => {
    const batches = createBatchClock(fuzz.clock);
    const { db } = fuzz.gateway.testDb;
    // A bad signature is counted for its burst alert (docs/security.md, "Anomaly alerts"): those
    // tables may grow, for a 401 only; nothing else may.
    const dataTables = fuzz.tables.filter((table) => !SIGNATURE_FAILURE_COUNTERS.includes(table));
    const report = await runFuzz({
      entryPoint: 'nowpayments-ipn',
      testFile: 'tests/fuzz/nowpayments-ipn.test.ts',
      database: fuzz.gateway.testDb.kind,
      settings,
      plans: plans(),
      execute: async (plan) => {
        batches.next();
        const request = requestOf(plan);
        if (request.isAuthenticated) {
          const response = await sendRaw(fuzz.gateway.runtime.url, 'nowpayments-ipn', request);
          return { request, response, violations: responseViolations(request, response, fuzz.secrets) };
        }
        await quiesce(fuzz.gateway);
        const before = await probeWrites(db, dataTables);
        const countersBefore = await probeWrites(db, SIGNATURE_FAILURE_COUNTERS);
        const response = await sendRaw(fuzz.gateway.runtime.url, 'nowpayments-ipn', request);
        await quiesce(fuzz.gateway);
        const written = await writesSince(db, dataTables, before);
        const counted = await writesSince(db, SIGNATURE_FAILURE_COUNTERS, countersBefore);
        const violations = responseViolations(request, response, fuzz.secrets);
        if (written.length > 0) violations.push(`an unauthenticated IPN wrote rows: ${written.join(', ')}`);
        if (counted.length > 0 && response.status !== 401) violations.push(`an IPN answered ${response.status} was counted as a bad signature: ${counted.join(', ')}`);
        return { request, response, violations };
      },
    });
    expect(report.violations).toBe(0);
    if (!settings.path && settings.runs >= 100) {
      // The run reached both sides of the signature check (not asked of a replay or a tiny run).
      expect(report.statuses['401']).toBeGreaterThan(0);
      expect(report.statuses['200']).toBeGreaterThan(0);
    }
  }, fuzzTimeoutMs(settings));
});
