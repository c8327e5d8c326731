import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../errors/index.js';
import { parsePublicId } from '../ids/index.js';
import { createNowPaymentsClient, type NowPaymentsClient } from '../nowpayments/index.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, hasPostgresServer, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertTier, type ChannelFixture, type TierFixture } from '../testing/fixtures.js';
import { type NowPaymentsSimulator, startNowPaymentsSimulator } from '../testing/simulators/nowpayments-simulator.js';
import { type CheckoutDeps, type CheckoutRequest, openCheckout } from './checkouts.js';

const API_KEY = 'np_test_api_key';
const MINUTE_MS = 60_000;

let testDb: TestDatabase;
let clock: FakeClock;
let nowpayments: NowPaymentsSimulator;
let deps: CheckoutDeps;
let nextUserId = 910_000_000n;

const instantSleep = () => Promise.resolve();

function clientFor(apiUrl: string, apiKey = API_KEY): NowPaymentsClient {
  return createNowPaymentsClient({ apiUrl, apiKey, maxAttempts: 1, sleep: instantSleep });
}

/** A URL nothing listens on: the port was free a moment ago. */
async function unreachableApiUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

function newUser() {
  const id = nextUserId++;
  return { id, username: `buyer${id}`, firstName: 'Buyer' };
}

function subscription(channelId: string, user = newUser(), tierNumber = 1): CheckoutRequest {
  return { kind: 'subscription', user, channelId, tierNumber };
}

function invoicesFor(publicId: string) {
  return nowpayments.invoices().filter((invoice) => invoice.orderId === publicId);
}

async function checkoutRow(id: string) {
  const { rows } = await testDb.db.query<{ status: string; price_cents: bigint; duration_days: number | null; provider_invoice_id: string | null }>(
    'SELECT status, price_cents, duration_days, provider_invoice_id FROM checkouts WHERE id = $1',
    [id],
  );
  return rows[0];
}

async function seedChannel(options: { priceCents?: bigint; days?: number } = {}): Promise<{ channel: ChannelFixture; tier: TierFixture }> {
  const channel = await insertChannel(testDb.db);
  const tier = await insertTier(testDb.db, { channelId: channel.id, tierNumber: 1, priceCents: options.priceCents ?? 999n, durationDays: options.days ?? 30 });
  return { channel, tier };
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock(FIXTURE_NOW);
  nowpayments = await startNowPaymentsSimulator({ apiKey: API_KEY, ipnSecret: 'ipn_secret', clock });
  deps = {
    db: testDb.db,
    clock,
    nowpayments: clientFor(nowpayments.apiUrl),
    publicBaseUrl: 'https://gateway.example.com',
    returnUrl: 'https://t.me/paygateprime_test_bot',
  };
});
afterAll(async () => {
  await nowpayments?.close();
  await testDb?.dispose();
});

