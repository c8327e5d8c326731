import { accountIdByEmail } from '../testing/encrypted-fields.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../ids/index.js';
import { createDashboardHarness, type DashboardHarness, mailedToken } from '../testing/dashboard-api.js';
import { creditOwner, insertChannel, insertCheckout, insertPayment, insertPayout, insertSubscription, insertTier } from '../testing/fixtures.js';

const PASSWORD = 'correct horse battery';

let h: DashboardHarness;
let n = 0;
let token: string;
let strangerToken: string;
let channelId: string;
let strangerChannelId: string;
let payoutId: string;
let strangerPayoutId: string;

async function session(): Promise<{ accountId: string; token: string }> {
  const email = `earner.${++n}@example.com`;
  const ip = `192.0.2.${n}`;
  await h.request('POST', '/auth/signup', { body: { email, password: PASSWORD }, ip });
  await h.deliverMails();
  await h.request('POST', '/auth/verify-email', { body: { token: mailedToken(h.outbox, email) }, ip });
  const login = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip });
  const rows = [{ id: (await accountIdByEmail(h.testDb.db, email))! }];
  return { accountId: rows[0]!.id, token: login.json.accessToken as string };
}

beforeAll(async () => {
  h = await createDashboardHarness();
  const db = h.testDb.db;
  const owner = await session();
  const stranger = await session();
  token = owner.token;
  strangerToken = stranger.token;
  const channel = await insertChannel(db, { ownerAccountId: owner.accountId });
  const other = await insertChannel(db, { ownerAccountId: stranger.accountId });
  channelId = formatPublicId('channel', channel.id);
  strangerChannelId = formatPublicId('channel', other.id);
  const tier = await insertTier(db, { channelId: channel.id });
  for (let i = 0; i < 5; i++) {
    const checkout = await insertCheckout(db, { channelId: channel.id, tierId: tier.id });
    await insertPayment(db, { checkoutId: checkout.id, status: i < 3 ? 'finished' : 'waiting', isSettled: i < 3 });
  }
  await insertSubscription(db, { channelId: channel.id });
  await creditOwner(db, channel.id, 'ETH', 5_000_000_000_000_000n);
  payoutId = formatPublicId('payout', (await insertPayout(db, { channelId: channel.id })).id);
  strangerPayoutId = formatPublicId('payout', (await insertPayout(db, { channelId: other.id })).id);
});
afterAll(() => h?.dispose());

describe('authentication', () => {
  it.each(['/balances', '/revenue', '/channel-figures', '/payments', '/subscriptions', '/payouts', '/payouts/po_Ehz5dX8hQSeMc0Q8m0Q2Xw', '/exports/payments', '/exports/payouts'])(
    'GET %s answers 401 without a token and with an invalid one',
    async (path) => {
      expect((await h.request('GET', path)).status).toBe(401);
      expect((await h.request('GET', path, { headers: { authorization: 'Bearer x.y.z' } })).status).toBe(401);
    },
  );
});

describe('GET /balances', () => {
  it('answers the owner balance and what payouts hold, as decimal strings', async () => {
    const response = await h.request('GET', '/balances', { token });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      totals: [{ asset: 'ETH', available: '0.005', inPayouts: '0.002' }],
      channels: [{ channelId, balances: [{ asset: 'ETH', available: '0.005', inPayouts: '0.002' }] }],
    });
  });
});

describe('GET /revenue and GET /channel-figures', () => {
  it('answers the settled revenue by day and each channel’s figures; only the owner’s', async () => {
    const revenue = await h.request('GET', '/revenue', { token });
    expect(revenue.status).toBe(200);
    expect(revenue.json).toMatchObject({ interval: 'day', payments: 3 });
    expect(revenue.json.points).toHaveLength(30);
    const figures = await h.request('GET', '/channel-figures', { token });
    expect(figures.status).toBe(200);
    expect(figures.json.channels).toEqual([
      { channelId, activeSubscribers: 1, revenue30DaysUsd: revenue.json.totalUsd, nextPayout: { strategy: 'instant', inFlight: 1 } },
    ]);
    expect((await h.request('GET', '/channel-figures', { token: strangerToken })).json.channels).toEqual([
      expect.objectContaining({ channelId: strangerChannelId, revenue30DaysUsd: '0.00' }),
    ]);
  });

  it('answers 400 naming the parameter for a bad range or interval, 404 for another account’s channel', async () => {
    const inverted = await h.request('GET', '/revenue?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', { token });
    expect(inverted.status).toBe(400);
    expect(inverted.json.error.fields).toEqual({ 'query.to': 'must be later than from' });
    expect((await h.request('GET', '/revenue?interval=hour', { token })).json.error.fields['query.interval']).toBeDefined();
    expect((await h.request('GET', `/revenue?channelId=${strangerChannelId}`, { token })).status).toBe(404);
  });
});

