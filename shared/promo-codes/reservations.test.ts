import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertCheckout, insertPayment, insertTier } from '../testing/fixtures.js';
import { redeemPromoCode, releasePromoReservations } from './reservations.js';

let testDb: TestDatabase;
let channelId: string;
let tierId: string;
let codeId: string;
const LATER = new Date(FIXTURE_NOW.getTime() + 3_600_000);

/** A discounted checkout holding a use of the code, in `status`. */
async function discountedCheckout(status: 'open' | 'expired' | 'paid' = 'open'): Promise<{ id: string; telegramUserId: bigint }> {
  const db = testDb.db;
  const checkout = await insertCheckout(db, { channelId, tierId, priceCents: 1500n, status });
  await db.query('UPDATE checkouts SET promo_code_id = $2, list_price_cents = 2000 WHERE id = $1', [checkout.id, codeId]);
  await db.query('INSERT INTO promo_code_reservations (checkout_id, promo_code_id, telegram_user_id, reserved_at) VALUES ($1, $2, $3, $4)', [
    checkout.id,
    codeId,
    checkout.telegramUserId.toString(),
    FIXTURE_NOW,
  ]);
  return checkout;
}

async function reservationOf(checkoutId: string): Promise<string | undefined> {
  const { rows } = await testDb.db.query<{ status: string }>('SELECT status FROM promo_code_reservations WHERE checkout_id = $1', [checkoutId]);
  return rows[0]?.status;
}

async function redemptionsOf(checkoutId: string): Promise<number> {
  const { rows } = await testDb.db.query('SELECT 1 FROM promo_redemptions WHERE checkout_id = $1', [checkoutId]);
  return rows.length;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  channelId = (await insertChannel(testDb.db)).id;
  tierId = (await insertTier(testDb.db, { channelId, priceCents: 2000n })).id;
  const { rows } = await testDb.db.query<{ id: string }>(`INSERT INTO promo_codes (channel_id, code, percent_off_bps) VALUES ($1, 'TWENTY5', 2500) RETURNING id`, [channelId]);
  codeId = rows[0]!.id;
});
afterAll(() => testDb?.dispose());

describe('redeemPromoCode', () => {
  it('records one redemption per settled payment, delivered twice and twice at once', async () => {
    const checkout = await discountedCheckout('paid');
    const payment = await insertPayment(testDb.db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
    const results = await Promise.all([1, 2].map(() => testDb.db.transaction((tx) => redeemPromoCode(tx, payment.id, LATER))));
    expect(results.sort()).toEqual([false, true]);
    expect(await testDb.db.transaction((tx) => redeemPromoCode(tx, payment.id, LATER))).toBe(false);
    expect(await redemptionsOf(checkout.id)).toBe(1);
    expect(await reservationOf(checkout.id)).toBe('redeemed');
  });

  it('does nothing for a checkout without a code', async () => {
    const payment = await insertPayment(testDb.db, { status: 'finished', isSettled: true });
    expect(await testDb.db.transaction((tx) => redeemPromoCode(tx, payment.id, LATER))).toBe(false);
  });

  it('redeems a late payment of an expired checkout whose use was released', async () => {
    const checkout = await discountedCheckout('expired');
    expect(await releasePromoReservations(testDb.db, LATER, { checkoutId: checkout.id })).toBe(1);
    expect(await reservationOf(checkout.id)).toBe('released');
    const payment = await insertPayment(testDb.db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
    expect(await testDb.db.transaction((tx) => redeemPromoCode(tx, payment.id, LATER))).toBe(true);
    expect(await reservationOf(checkout.id)).toBe('redeemed');
  });
});

describe('releasePromoReservations', () => {
  it('frees the use of an expired checkout once, keeps an open one and one whose payment is still on its way', async () => {
    const open = await discountedCheckout('open');
    const expired = await discountedCheckout('expired');
    const paying = await discountedCheckout('expired');
    await insertPayment(testDb.db, { checkoutId: paying.id, status: 'confirming' });
    const failed = await discountedCheckout('expired');
    await insertPayment(testDb.db, { checkoutId: failed.id, status: 'expired' });

    expect(await releasePromoReservations(testDb.db, LATER)).toBe(2);
    expect(await releasePromoReservations(testDb.db, LATER)).toBe(0);
    expect(await reservationOf(open.id)).toBe('reserved');
    expect(await reservationOf(expired.id)).toBe('released');
    expect(await reservationOf(paying.id)).toBe('reserved');
    expect(await reservationOf(failed.id)).toBe('released');
  });

  it('is refused by the database going backwards (redeemed → reserved)', async () => {
    const checkout = await discountedCheckout('paid');
    const payment = await insertPayment(testDb.db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
    await testDb.db.transaction((tx) => redeemPromoCode(tx, payment.id, LATER));
    await expect(testDb.db.query(`UPDATE promo_code_reservations SET status = 'reserved', closed_at = NULL WHERE checkout_id = $1`, [checkout.id])).rejects.toMatchObject({
      code: '23514',
    });
  });
});
