import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNowPaymentsClient } from '../nowpayments/index.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertTier } from '../testing/fixtures.js';
import { type NowPaymentsSimulator, startNowPaymentsSimulator } from '../testing/simulators/nowpayments-simulator.js';
import { type CheckoutDeps, openCheckout } from './checkouts.js';

const API_KEY = 'np_test_api_key';
let testDb: TestDatabase;
let clock: FakeClock;
let nowpayments: NowPaymentsSimulator;
let deps: CheckoutDeps;
let channelId: string;
let nextUserId = 920_000_000n;

const newUser = () => {
  const id = nextUserId++;
  return { id, username: `buyer${id}`, firstName: 'Buyer' };
};

async function uses(userId: bigint): Promise<{ status: string }[]> {
  const { rows } = await testDb.db.query<{ status: string }>(
    'SELECT r.status FROM promo_code_reservations r JOIN checkouts k ON k.id = r.checkout_id WHERE k.telegram_user_id = $1 ORDER BY r.reserved_at, r.status',
    [userId.toString()],
  );
  return rows;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock(FIXTURE_NOW);
  nowpayments = await startNowPaymentsSimulator({ apiKey: API_KEY, ipnSecret: 'ipn_secret', clock });
  deps = {
    db: testDb.db,
    clock,
    nowpayments: createNowPaymentsClient({ apiUrl: nowpayments.apiUrl, apiKey: API_KEY, maxAttempts: 1, sleep: () => Promise.resolve() }),
    publicBaseUrl: 'https://gateway.example.com',
    returnUrl: 'https://t.me/paygateprime_test_bot',
  };
  channelId = (await insertChannel(testDb.db)).id;
  await insertTier(testDb.db, { channelId, tierNumber: 1, priceCents: 1000n });
  await testDb.db.query(`INSERT INTO promo_codes (channel_id, code, amount_off_cents, max_uses_per_user) VALUES ($1, 'TENOFF', 300, 1)`, [channelId]);
});
afterAll(async () => {
  await nowpayments?.close();
  await testDb?.dispose();
});

describe('openCheckout with a promo code', () => {
  it('reuses the discounted checkout (one use held), and a checkout without the code replaces it and frees the use', async () => {
    const user = newUser();
    const first = await openCheckout(deps, { kind: 'subscription', user, channelId, tierNumber: 1, promoCode: 'tenoff' });
    expect(first).toMatchObject({ priceCents: 700n, listPriceCents: 1000n, isReused: false });
    const again = await openCheckout(deps, { kind: 'subscription', user, channelId, tierNumber: 1, promoCode: 'TENOFF' });
    expect(again).toMatchObject({ id: first.id, isReused: true });
    expect(await uses(user.id)).toEqual([{ status: 'reserved' }]);

    const full = await openCheckout(deps, { kind: 'subscription', user, channelId, tierNumber: 1 });
    expect(full).toMatchObject({ priceCents: 1000n, listPriceCents: null });
    expect(full.id).not.toBe(first.id);
    expect(await uses(user.id)).toEqual([{ status: 'released' }]);
    // The freed use is the user's again (per-user limit 1).
    expect(await openCheckout(deps, { kind: 'subscription', user, channelId, tierNumber: 1, promoCode: 'TENOFF' })).toMatchObject({ priceCents: 700n });
  });

  it('keeps the use of a checkout whose invoice call failed, and the retry reuses that checkout (a crash between the two steps)', async () => {
    const user = newUser();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const down = { ...deps, nowpayments: createNowPaymentsClient({ apiUrl: `http://127.0.0.1:${port}/v1`, apiKey: API_KEY, maxAttempts: 1, sleep: () => Promise.resolve() }) };
    await expect(openCheckout(down, { kind: 'subscription', user, channelId, tierNumber: 1, promoCode: 'TENOFF' })).rejects.toMatchObject({ isRetryable: true });
    expect(await uses(user.id)).toEqual([{ status: 'reserved' }]);

    const retried = await openCheckout(deps, { kind: 'subscription', user, channelId, tierNumber: 1, promoCode: 'TENOFF' });
    expect(retried.priceCents).toBe(700n);
    expect(await uses(user.id)).toEqual([{ status: 'reserved' }]);
    expect(nowpayments.invoices().filter((invoice) => invoice.orderId === retried.publicId)).toHaveLength(1);
  });

  it('refuses an unknown code and a malformed one, holding no use', async () => {
    const user = newUser();
    await expect(openCheckout(deps, { kind: 'subscription', user, channelId, tierNumber: 1, promoCode: 'NOPE' })).rejects.toMatchObject({ code: 'promo_code_unknown' });
    await expect(openCheckout(deps, { kind: 'subscription', user, channelId, tierNumber: 1, promoCode: 'x' })).rejects.toMatchObject({ code: 'promo_code_unknown' });
    expect(await uses(user.id)).toEqual([]);
  });
});
