import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../ids/index.js';
import { createDashboardHarness, type DashboardHarness, mailedToken } from '../testing/dashboard-api.js';
import { accountIdByEmail } from '../testing/encrypted-fields.js';
import { insertChannel, insertCheckout, insertPayment, insertTier } from '../testing/fixtures.js';

const PASSWORD = 'correct horse battery';

let h: DashboardHarness;
let n = 0;
let token: string;
let strangerToken: string;
let channelId: string;
let channelUuid: string;
let tier2Id: string;

async function session(): Promise<{ accountId: string; token: string }> {
  const email = `promoter.${++n}@example.com`;
  const ip = `192.0.2.${100 + n}`;
  await h.request('POST', '/auth/signup', { body: { email, password: PASSWORD }, ip });
  await h.deliverMails();
  await h.request('POST', '/auth/verify-email', { body: { token: mailedToken(h.outbox, email) }, ip });
  const login = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip });
  const accountId = await accountIdByEmail(h.testDb.db, email);
  return { accountId: accountId!, token: login.json.accessToken as string };
}

const path = (suffix = '') => `/channels/${channelId}/promo-codes${suffix}`;

beforeAll(async () => {
  h = await createDashboardHarness({ telegramBotUsername: 'PayGatePrimeBot' });
  const owner = await session();
  const stranger = await session();
  token = owner.token;
  strangerToken = stranger.token;
  const channel = await insertChannel(h.testDb.db, { ownerAccountId: owner.accountId });
  channelUuid = channel.id;
  channelId = formatPublicId('channel', channel.id);
  await insertTier(h.testDb.db, { channelId: channel.id, tierNumber: 1, priceCents: 1999n });
  tier2Id = (await insertTier(h.testDb.db, { channelId: channel.id, tierNumber: 2, priceCents: 4999n })).id;
});
afterAll(() => h?.dispose());

