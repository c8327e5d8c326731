import { describe, expect, it } from 'vitest';
import { PROMO_PRICE_FLOOR_CENTS, discountCents, discountedPriceCents, normalizePromoCode } from './pricing.js';
import { type PromoCodeTerms, refusalOf } from './validity.js';

describe('normalizePromoCode', () => {
  it.each([
    ['spring25', 'SPRING25'],
    ['  Black-Friday_2026 ', 'BLACK-FRIDAY_2026'],
    ['abc', 'ABC'],
    ['A'.repeat(32), 'A'.repeat(32)],
  ])('reads %j as %j', (typed, code) => expect(normalizePromoCode(typed)).toBe(code));

  it.each(['ab', 'A'.repeat(33), 'SPRING 25', 'ÄBC', 'CODE!', '', 'x\u0000yz', 'ab\ncd'])('refuses %j', (typed) => expect(normalizePromoCode(typed)).toBeUndefined());
});

describe('discountCents and discountedPriceCents', () => {
  it('rounds a percent discount down to a whole cent (the subscriber pays the odd cent)', () => {
    // 15 % of $19.99 is 299.85 cents: 299 off, $17.00 to pay.
    expect(discountCents(1999n, { kind: 'percent', percentOffBps: 1500 })).toBe(299n);
    expect(discountedPriceCents(1999n, { kind: 'percent', percentOffBps: 1500 })).toBe(1700n);
    // 33.33 % of $9.99 = 332.9667 cents: 332 off.
    expect(discountCents(999n, { kind: 'percent', percentOffBps: 3333 })).toBe(332n);
    expect(discountedPriceCents(999n, { kind: 'percent', percentOffBps: 3333 })).toBe(667n);
  });

  it('takes a fixed amount off, never more than the price', () => {
    expect(discountCents(1999n, { kind: 'fixed', amountOffCents: 500n })).toBe(500n);
    expect(discountCents(1999n, { kind: 'fixed', amountOffCents: 5000n })).toBe(1999n);
    expect(discountedPriceCents(1999n, { kind: 'fixed', amountOffCents: 500n })).toBe(1499n);
  });

  it('refuses a price below the $1.00 floor, 100 % off included, and accepts exactly the floor', () => {
    expect(PROMO_PRICE_FLOOR_CENTS).toBe(100n);
    expect(discountedPriceCents(1999n, { kind: 'percent', percentOffBps: 10_000 })).toBeUndefined();
    expect(discountedPriceCents(1999n, { kind: 'fixed', amountOffCents: 1999n })).toBeUndefined();
    expect(discountedPriceCents(1999n, { kind: 'fixed', amountOffCents: 1900n })).toBeUndefined();
    expect(discountedPriceCents(1999n, { kind: 'fixed', amountOffCents: 1899n })).toBe(100n);
    expect(discountedPriceCents(200n, { kind: 'percent', percentOffBps: 5000 })).toBe(100n);
    expect(discountedPriceCents(199n, { kind: 'percent', percentOffBps: 5000 })).toBe(100n); // 99.5 off rounds down to 99
  });

  it('refuses a code that takes nothing off this price (a tiny percent of a small price)', () => {
    expect(discountedPriceCents(150n, { kind: 'percent', percentOffBps: 1 })).toBeUndefined();
  });
});

describe('refusalOf', () => {
  const NOW = new Date('2026-06-01T12:00:00Z');
  const terms = (overrides: Partial<PromoCodeTerms> = {}): PromoCodeTerms => ({
    id: 'code',
    code: 'SPRING',
    status: 'active',
    discount: { kind: 'percent', percentOffBps: 1000 },
    validFrom: null,
    validUntil: null,
    maxUses: null,
    maxUsesPerUser: null,
    tierIds: [],
    ...overrides,
  });
  const unused = { total: 0, byUser: 0 };

  it('accepts an active code without limits for any tier', () => {
    expect(refusalOf(terms(), 'tier-a', NOW, { total: 10_000, byUser: 50 })).toBeUndefined();
  });

  it('treats an archived code as unknown', () => {
    expect(refusalOf(terms({ status: 'archived' }), 'tier-a', NOW, unused)).toBe('promo_code_unknown');
  });

  it('applies the window with validFrom inclusive and validUntil exclusive', () => {
    expect(refusalOf(terms({ validFrom: NOW }), 't', NOW, unused)).toBeUndefined();
    expect(refusalOf(terms({ validFrom: new Date(NOW.getTime() + 1) }), 't', NOW, unused)).toBe('promo_code_not_started');
    expect(refusalOf(terms({ validUntil: NOW }), 't', NOW, unused)).toBe('promo_code_expired');
    expect(refusalOf(terms({ validUntil: new Date(NOW.getTime() + 1) }), 't', NOW, unused)).toBeUndefined();
  });

  it('counts uses against the total and the per-user limit', () => {
    expect(refusalOf(terms({ maxUses: 5 }), 't', NOW, { total: 4, byUser: 0 })).toBeUndefined();
    expect(refusalOf(terms({ maxUses: 5 }), 't', NOW, { total: 5, byUser: 0 })).toBe('promo_code_used_up');
    expect(refusalOf(terms({ maxUsesPerUser: 1 }), 't', NOW, { total: 3, byUser: 1 })).toBe('promo_code_user_limit_reached');
  });

  it('restricts to the listed tiers', () => {
    expect(refusalOf(terms({ tierIds: ['a', 'b'] }), 'b', NOW, unused)).toBeUndefined();
    expect(refusalOf(terms({ tierIds: ['a', 'b'] }), 'c', NOW, unused)).toBe('promo_code_not_for_tier');
  });
});
