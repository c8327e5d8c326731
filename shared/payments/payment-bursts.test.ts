import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../ids/index.js';
import { signIpnPayload } from '../nowpayments/index.js';
import { insertCheckout } from '../testing/fixtures.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { type IpnDeps, receiveIpn } from './ipn.js';
import type { PaymentBurstLimits } from './payment-bursts.js';

const SECRET = 'ipn-secret-for-burst-tests';
const LIMITS: PaymentBurstLimits = {
  ipnSignatureFailures: { maxEvents: 3, windowMinutes: 10, coolDownMinutes: 60 },
  paymentFailures: { maxEvents: 3, windowMinutes: 60, coolDownMinutes: 60 },
};

let h: StageHarness;
let nextPaymentId = 8_100_000_000;

beforeAll(async () => {
  h = await createStageHarness({ start: '2026-12-01T12:00:00Z' });
});
afterAll(() => h?.close());

const deps = (bursts: PaymentBurstLimits = LIMITS): IpnDeps => ({ db: h.db, clock: h.clock, logger: h.logger, ipnSecret: SECRET, isAllowedIp: () => true, bursts });

function ipn(checkoutId: string, fields: Record<string, unknown> = {}, secret = SECRET) {
  const payload = {
    payment_id: String(nextPaymentId++),
    payment_status: 'failed',
    order_id: formatPublicId('checkout', checkoutId),
    price_amount: '19.99',
    price_currency: 'usd',
    pay_amount: '0.00666334',
    actually_paid: '0',
    pay_currency: 'eth',
    outcome_amount: '0',
    outcome_currency: 'eth',
    ...fields,
  };
  return { rawBody: JSON.stringify(payload), signature: signIpnPayload(payload, secret), clientIp: '203.0.113.9', headers: {} };
}

const alertsOf = async (kind: string) =>
  (await h.db.query<{ subject_type: string; subject_id: string; message: string }>('SELECT subject_type, subject_id, message FROM operator_alerts WHERE alert = $1 ORDER BY id', [kind])).rows;
const criticalLinesOf = (kind: string) => h.logLines.filter((line) => line.includes('"CRITICAL"') && line.includes(`"message":"${kind}"`));

describe('ipn.signature_failures_burst', () => {
  const KIND = 'ipn.signature_failures_burst';

  it('alerts once when more than the limit of IPNs fail their signature in the window, never changing the 401s', async () => {
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    const forged = () => ipn(checkout.id, { payment_status: 'finished' }, 'another-secret');
    for (let i = 0; i < 3; i += 1) expect(await receiveIpn(deps(), forged())).toMatchObject({ status: 401 });
    expect(await alertsOf(KIND)).toEqual([]);
    expect(criticalLinesOf(KIND)).toEqual([]);

    expect(await receiveIpn(deps(), forged())).toMatchObject({ status: 401 });
    const alerts = await alertsOf(KIND);
    expect(alerts).toEqual([{ subject_type: 'endpoint', subject_id: 'nowpayments-ipn', message: expect.stringContaining('4 IPNs with a bad signature within 10 minutes') }]);
    expect(criticalLinesOf(KIND)).toHaveLength(1);

    // A second burst inside the cool-down raises nothing more; a missing signature counts as bad too.
    h.clock.advance(30 * 60_000);
    for (let i = 0; i < 6; i += 1) expect(await receiveIpn(deps(), { ...forged(), signature: i % 2 ? undefined : 'not-hex' })).toMatchObject({ status: 401 });
    expect(await alertsOf(KIND)).toHaveLength(1);
    expect(criticalLinesOf(KIND)).toHaveLength(1);
    // Good signatures are not counted.
    expect(await receiveIpn(deps(), ipn(checkout.id, { payment_status: 'waiting' }))).toMatchObject({ status: 200 });
  });

  it('counts IPNs that arrive at once, raising one alert after the cool-down', async () => {
    h.clock.advance(2 * 60 * 60_000);
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    const answers = await Promise.all(Array.from({ length: 8 }, () => receiveIpn(deps(), ipn(checkout.id, {}, 'forger'))));
    expect(answers.every((answer) => answer.status === 401)).toBe(true);
    expect(await alertsOf(KIND)).toHaveLength(2);
    expect(criticalLinesOf(KIND)).toHaveLength(2);
  });

  it('uses IPN_SIGNATURE_FAILURE_ALERT’s default (more than 20 in 10 minutes) without limits', async () => {
    h.clock.advance(2 * 60 * 60_000);
    const checkout = await insertCheckout(h.db, { priceCents: 1999n });
    for (let i = 0; i < 20; i += 1) await receiveIpn(deps({}), ipn(checkout.id, {}, 'forger'));
    expect(await alertsOf(KIND)).toHaveLength(2);
    await receiveIpn(deps({}), ipn(checkout.id, {}, 'forger'));
    expect(await alertsOf(KIND)).toHaveLength(3);
  });
});

