import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPubSubCloudEvent, MESSAGE_ID_ATTRIBUTE } from '../../shared/bus/index.js';
import {
  createWebhookEndpoint,
  deliverOwnerWebhook,
  type HostResolver,
  requeueDueWebhookDeliveries,
  rotateWebhookSecret,
  type WebhookEventType,
} from '../../shared/owner-webhooks/index.js';
import { parsePublicId } from '../../shared/ids/index.js';
import { transitionPayout } from '../../shared/payouts/index.js';
import { consume } from '../../shared/pubsub-entry/index.js';
import { insertCheckout, insertPayment, insertPayout, insertTelegramUser } from '../../shared/testing/fixtures.js';
import { claimGift, createGift, issueGiftClaimCode } from '../../shared/gifts/index.js';
import { grantTrial } from '../../shared/trials/index.js';
import { applyReport, deliverSettlementMessages, paymentIdOf, paymentReport, REPORT_PRICE_CENTS } from '../../shared/testing/settlement-steps.js';
import { createStageHarness, type SeededChannel, type StageHarness } from '../../shared/testing/stage-harness.js';

const SIGNING_KEY = 'vN1kq9Yc0m5sV2Jd7xR8uB3hT6wZ4pL1aE0fG9iK2oM=';
const FEE_BPS = 300;

type Verify = (rawBody: string, header: string, secret: string, toleranceSeconds?: number, nowSeconds?: number) => { id: string; type: string; created: number; data: Record<string, unknown> };