describe('promo code routes', () => {
  it('answer 401 without a token and 404 for another account’s channel', async () => {
    expect((await h.request('GET', path())).status).toBe(401);
    const stranger = await h.request('GET', path(), { token: strangerToken });
    expect(stranger.status).toBe(404);
    expect(stranger.json.error.code).toBe('channel_not_found');
    expect((await h.request('POST', path(), { token: strangerToken, body: { code: 'MINE', percentOffBps: 1000 } })).status).toBe(404);
    expect((await h.request('GET', '/channels/ch_nonsense/promo-codes', { token })).status).toBe(404);
  });

  it('create a code (stored upper-case), list and retrieve it with zero figures', async () => {
    const created = await h.request('POST', path(), {
      token,
      body: { code: 'spring25', percentOffBps: 2500, validUntil: '2030-01-01T00:00:00Z', maxUses: 100, maxUsesPerUser: 1, tierNumbers: [2] },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      code: 'SPRING25',
      status: 'active',
      percentOffBps: 2500,
      amountOff: null,
      validUntil: '2030-01-01T00:00:00.000Z',
      maxUses: 100,
      maxUsesPerUser: 1,
      tierNumbers: [2],
      figures: { checkouts: 0, heldUses: 0, redemptions: 0, revenue: '0.00', discountGiven: '0.00' },
    });
    expect(created.json.id).toMatch(/^pc_[A-Za-z0-9_-]{22}$/);
    expect(created.json.link).toBe(`https://t.me/PayGatePrimeBot?start=c_${channelId}_pSPRING25`);
    const listed = await h.request('GET', path(), { token });
    expect(listed.json.promoCodes.map((code: { code: string }) => code.code)).toContain('SPRING25');
    expect((await h.request('GET', path(`/${created.json.id}`), { token })).json.code).toBe('SPRING25');
    // The same code again, in another case: taken.
    const again = await h.request('POST', path(), { token, body: { code: 'Spring25', amountOff: '5.00' } });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: 'promo_code_taken', fields: { code: 'already used in this channel' } });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a code too short', { code: 'AB', percentOffBps: 100 }, 'code'],
    ['a code with a space', { code: 'SPR ING', percentOffBps: 100 }, 'code'],
    ['a code with a control character', { code: 'SPR\u0000NG', percentOffBps: 100 }, 'code'],
    ['a lone surrogate', { code: 'SPR\ud800NG', percentOffBps: 100 }, 'code'],
    ['no discount', { code: 'NODISC' }, 'percentOffBps'],
    ['both discounts', { code: 'BOTH', percentOffBps: 100, amountOff: '1.00' }, 'amountOff'],
    ['percent above 100 %', { code: 'TOOMUCH', percentOffBps: 10_001 }, 'percentOffBps'],
    ['a fractional percent', { code: 'FRACTION', percentOffBps: 12.5 }, 'percentOffBps'],
    ['an amount as a number', { code: 'NUMBER', amountOff: 5 }, 'amountOff'],
    ['an amount with three decimals', { code: 'CENTS', amountOff: '1.005' }, 'amountOff'],
    ['a zero amount', { code: 'ZERO', amountOff: '0.00' }, 'amountOff'],
    ['an inverted window', { code: 'WINDOW', percentOffBps: 100, validFrom: '2030-01-02T00:00:00Z', validUntil: '2030-01-01T00:00:00Z' }, 'validUntil'],
    ['a date without zone', { code: 'NOZONE', percentOffBps: 100, validUntil: '2030-01-01T00:00:00' }, 'validUntil'],
    ['a zero limit', { code: 'LIMIT', percentOffBps: 100, maxUses: 0 }, 'maxUses'],
    ['a tier out of range', { code: 'TIER4', percentOffBps: 100, tierNumbers: [4] }, 'tierNumbers.0'],
    ['a tier the channel lacks', { code: 'TIER3', percentOffBps: 100, tierNumbers: [3] }, 'tierNumbers'],
  ])('refuse %s with 400 naming the field', async (_name, body, field) => {
    const response = await h.request('POST', path(), { token, body });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('validation_failed');
    expect(Object.keys(response.json.error.fields ?? {})).toContain(field);
  });

  it('update terms (switching the kind of discount), refuse a window the merge would invert, archive once for good', async () => {
    const created = await h.request('POST', path(), { token, body: { code: 'FLEX', percentOffBps: 1000, validFrom: '2029-01-01T00:00:00Z' } });
    const id = created.json.id as string;
    const updated = await h.request('PATCH', path(`/${id}`), { token, body: { amountOff: '2.50', maxUses: 10, tierNumbers: [] } });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ percentOffBps: null, amountOff: '2.50', maxUses: 10, tierNumbers: [] });
    const inverted = await h.request('PATCH', path(`/${id}`), { token, body: { validUntil: '2028-01-01T00:00:00Z' } });
    expect(inverted.status).toBe(400);
    expect(inverted.json.error.fields).toEqual({ validUntil: 'must be after validFrom' });

    const archived = await h.request('POST', path(`/${id}/archive`), { token });
    expect(archived.status).toBe(200);
    expect(archived.json.status).toBe('archived');
    expect((await h.request('POST', path(`/${id}/archive`), { token })).json.status).toBe('archived');
    const change = await h.request('PATCH', path(`/${id}`), { token, body: { maxUses: 5 } });
    expect(change.status).toBe(409);
    expect(change.json.error.code).toBe('promo_code_archived');
    const { rows } = await h.testDb.db.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE subject_type = 'promo_code' AND subject_id = $1 ORDER BY id`,
      [created.json.id ? (await h.testDb.db.query<{ id: string }>(`SELECT id FROM promo_codes WHERE code = 'FLEX'`)).rows[0]!.id : ''],
    );
    expect(rows.map((row) => row.action)).toEqual(['promo_code.created', 'promo_code.updated', 'promo_code.archived']);
    expect((await h.request('GET', path('/pc_Ehz5dX8hQSeMc0Q8m0Q2Xw'), { token })).status).toBe(404);
  });

  it('report figures: checkouts, held uses, paid redemptions, revenue charged and discount given', async () => {
    const db = h.testDb.db;
    const created = await h.request('POST', path(), { token, body: { code: 'FIGURES', percentOffBps: 2000 } });
    const { rows } = await db.query<{ id: string }>(`SELECT id FROM promo_codes WHERE code = 'FIGURES'`);
    const codeId = rows[0]!.id;
    for (let i = 0; i < 3; i++) {
      const checkout = await insertCheckout(db, { channelId: channelUuid, tierId: tier2Id, priceCents: 3999n });
      await db.query('UPDATE checkouts SET promo_code_id = $2, list_price_cents = 4999 WHERE id = $1', [checkout.id, codeId]);
      await db.query(`INSERT INTO promo_code_reservations (checkout_id, promo_code_id, telegram_user_id, reserved_at) VALUES ($1, $2, $3, now())`, [
        checkout.id,
        codeId,
        checkout.telegramUserId.toString(),
      ]);
      if (i < 2) {
        const payment = await insertPayment(db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
        await db.query(
          `INSERT INTO promo_redemptions (promo_code_id, payment_id, checkout_id, telegram_user_id, list_price_cents, price_cents, redeemed_at) VALUES ($1, $2, $3, $4, 4999, 3999, now())`,
          [codeId, payment.id, checkout.id, checkout.telegramUserId.toString()],
        );
        await db.query(`UPDATE promo_code_reservations SET status = 'redeemed', closed_at = now() WHERE checkout_id = $1`, [checkout.id]);
      }
    }
    const response = await h.request('GET', path(`/${created.json.id}`), { token });
    expect(response.json.figures).toEqual({ checkouts: 3, heldUses: 1, redemptions: 2, revenue: '79.98', discountGiven: '20.00' });
  });
});