describe('payments.failures_burst', () => {
  const KIND = 'payments.failures_burst';
  type Seeded = { id: string; tierId: string };
  const seedChannel = async (): Promise<Seeded> => {
    const { channel, tier } = await h.seedChannel({ tier: { priceCents: 1999n } });
    return { id: channel.id, tierId: tier.id };
  };
  const failedPaymentAlertsFor = async (channelId: string) => (await alertsOf(KIND)).filter((alert) => alert.subject_id === channelId);

  it('alerts once per channel when more than the limit of its payments fail, expire or stay underpaid; one payment counts once', async () => {
    const channel = await seedChannel();
    const other = await seedChannel();
    const checkoutOf = async (seeded: Seeded) => (await insertCheckout(h.db, { channelId: seeded.id, tierId: seeded.tierId, priceCents: 1999n })).id;

    // Three failures: failed, expired, and underpaid (10 % paid, below the 98 % tolerance) then expired: one payment.
    expect(await receiveIpn(deps(), ipn(await checkoutOf(channel), { payment_status: 'failed' }))).toMatchObject({ status: 200, body: { outcome: 'updated' } });
    expect(await receiveIpn(deps(), ipn(await checkoutOf(channel), { payment_status: 'expired' }))).toMatchObject({ status: 200 });
    const underpaid = await checkoutOf(channel);
    const underpaidIpn = ipn(underpaid, { payment_status: 'partially_paid', actually_paid: '0.000666334', outcome_amount: '0.0006' });
    expect(await receiveIpn(deps(), underpaidIpn)).toMatchObject({ status: 200 });
    const paymentId = (JSON.parse(underpaidIpn.rawBody) as { payment_id: string }).payment_id;
    expect(await receiveIpn(deps(), ipn(underpaid, { payment_id: paymentId, payment_status: 'expired', actually_paid: '0.000666334' }))).toMatchObject({ status: 200, body: { outcome: 'updated' } });
    // Another channel's failures and a settled payment do not count for this one.
    for (let i = 0; i < 3; i += 1) await receiveIpn(deps(), ipn(await checkoutOf(other)));
    await receiveIpn(deps(), ipn(await checkoutOf(channel), { payment_status: 'finished', actually_paid: '0.00666334', outcome_amount: '0.0066' }));
    expect(await failedPaymentAlertsFor(channel.id)).toEqual([]);
    expect(await failedPaymentAlertsFor(other.id)).toEqual([]);

    await receiveIpn(deps(), ipn(await checkoutOf(channel), { payment_status: 'failed' }));
    expect(await failedPaymentAlertsFor(channel.id)).toEqual([
      { subject_type: 'channel', subject_id: channel.id, message: expect.stringContaining(`4 payments for channel ${channel.id} failed, expired or stayed underpaid within 60 minutes`) },
    ]);
    expect(criticalLinesOf(KIND).filter((line) => line.includes(channel.id))).toHaveLength(1);

    // A second burst inside the cool-down raises nothing more.
    h.clock.advance(10 * 60_000);
    for (let i = 0; i < 5; i += 1) await receiveIpn(deps(), ipn(await checkoutOf(channel), { payment_status: 'expired' }));
    expect(await failedPaymentAlertsFor(channel.id)).toHaveLength(1);
    expect(criticalLinesOf(KIND).filter((line) => line.includes(channel.id))).toHaveLength(1);
  });

  it('counts failures that arrive at once, redelivered ones included, and raises exactly one alert', async () => {
    const channel = await seedChannel();
    const checkouts = await Promise.all(Array.from({ length: 6 }, () => insertCheckout(h.db, { channelId: channel.id, tierId: channel.tierId, priceCents: 1999n })));
    const reports = checkouts.map((checkout) => ipn(checkout.id, { payment_status: 'expired' }));
    // Every report twice, all at once (NowPayments repeats IPNs).
    const answers = await Promise.all([...reports, ...reports].map((report) => receiveIpn(deps(), report)));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(await failedPaymentAlertsFor(channel.id)).toEqual([expect.objectContaining({ message: expect.stringContaining('payments for channel') })]);
    const { rows } = await h.db.query<{ n: number }>(`SELECT count(DISTINCT actor_key)::int AS n FROM burst_events WHERE rule = $1 AND subject_id = $2`, [KIND, channel.id]);
    expect(rows[0]?.n).toBe(6);
  });
});