describe('GET /payments', () => {
  it('pages with a cursor and filters by status and channel', async () => {
    const first = await h.request('GET', `/payments?limit=2&channelId=${channelId}`, { token });
    expect(first.status).toBe(200);
    expect(first.json.items).toHaveLength(2);
    const second = await h.request('GET', `/payments?limit=2&channelId=${channelId}&cursor=${first.json.nextCursor}`, { token });
    const third = await h.request('GET', `/payments?limit=2&channelId=${channelId}&cursor=${second.json.nextCursor}`, { token });
    expect(third.json.nextCursor).toBeNull();
    const ids = [...first.json.items, ...second.json.items, ...third.json.items].map((payment: { id: string }) => payment.id);
    expect(new Set(ids).size).toBe(5);
    const finished = await h.request('GET', '/payments?status=finished', { token });
    expect(finished.json.items.map((payment: { status: string }) => payment.status)).toEqual(['finished', 'finished', 'finished']);
  });

  it.each([
    ['status=paid', 'query.status'],
    ['limit=500', 'query.limit'],
    ['from=yesterday', 'query.from'],
    ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'query.to'],
  ])('answers 400 for ?%s naming %s', async (query, field) => {
    const response = await h.request('GET', `/payments?${query}`, { token });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('validation_failed');
    expect(Object.keys(response.json.error.fields)).toContain(field);
  });

  it('answers 400 for a forged cursor and 404 for another account’s channel', async () => {
    expect((await h.request('GET', '/payments?cursor=abc', { token })).json.error.code).toBe('invalid_cursor');
    const response = await h.request('GET', `/payments?channelId=${strangerChannelId}`, { token });
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('channel_not_found');
  });
});

describe('GET /subscriptions', () => {
  it('lists the subscriptions, filtered by status', async () => {
    expect((await h.request('GET', '/subscriptions?status=active', { token })).json.items).toHaveLength(1);
    expect((await h.request('GET', '/subscriptions?status=expired', { token })).json.items).toHaveLength(0);
    expect((await h.request('GET', '/subscriptions?status=gone', { token })).status).toBe(400);
    expect((await h.request('GET', `/subscriptions?channelId=${strangerChannelId}`, { token })).status).toBe(404);
  });
});

describe('GET /payouts and /payouts/{payoutId}', () => {
  it('lists payouts with their breakdown and returns one', async () => {
    const list = await h.request('GET', '/payouts', { token });
    expect(list.status).toBe(200);
    expect(list.json.items).toEqual([expect.objectContaining({ id: payoutId, kind: 'threshold', state: 'requested' })]);
    const one = await h.request('GET', `/payouts/${payoutId}`, { token });
    expect(one.status).toBe(200);
    expect(one.json.breakdown).toMatchObject({ asset: 'ETH', basis: 'balance', gross: '0.002', sent: '0.002', net: null });
    expect((await h.request('GET', '/payouts?state=done', { token })).status).toBe(400);
  });

  it('answers 404 for another account’s payout', async () => {
    const response = await h.request('GET', `/payouts/${strangerPayoutId}`, { token });
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('payout_not_found');
    expect((await h.request('GET', `/payouts/${payoutId}`, { token: strangerToken })).status).toBe(404);
  });
});

describe('CSV exports', () => {
  it('answers the payments CSV in a JSON envelope with a file name', async () => {
    const response = await h.request('GET', '/exports/payments?status=finished', { token });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ filename: expect.stringMatching(/^payments-\d{4}-\d{2}-\d{2}\.csv$/), contentType: 'text/csv; charset=utf-8' });
    expect(response.json.csv.split('\r\n')).toHaveLength(5);
  });

  it('answers the payouts CSV, 404 for another account’s channel, 400 for a bad filter', async () => {
    const response = await h.request('GET', '/exports/payouts', { token });
    expect(response.json.csv).toContain(payoutId);
    expect((await h.request('GET', `/exports/payouts?channelId=${strangerChannelId}`, { token })).status).toBe(404);
    expect((await h.request('GET', '/exports/payouts?state=x', { token })).status).toBe(400);
  });

  it('answers 429 with Retry-After after 30 exports in an hour', async () => {
    const { token: busy } = await session();
    for (let i = 0; i < 30; i++) expect((await h.request('GET', '/exports/payouts', { token: busy })).status).toBe(200);
    const limited = await h.request('GET', '/exports/payments', { token: busy });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});