/** The verification snippet exactly as docs/webhooks.md shows it (the first ```js block of its Signature section). */
async function documentedVerifier(): Promise<Verify> {
  const doc = readFileSync(path.join(import.meta.dirname, '../../docs/webhooks.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Signature'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error('docs/webhooks.md has no ```js verification snippet under ## Signature');
  const file = path.join(tmpdir(), `paygate-webhook-snippet-${randomUUID()}.mjs`);
  writeFileSync(file, code);
  const module = (await import(file)) as { verifyPayGateWebhook?: Verify };
  if (!module.verifyPayGateWebhook) throw new Error('the snippet does not export verifyPayGateWebhook');
  return module.verifyPayGateWebhook;
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver on 127.0.0.1: records every request and answers the next queued status for its path (default 200). */
async function startReceiver(): Promise<{ server: Server; url: (p: string) => string; received: Received[]; answers: Map<string, number[]> }> {
  const received: Received[] = [];
  const answers = new Map<string, number[]>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const requestPath = request.url ?? '/';
      received.push({ path: requestPath, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = answers.get(requestPath)?.shift() ?? 200;
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 300 ? 'x'.repeat(5000) : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: (p) => `http://127.0.0.1:${port}${p}`, received, answers };
}

/**
 * Owner webhooks end to end on the stage harness: real effects (settle-payment, a payout's terminal
 * transition) record events in their transaction; deliver-owner-webhook as its wrapper builds it
 * (consume) gets every queued message twice at once and once more; a real local receiver checks the
 * signature with the snippet from docs/webhooks.md.
 */
describe('owner webhooks', () => {
  let h: StageHarness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let verify: Verify;
  let nextProviderId = 9_300_000_000;
  const dns = new Map<string, string[]>();
  const resolver: HostResolver = async (hostname) => {
    const addresses = dns.get(hostname);
    if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  let handler: (event: CloudEvent<unknown>) => Promise<void>;
  const settings = { signingKey: SIGNING_KEY, allowLoopback: true };

  beforeAll(async () => {
    h = await createStageHarness({ start: '2026-03-01T00:00:00Z' });
    receiver = await startReceiver();
    verify = await documentedVerifier();
    handler = consume({
      consumer: 'deliver-owner-webhook',
      topic: 'owner-webhook-requested',
      handle: async (delivery, services) => {
        await deliverOwnerWebhook({ ...services, logger: delivery.logger }, { ...settings, resolver, timeoutMs: 5_000 }, delivery.message.deliveryId);
      },
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver?.server.close(resolve));
    await h?.close();
  });

  const nowSeconds = () => Math.floor(h.clock.now().getTime() / 1000);
  const deps = () => ({ db: h.db, clock: h.clock, logger: h.logger });

  /** Delivers every unpublished owner-webhook-requested message twice at the same moment, then once more (as Pub/Sub may). */
  async function deliverQueued(): Promise<number> {
    const { rows } = await h.db.query<{ message_id: string; payload: unknown }>(
      `UPDATE outbox SET published_at = $1, provider_message_id = 'test-' || id WHERE topic = 'owner-webhook-requested' AND published_at IS NULL
       RETURNING message_id::text AS message_id, payload`,
      [h.clock.now()],
    );
    for (const row of rows) {
      const request = buildPubSubCloudEvent({
        projectId: h.services.projectId,
        topic: 'owner-webhook-requested',
        subscription: 'owner-webhook-requested--deliver-owner-webhook',
        pubsubMessageId: randomUUID(),
        publishTime: h.clock.now(),
        data: JSON.stringify(row.payload),
        attributes: { [MESSAGE_ID_ATTRIBUTE]: row.message_id },
      });
      const attributes = Object.fromEntries(Object.entries(request.headers).flatMap(([name, value]) => (name.startsWith('ce-') ? [[name.slice(3), value]] : [])));
      const event = { ...attributes, data: JSON.parse(request.body) } as CloudEvent<unknown>;
      await Promise.all([handler(event), handler(event)]);
      await handler(event);
    }
    return rows.length;
  }

  /** A settled subscription payment on the channel, its settle-payment message delivered twice at once. */
  async function settlePaymentOn(seeded: SeededChannel, telegramUserId?: bigint): Promise<string> {
    const checkout = await insertCheckout(h.db, { channelId: seeded.channel.id, tierId: seeded.tier.id, telegramUserId, priceCents: REPORT_PRICE_CENTS });
    const result = await applyReport(h, paymentReport(checkout.id, String(nextProviderId++), 'finished', { paid: '1', outcome: '1', at: h.clock.now() }));
    await deliverSettlementMessages({ ...h, platformFeeBps: FEE_BPS }, { deliveries: 2, concurrently: true });
    return paymentIdOf(result);
  }

  /** The dashboard route confirms the owner's password first (shared/dashboard/webhook-routes.test.ts); these tests are about delivery. */
  const passwordConfirmed = async () => undefined;

  async function endpointFor(seeded: SeededChannel, urlPath: string, events: WebhookEventType[]) {
    return createWebhookEndpoint(deps(), settings, { accountId: seeded.ownerAccountId }, { url: receiver.url(urlPath), events }, passwordConfirmed);
  }

  const receivedAt = (urlPath: string) => receiver.received.filter((request) => request.path === urlPath);
  const signatureOf = (request: Received) => String(request.headers['paygate-signature']);

  it('delivers a settlement\'s events once each, signed so that the documented snippet verifies them', async () => {
    const seeded = await h.seedChannel({ payoutStrategy: 'threshold' });
    const endpoint = await endpointFor(seeded, '/settled', ['payment.settled', 'subscription.started', 'subscription.renewed']);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const paymentId = await settlePaymentOn(seeded);

    expect(await deliverQueued()).toBe(2);
    const requests = receivedAt('/settled');
    expect(requests).toHaveLength(2);
    const events = requests.map((request) => verify(request.body, signatureOf(request), endpoint.secret, 300, nowSeconds()));
    expect(events.map((event) => event.type).sort()).toEqual(['payment.settled', 'subscription.started']);
    const settled = events.find((event) => event.type === 'payment.settled');
    expect(settled?.id).toMatch(/^evt_/);
    expect(settled?.data).toMatchObject({ kind: 'subscription', asset: 'ETH', amount: '1', feeAmount: '0.03', netAmount: '0.97', priceUsd: '3000.00' });
    expect(String(settled?.data.paymentId)).toMatch(/^pay_/);
    for (const request of requests) {
      expect(request.headers['paygate-event-id']).toBe(JSON.parse(request.body).id);
      expect(request.body).not.toMatch(/0x[0-9a-fA-F]{40}/); // no wallet address
      expect(() => verify(request.body, signatureOf(request), `${endpoint.secret}x`, 300, nowSeconds())).toThrow();
      expect(() => verify(request.body.replace(/}$/, ',"extra":1}'), signatureOf(request), endpoint.secret, 300, nowSeconds())).toThrow();
      expect(() => verify(request.body, signatureOf(request), endpoint.secret, 300, nowSeconds() + 301)).toThrow(/tolerance/);
    }
    const { rows } = await h.db.query<{ state: string; attempts: number; logged: number }>(
      `SELECT d.state, d.attempts, (SELECT count(*)::int FROM owner_webhook_attempts a WHERE a.delivery_id = d.id AND a.status_code = 200) AS logged
         FROM owner_webhook_deliveries d JOIN owner_webhook_events v ON v.id = d.event_id WHERE v.source_key = $1`,
      [`payment:${paymentId}`],
    );
    expect(rows).toEqual([
      { state: 'delivered', attempts: 1, logged: 1 },
      { state: 'delivered', attempts: 1, logged: 1 },
    ]);

    // The message redelivered later, and the settlement message again: nothing new is sent or recorded.
    await deliverSettlementMessages({ ...h, platformFeeBps: FEE_BPS }, { deliveries: 2, concurrently: true });
    expect(await deliverQueued()).toBe(0);
    expect(receivedAt('/settled')).toHaveLength(2);
  });

  it('records nothing for an owner without endpoints, and the renewal as subscription.renewed', async () => {
    const quiet = await h.seedChannel({ payoutStrategy: 'threshold' });
    await settlePaymentOn(quiet);
    expect(await deliverQueued()).toBe(0);
    expect((await h.db.query('SELECT 1 FROM owner_webhook_events WHERE account_id = $1', [quiet.ownerAccountId])).rows).toEqual([]);

    const seeded = await h.seedChannel({ payoutStrategy: 'threshold' });
    await endpointFor(seeded, '/renewals', ['subscription.renewed']);
    const subscriber = (await insertTelegramUser(h.db)).id;
    await settlePaymentOn(seeded, subscriber);
    await settlePaymentOn(seeded, subscriber);
    expect(await deliverQueued()).toBe(1);
    expect(receivedAt('/renewals').map((request) => JSON.parse(request.body).type)).toEqual(['subscription.renewed']);
  });

  it('sends subscription.started once for a free trial and once for a claimed gift, naming the grant', async () => {
    const seeded = await h.seedChannel({ payoutStrategy: 'threshold' });
    const endpoint = await endpointFor(seeded, '/grants', ['subscription.started', 'subscription.renewed']);
    await h.db.query('UPDATE channel_tiers SET trial_days = 7 WHERE id = $1', [seeded.tier.id]);
    const newcomer = await insertTelegramUser(h.db);
    const taps = await Promise.all([1, 2].map(() => grantTrial(deps(), { user: { id: newcomer.id, firstName: 'New' }, channelId: seeded.channel.id, tierNumber: 1 })));
    expect(taps.map((tap) => tap.outcome).sort()).toEqual(['already_used', 'granted']);

    const buyer = await insertTelegramUser(h.db);
    const checkout = await insertCheckout(h.db, { telegramUserId: buyer.id, channelId: seeded.channel.id, tierId: seeded.tier.id, status: 'paid' });
    await h.db.query('UPDATE checkouts SET is_gift = true WHERE id = $1', [checkout.id]);
    const payment = await insertPayment(h.db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
    const giftId = await h.db.transaction((tx) =>
      createGift(tx, { paymentId: payment.id, buyerTelegramUserId: buyer.id, channelId: seeded.channel.id, tierId: seeded.tier.id, durationDays: 30, now: h.clock.now() }, []),
    );
    const code = await issueGiftClaimCode(h.db, giftId);
    const claimer = await insertTelegramUser(h.db);
    const claims = await Promise.all([1, 2].map(() => claimGift(deps(), { user: { id: claimer.id, firstName: 'Friend' }, code: code ?? '' })));
    expect(claims.filter((claim) => claim.outcome === 'claimed' && !claim.isRepeat)).toHaveLength(1);

    expect(await deliverQueued()).toBe(2);
    expect(await deliverQueued()).toBe(0);
    const events = receivedAt('/grants').map((request) => verify(request.body, signatureOf(request), endpoint.secret, 300, nowSeconds()));
    const byGrant = new Map(events.map((event) => [event.data.grant, event]));
    expect(events.map((event) => event.type)).toEqual(['subscription.started', 'subscription.started']);
    expect(byGrant.get('trial')?.data).toMatchObject({ telegramUserId: newcomer.id.toString(), paymentId: null });
    expect(byGrant.get('gift')?.data).toMatchObject({ telegramUserId: claimer.id.toString(), paymentId: null });
    expect(String(byGrant.get('gift')?.data.subscriptionId)).toMatch(/^sub_/);
  });

  it('retries after a 500 with backoff through the sweep and delivers once', async () => {
    const seeded = await h.seedChannel({ payoutStrategy: 'threshold' });
    const endpoint = await endpointFor(seeded, '/flaky', ['payout.failed']);
    receiver.answers.set('/flaky', [500]);
    const payout = await insertPayout(h.db, { channelId: seeded.channel.id });
    await h.db.transaction((tx) => transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'failed', at: h.clock.now(), failureCode: 'test_failure', failureReason: 'a test' }));
    expect(await deliverQueued()).toBe(1);
    expect(receivedAt('/flaky')).toHaveLength(1);
    const pending = await h.db.query<{ state: string; attempts: number; last_status_code: number; next_attempt_at: Date }>(
      `SELECT state, attempts, last_status_code, next_attempt_at FROM owner_webhook_deliveries WHERE endpoint_id = (SELECT id FROM owner_webhook_endpoints WHERE url = $1)`,
      [receiver.url('/flaky')],
    );
    expect(pending.rows).toEqual([{ state: 'pending', attempts: 1, last_status_code: 500, next_attempt_at: new Date(h.clock.now().getTime() + 60_000) }]);
    const { rows: logged } = await h.db.query<{ error_class: string; bytes: number }>(
      `SELECT error_class, octet_length(response_body) AS bytes FROM owner_webhook_attempts a JOIN owner_webhook_deliveries d ON d.id = a.delivery_id
        WHERE d.endpoint_id = (SELECT id FROM owner_webhook_endpoints WHERE url = $1)`,
      [receiver.url('/flaky')],
    );
    expect(logged).toEqual([{ error_class: 'http_status', bytes: 1024 }]);

    // Not due yet: the sweep queues nothing. A minute later it queues the retry, delivered twice at once.
    expect(await requeueDueWebhookDeliveries(h)).toBe(0);
    h.clock.advance(61_000);
    expect(await requeueDueWebhookDeliveries(h)).toBe(1);
    expect(await requeueDueWebhookDeliveries(h)).toBe(0);
    expect(await deliverQueued()).toBe(1);
    const requests = receivedAt('/flaky');
    expect(requests).toHaveLength(2);
    const event = verify(requests[1]!.body, signatureOf(requests[1]!), endpoint.secret, 300, nowSeconds());
    expect(event).toMatchObject({ type: 'payout.failed', data: { state: 'failed', failureCode: 'test_failure', asset: 'ETH', amount: '0.002' } });
    expect(requests[0]!.body).toBe(requests[1]!.body);
    const { rows } = await h.db.query<{ state: string; attempts: number }>(
      `SELECT state, attempts FROM owner_webhook_deliveries WHERE endpoint_id = (SELECT id FROM owner_webhook_endpoints WHERE url = $1)`,
      [receiver.url('/flaky')],
    );
    expect(rows).toEqual([{ state: 'delivered', attempts: 2 }]);
    h.clock.advance(3_600_000);
    expect(await requeueDueWebhookDeliveries(h)).toBe(0);
  });

  it('finishes a delivery whose deliverer crashed mid-POST once its lease lapses, and fails one whose endpoint was disabled', async () => {
    const seeded = await h.seedChannel({ payoutStrategy: 'threshold' });
    await endpointFor(seeded, '/crashed', ['payout.failed']);
    const disabled = await endpointFor(seeded, '/disabled', ['payout.failed']);
    const payout = await insertPayout(h.db, { channelId: seeded.channel.id });
    await h.db.transaction((tx) => transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'failed', at: h.clock.now(), failureCode: 'test_failure', failureReason: 'a test' }));
    await h.db.query(`UPDATE owner_webhook_endpoints SET is_enabled = false WHERE id = $1`, [parsePublicId('webhookEndpoint', disabled.id)]);
    // The crashed deliverer: it claimed the row (lease, attempt 1) and its messages were acknowledged, then it died.
    const crashedWhere = `endpoint_id = (SELECT id FROM owner_webhook_endpoints WHERE url = '${receiver.url('/crashed')}')`;
    await h.db.query(`UPDATE owner_webhook_deliveries SET leased_until = $1::timestamptz + interval '60 seconds', attempts = 1 WHERE ${crashedWhere}`, [h.clock.now()]);
    expect(await deliverQueued()).toBe(2);
    expect(receivedAt('/crashed')).toHaveLength(0);
    expect(receivedAt('/disabled')).toHaveLength(0);
    const stateOf = async (where: string) => (await h.db.query<{ state: string; attempts: number; last_error: string | null }>(`SELECT state, attempts, last_error FROM owner_webhook_deliveries WHERE ${where}`)).rows;
    expect(await stateOf(`endpoint_id = '${parsePublicId('webhookEndpoint', disabled.id)}'`)).toEqual([{ state: 'failed', attempts: 0, last_error: 'endpoint_disabled' }]);

    h.clock.advance(61_000);
    expect(await requeueDueWebhookDeliveries(h)).toBe(0); // its message went out under 5 minutes ago
    h.clock.advance(4 * 60_000);
    expect(await requeueDueWebhookDeliveries(h)).toBe(1);
    expect(await deliverQueued()).toBe(1);
    expect(receivedAt('/crashed')).toHaveLength(1);
    expect(await stateOf(crashedWhere)).toEqual([{ state: 'delivered', attempts: 2, last_error: null }]);
  });

  it('ends a delivery as failed when its next attempt would fall past 3 days, and disables an endpoint that delivered nothing in those days (owner mailed)', async () => {
    const seeded = await h.seedChannel({ payoutStrategy: 'threshold' });
    await endpointFor(seeded, '/down', ['payout.failed']);
    receiver.answers.set('/down', [503]);
    const payout = await insertPayout(h.db, { channelId: seeded.channel.id });
    await h.db.transaction((tx) => transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'failed', at: h.clock.now(), failureCode: 'test_failure', failureReason: 'a test' }));
    // As if it had been failing since 3 days minus 30 s: the next wait (1 min) would end past the window.
    await h.db.query(
      `UPDATE owner_webhook_deliveries SET created_at = created_at - interval '3 days' + interval '30 seconds'
        WHERE endpoint_id = (SELECT id FROM owner_webhook_endpoints WHERE url = $1)`,
      [receiver.url('/down')],
    );
    expect(await deliverQueued()).toBe(1);
    const { rows } = await h.db.query<{ state: string; next_attempt_at: Date | null; last_status_code: number }>(
      `SELECT state, next_attempt_at, last_status_code FROM owner_webhook_deliveries WHERE endpoint_id = (SELECT id FROM owner_webhook_endpoints WHERE url = $1)`,
      [receiver.url('/down')],
    );
    expect(rows).toEqual([{ state: 'failed', next_attempt_at: null, last_status_code: 503 }]);
    h.clock.advance(3_600_000);
    expect(await requeueDueWebhookDeliveries(h)).toBe(0);

    // Failing for 3 days with nothing delivered: disabled once, audited as the system, the owner mailed.
    const endpoint = await h.db.query<{ is_enabled: boolean }>('SELECT is_enabled FROM owner_webhook_endpoints WHERE url = $1', [receiver.url('/down')]);
    expect(endpoint.rows).toEqual([{ is_enabled: false }]);
    const audited = await h.db.query<{ actor_type: string; action: string }>(
      `SELECT actor_type, action FROM audit_log WHERE subject_id = $1 AND action = 'webhook_endpoint.disabled'`,
      [seeded.ownerAccountId],
    );
    expect(audited.rows).toEqual([{ actor_type: 'system', action: 'webhook_endpoint.disabled' }]);
    const mails = await h.db.query(`SELECT 1 FROM outbox WHERE topic = 'account-mail-requested' AND payload->>'kind' = 'webhook_endpoint_disabled' AND payload->>'accountId' = $1`, [
      seeded.ownerAccountId,
    ]);
    expect(mails.rows).toHaveLength(1);
  });

  it('keeps an endpoint enabled when one event got through during those 3 days', async () => {
    const seeded = await h.seedChannel({ payoutStrategy: 'threshold' });
    const endpointId = parsePublicId('webhookEndpoint', (await endpointFor(seeded, '/flaky', ['payout.failed'])).id);
    receiver.answers.set('/flaky', [200, 503, 503]);
    for (let i = 0; i < 2; i++) {
      const payout = await insertPayout(h.db, { channelId: seeded.channel.id });
      await h.db.transaction((tx) => transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'failed', at: h.clock.now(), failureCode: 'test_failure', failureReason: 'a test' }));
      h.clock.advance(1_000);
    }
    expect(await deliverQueued()).toBe(2);
    // The one still failing has done so for 3 days (minus 30 s); the other was delivered since.
    await h.db.query(
      `UPDATE owner_webhook_deliveries SET created_at = created_at - interval '3 days' + interval '30 seconds', next_attempt_at = $2
        WHERE endpoint_id = $1 AND state = 'pending'`,
      [endpointId, h.clock.now()],
    );
    expect(await requeueDueWebhookDeliveries(h)).toBe(1);
    expect(await deliverQueued()).toBe(1);
    const { rows } = await h.db.query<{ state: string }>(
      'SELECT state FROM owner_webhook_deliveries WHERE endpoint_id = $1 ORDER BY state',
      [endpointId],
    );
    expect(rows.map((row) => row.state)).toEqual(['delivered', 'failed']);
    expect((await h.db.query('SELECT is_enabled FROM owner_webhook_endpoints WHERE id = $1', [endpointId])).rows).toEqual([{ is_enabled: true }]);
  });

  it('refuses SSRF targets at registration and, after DNS resolution, at delivery', async () => {
    const seeded = await h.seedChannel({ payoutStrategy: 'threshold' });
    const production = { signingKey: SIGNING_KEY };
    for (const url of [
      'https://127.0.0.1/hook',
      'https://10.0.0.5/hook',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::1]/hook',
      'https://[::ffff:10.0.0.1]/hook',
      'https://[fd00:ec2::254]/hook',
      'https://100.64.0.1/hook',
      'https://localhost/hook',
      'http://example.com/hook',
      'https://user:secret@example.com/hook',
      receiver.url('/loopback'),
    ]) {
      await expect(createWebhookEndpoint(deps(), production, { accountId: seeded.ownerAccountId }, { url, events: ['payout.failed'] }, passwordConfirmed), url).rejects.toMatchObject({
        code: 'validation_failed',
        kind: 'invalid',
        context: { fields: { url: expect.any(String) } },
      });
    }

    // Names that pass registration but resolve to private addresses (one of several is enough). The
    // deliverer here allows loopback (the local receiver), so the private addresses are others.
    dns.set('internal.example.com', ['10.1.2.3']);
    dns.set('metadata.example.com', ['169.254.169.254']);
    dns.set('rebind.example.com', ['93.184.216.34', '192.168.1.10']);
    for (const host of ['internal.example.com', 'metadata.example.com', 'rebind.example.com']) {
      await createWebhookEndpoint(deps(), production, { accountId: seeded.ownerAccountId }, { url: `https://${host}/hook`, events: ['payout.failed'] }, passwordConfirmed);
    }
    const before = receiver.received.length;
    const payout = await insertPayout(h.db, { channelId: seeded.channel.id });
    await h.db.transaction((tx) => transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'failed', at: h.clock.now(), failureCode: 'test_failure', failureReason: 'a test' }));
    expect(await deliverQueued()).toBe(3);
    expect(receiver.received.length).toBe(before);
    const { rows } = await h.db.query<{ state: string; error_class: string; status_code: number | null }>(
      `SELECT d.state, a.error_class, a.status_code FROM owner_webhook_attempts a JOIN owner_webhook_deliveries d ON d.id = a.delivery_id
         JOIN owner_webhook_endpoints e ON e.id = d.endpoint_id WHERE e.account_id = $1`,
      [seeded.ownerAccountId],
    );
    expect(rows).toEqual(Array(3).fill({ state: 'pending', error_class: 'refused_address', status_code: null }));
  });

  it('signs with the new and the previous secret during a rotation overlap, then with the new one only', async () => {
    const seeded = await h.seedChannel({ payoutStrategy: 'threshold' });
    const original = await endpointFor(seeded, '/rotating', ['payout.failed']);
    const rotated = await rotateWebhookSecret(deps(), settings, { accountId: seeded.ownerAccountId }, original.id, { overlapHours: 24 }, passwordConfirmed);
    expect(rotated.secret).not.toBe(original.secret);
    expect(rotated.secretVersion).toBe(2);

    const failPayout = async () => {
      const payout = await insertPayout(h.db, { channelId: seeded.channel.id });
      await h.db.transaction((tx) => transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'failed', at: h.clock.now(), failureCode: 'test_failure', failureReason: 'a test' }));
      await deliverQueued();
      return receivedAt('/rotating').at(-1)!;
    };
    const during = await failPayout();
    expect(signatureOf(during).match(/v1=/g)).toHaveLength(2);
    expect(verify(during.body, signatureOf(during), rotated.secret, 300, nowSeconds()).type).toBe('payout.failed');
    expect(verify(during.body, signatureOf(during), original.secret, 300, nowSeconds()).type).toBe('payout.failed');

    h.clock.advance(25 * 3_600_000);
    const after = await failPayout();
    expect(signatureOf(after).match(/v1=/g)).toHaveLength(1);
    expect(verify(after.body, signatureOf(after), rotated.secret, 300, nowSeconds()).type).toBe('payout.failed');
    expect(() => verify(after.body, signatureOf(after), original.secret, 300, nowSeconds())).toThrow(/No PayGate-Signature/);
  });
});