describe('openCheckout', () => {
  describe('price and duration', () => {
    it('takes the price and duration from the tier in the database, never from the request', async () => {
      const { channel } = await seedChannel({ priceCents: 1499n, days: 90 });
      // A caller that smuggles a price in (the legacy deep link carried one) is ignored.
      const smuggled = { kind: 'subscription' as const, user: newUser(), channelId: channel.id, tierNumber: 1, priceCents: 1n, durationDays: 3650 };
      const request: CheckoutRequest = smuggled;

      const checkout = await openCheckout(deps, request);

      expect(checkout).toMatchObject({ kind: 'subscription', priceCents: 1499n, durationDays: 90, isReused: false });
      expect(await checkoutRow(checkout.id)).toMatchObject({ price_cents: 1499n, duration_days: 90 });
      expect(invoicesFor(checkout.publicId)).toEqual([
        expect.objectContaining({ priceAmount: '14.99', priceCurrency: 'usd', orderDescription: 'Subscription - 90 days' }),
      ]);
    });

    it('has no price field in the request type', () => {
      const request: CheckoutRequest = {
        kind: 'subscription',
        user: newUser(),
        channelId: '00000000-0000-4000-8000-000000000000',
        tierNumber: 1,
        // @ts-expect-error a checkout request cannot name a price: it comes from the tier
        priceCents: 1n,
      };
      expect(request.kind).toBe('subscription');
    });

    it('keeps the open checkout’s snapshot when the tier price changes, and replaces it on the next request', async () => {
      const { channel, tier } = await seedChannel({ priceCents: 999n });
      const user = newUser();
      const first = await openCheckout(deps, subscription(channel.id, user));

      await testDb.db.query('UPDATE channel_tiers SET price_cents = 1299 WHERE id = $1', [tier.id]);
      expect(await checkoutRow(first.id)).toMatchObject({ status: 'open', price_cents: 999n });

      const second = await openCheckout(deps, subscription(channel.id, user));
      expect(second.id).not.toBe(first.id);
      expect(second).toMatchObject({ priceCents: 1299n, isReused: false });
      expect(await checkoutRow(first.id)).toMatchObject({ status: 'expired', price_cents: 999n });
      expect(invoicesFor(second.publicId).map((invoice) => invoice.priceAmount)).toEqual(['12.99']);
    });

    it('replaces the open checkout when the tier’s duration changes', async () => {
      const { channel, tier } = await seedChannel({ days: 30 });
      const user = newUser();
      const first = await openCheckout(deps, subscription(channel.id, user));
      await testDb.db.query('UPDATE channel_tiers SET duration_days = 60 WHERE id = $1', [tier.id]);

      const second = await openCheckout(deps, subscription(channel.id, user));
      expect(second.id).not.toBe(first.id);
      expect(second.durationDays).toBe(60);
    });
  });

  describe('one open checkout per user × channel × tier', () => {
    it('reuses the open checkout and its invoice while it is valid', async () => {
      const { channel } = await seedChannel();
      const user = newUser();
      const invoicesBefore = nowpayments.invoices().length;

      const first = await openCheckout(deps, subscription(channel.id, user));
      clock.advance(59 * MINUTE_MS);
      const second = await openCheckout(deps, subscription(channel.id, user));

      expect(first.isReused).toBe(false);
      expect(second).toEqual({ ...first, isReused: true });
      expect(nowpayments.invoices().length - invoicesBefore).toBe(1);
    });

    it('opens a new checkout with a new invoice once the old one is past its validity', async () => {
      const { channel } = await seedChannel();
      const user = newUser();
      const first = await openCheckout(deps, subscription(channel.id, user));
      expect(first.expiresAt).toEqual(new Date(clock.now().getTime() + 60 * MINUTE_MS));

      clock.advance(61 * MINUTE_MS);
      const second = await openCheckout(deps, subscription(channel.id, user));

      expect(second.id).not.toBe(first.id);
      expect(second.invoiceUrl).not.toBe(first.invoiceUrl);
      expect(second.isReused).toBe(false);
      expect(await checkoutRow(first.id)).toMatchObject({ status: 'expired' });
      expect(await checkoutRow(second.id)).toMatchObject({ status: 'open' });
      expect(invoicesFor(first.publicId)).toHaveLength(1);
      expect(invoicesFor(second.publicId)).toHaveLength(1);
    });

    it('never reuses a checkout that was paid: the next purchase (a renewal) gets its own', async () => {
      const { channel } = await seedChannel();
      const user = newUser();
      const paid = await openCheckout(deps, subscription(channel.id, user));
      await testDb.db.query(`UPDATE checkouts SET status = 'paid', paid_at = $2 WHERE id = $1`, [paid.id, clock.now()]);

      const renewal = await openCheckout(deps, subscription(channel.id, user));

      expect(renewal.id).not.toBe(paid.id);
      expect(renewal.isReused).toBe(false);
      expect(invoicesFor(renewal.publicId)).toHaveLength(1);
    });

    it('gives a different tier its own checkout', async () => {
      const { channel } = await seedChannel();
      await insertTier(testDb.db, { channelId: channel.id, tierNumber: 2, priceCents: 2499n, durationDays: 90 });
      const user = newUser();

      const tier1 = await openCheckout(deps, subscription(channel.id, user, 1));
      const tier2 = await openCheckout(deps, subscription(channel.id, user, 2));

      expect(tier2.id).not.toBe(tier1.id);
      expect(tier2).toMatchObject({ priceCents: 2499n, durationDays: 90, isReused: false });
      expect(await checkoutRow(tier1.id)).toMatchObject({ status: 'open' });
      expect(await checkoutRow(tier2.id)).toMatchObject({ status: 'open' });
    });

    it.skipIf(!hasPostgresServer)('gives simultaneous requests (a double tap) one checkout and one offered invoice [skipped: needs DATABASE_URL]', async () => {
      const { channel } = await seedChannel();
      const user = newUser();

      const checkouts = await Promise.all([1, 2, 3].map(() => openCheckout(deps, subscription(channel.id, user))));

      expect(new Set(checkouts.map((checkout) => checkout.id)).size).toBe(1);
      expect(new Set(checkouts.map((checkout) => checkout.invoiceUrl)).size).toBe(1);
      const { rows } = await testDb.db.query<{ provider_invoice_url: string }>('SELECT provider_invoice_url FROM checkouts WHERE telegram_user_id = $1', [user.id]);
      expect(rows).toEqual([{ provider_invoice_url: checkouts[0]?.invoiceUrl }]);
    });

    it('gives another user their own checkout for the same tier', async () => {
      const { channel } = await seedChannel();
      const mine = await openCheckout(deps, subscription(channel.id));
      const theirs = await openCheckout(deps, subscription(channel.id));
      expect(theirs.id).not.toBe(mine.id);
    });
  });

  describe('the NowPayments invoice', () => {
    it('sends the checkout’s public id as order_id and the IPN callback URL', async () => {
      const { channel } = await seedChannel();
      const checkout = await openCheckout(deps, subscription(channel.id));

      expect(checkout.publicId).toMatch(/^chk_[A-Za-z0-9_-]{22}$/);
      expect(parsePublicId('checkout', checkout.publicId)).toBe(checkout.id);
      const [invoice] = invoicesFor(checkout.publicId);
      expect(invoice).toMatchObject({
        orderId: checkout.publicId,
        ipnCallbackUrl: 'https://gateway.example.com/nowpayments-ipn',
        successUrl: deps.returnUrl,
        invoiceUrl: checkout.invoiceUrl,
      });
      expect(await checkoutRow(checkout.id)).toMatchObject({ provider_invoice_id: invoice?.id });
    });

    it('leaves the checkout open without an invoice when NowPayments cannot be reached, and retries for the same checkout', async () => {
      const { channel } = await seedChannel();
      const user = newUser();
      const unreachable = { ...deps, nowpayments: clientFor(await unreachableApiUrl()) };

      await expect(openCheckout(unreachable, subscription(channel.id, user))).rejects.toMatchObject({
        code: 'nowpayments_unavailable',
        isRetryable: true,
      });
      const { rows: open } = await testDb.db.query<{ id: string; provider_invoice_id: string | null; provider_invoice_url: string | null }>(
        `SELECT id, provider_invoice_id, provider_invoice_url FROM checkouts WHERE telegram_user_id = $1 AND status = 'open'`,
        [user.id],
      );
      expect(open).toEqual([expect.objectContaining({ provider_invoice_id: null, provider_invoice_url: null })]);

      const retried = await openCheckout(deps, subscription(channel.id, user));
      expect(retried.id).toBe(open[0]?.id);
      expect(retried.isReused).toBe(false);
      expect(invoicesFor(retried.publicId)).toHaveLength(1);
      expect((await checkoutRow(retried.id))?.provider_invoice_id).toMatch(/^\d+$/);
    });

    it('leaves the checkout open without an invoice when NowPayments refuses the key, and retries for the same checkout', async () => {
      const { channel } = await seedChannel();
      const user = newUser();
      const wrongKey = { ...deps, nowpayments: clientFor(nowpayments.apiUrl, 'not_the_key') };

      await expect(openCheckout(wrongKey, subscription(channel.id, user))).rejects.toMatchObject({ code: 'nowpayments_rejected' });
      const retried = await openCheckout(deps, subscription(channel.id, user));

      const { rows } = await testDb.db.query<{ id: string }>('SELECT id FROM checkouts WHERE telegram_user_id = $1', [user.id]);
      expect(rows.map((row) => row.id)).toEqual([retried.id]);
      expect(invoicesFor(retried.publicId)).toHaveLength(1);
    });
  });

  describe('donations', () => {
    async function donationChannel(options: { isEnabled?: boolean } = {}): Promise<ChannelFixture> {
      const channel = await insertChannel(testDb.db);
      if (options.isEnabled !== false) {
        await testDb.db.query('UPDATE channels SET donations_enabled = true, donation_min_cents = 500, donation_max_cents = 100000 WHERE id = $1', [
          channel.id,
        ]);
      }
      return channel;
    }

    it('opens a donation checkout for an amount within the bounds, with no duration', async () => {
      const channel = await donationChannel();
      const checkout = await openCheckout(deps, { kind: 'donation', user: newUser(), channelId: channel.id, amountCents: 2500n });

      expect(checkout).toMatchObject({ kind: 'donation', priceCents: 2500n, durationDays: null, isReused: false });
      expect(await checkoutRow(checkout.id)).toMatchObject({ price_cents: 2500n, duration_days: null });
      expect(invoicesFor(checkout.publicId)).toEqual([expect.objectContaining({ priceAmount: '25', orderDescription: 'Donation' })]);
    });

    it('accepts the bounds themselves', async () => {
      const channel = await donationChannel();
      await expect(openCheckout(deps, { kind: 'donation', user: newUser(), channelId: channel.id, amountCents: 500n })).resolves.toMatchObject({ priceCents: 500n });
      await expect(openCheckout(deps, { kind: 'donation', user: newUser(), channelId: channel.id, amountCents: 100000n })).resolves.toMatchObject({
        priceCents: 100000n,
      });
    });

    it.each([
      ['below the minimum', 499n],
      ['above the maximum', 100001n],
    ])('refuses an amount %s with donation_out_of_bounds', async (_case, amountCents) => {
      const channel = await donationChannel();
      const invoicesBefore = nowpayments.invoices().length;
      const attempt = openCheckout(deps, { kind: 'donation', user: newUser(), channelId: channel.id, amountCents });
      await expect(attempt).rejects.toBeInstanceOf(PermanentError);
      await expect(attempt).rejects.toMatchObject({ code: 'donation_out_of_bounds' });
      expect(nowpayments.invoices().length).toBe(invoicesBefore);
    });

    it('refuses a donation to a channel without donations with donations_disabled', async () => {
      const channel = await donationChannel({ isEnabled: false });
      const attempt = openCheckout(deps, { kind: 'donation', user: newUser(), channelId: channel.id, amountCents: 1000n });
      await expect(attempt).rejects.toBeInstanceOf(PermanentError);
      await expect(attempt).rejects.toMatchObject({ code: 'donations_disabled' });
    });

    it('keeps a donation checkout apart from the same user’s subscription checkout', async () => {
      const channel = await donationChannel();
      await insertTier(testDb.db, { channelId: channel.id, tierNumber: 1 });
      const user = newUser();
      const sub = await openCheckout(deps, subscription(channel.id, user));
      const donation = await openCheckout(deps, { kind: 'donation', user, channelId: channel.id, amountCents: 1000n });
      expect(donation.id).not.toBe(sub.id);
      expect(await checkoutRow(sub.id)).toMatchObject({ status: 'open' });
    });
  });

  describe('what cannot be bought', () => {
    it.each([
      ['a paused channel', 'paused', 'channel_unavailable'],
      ['a pending channel', 'pending', 'channel_unavailable'],
      ['a deleted channel', 'deleted', 'channel_unavailable'],
    ] as const)('refuses %s', async (_case, status, code) => {
      const channel = await insertChannel(testDb.db, { status });
      await insertTier(testDb.db, { channelId: channel.id, tierNumber: 1 });
      const attempt = openCheckout(deps, subscription(channel.id));
      await expect(attempt).rejects.toBeInstanceOf(PermanentError);
      await expect(attempt).rejects.toMatchObject({ code });
    });

    it('refuses a channel that does not exist', async () => {
      await expect(openCheckout(deps, subscription('00000000-0000-4000-8000-000000000000'))).rejects.toMatchObject({ code: 'channel_unavailable' });
    });

    it('refuses a tier the channel does not have', async () => {
      const { channel } = await seedChannel();
      const attempt = openCheckout(deps, subscription(channel.id, newUser(), 3));
      await expect(attempt).rejects.toBeInstanceOf(PermanentError);
      await expect(attempt).rejects.toMatchObject({ code: 'tier_unavailable' });
    });

    it('refuses a tier the owner switched off', async () => {
      const { channel, tier } = await seedChannel();
      await testDb.db.query('UPDATE channel_tiers SET is_active = false WHERE id = $1', [tier.id]);
      await expect(openCheckout(deps, subscription(channel.id))).rejects.toMatchObject({ code: 'tier_unavailable' });
    });

    it('writes no checkout and makes no invoice when it refuses', async () => {
      const channel = await insertChannel(testDb.db, { status: 'paused' });
      const user = newUser();
      const invoicesBefore = nowpayments.invoices().length;
      await expect(openCheckout(deps, subscription(channel.id, user))).rejects.toBeInstanceOf(PermanentError);
      const { rows } = await testDb.db.query('SELECT id FROM checkouts WHERE telegram_user_id = $1', [user.id]);
      expect(rows).toEqual([]);
      expect(nowpayments.invoices().length).toBe(invoicesBefore);
    });
  });
});
