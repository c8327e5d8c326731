import { bpsOf } from '../money/index.js';

/**
 * The lowest price a code may bring a checkout to: $1.00. NowPayments refuses invoices below its
 * per-currency minimum (around a dollar for the cheap networks), and a free checkout would need a
 * path that grants access without a payment. A code that would go lower is refused with
 * `promo_code_below_minimum_price`; the subscriber can still pay the full price.
 */
export const PROMO_PRICE_FLOOR_CENTS = 100n;

/** A promo code's discount: percent off in basis points (1–10 000), or a fixed amount off in USD cents. */
export type PromoDiscount = { kind: 'percent'; percentOffBps: number } | { kind: 'fixed'; amountOffCents: bigint };

/** What people type: any case, surrounding spaces ignored. Codes are stored upper-case. */
export const PROMO_CODE_PATTERN = /^[A-Z0-9_-]{3,32}$/;

/** The stored form of a typed code, or `undefined` when it cannot be a code (wrong characters or length). */
export function normalizePromoCode(typed: string): string | undefined {
  const code = typed.trim().toUpperCase();
  return PROMO_CODE_PATTERN.test(code) ? code : undefined;
}

/**
 * The cents taken off `listPriceCents`. Percent off rounds the discount DOWN to a whole cent (the
 * subscriber pays the odd cent, never the owner); a fixed amount never exceeds the price.
 */
export function discountCents(listPriceCents: bigint, discount: PromoDiscount): bigint {
  if (discount.kind === 'percent') return bpsOf(listPriceCents, discount.percentOffBps, 'floor');
  return discount.amountOffCents < listPriceCents ? discount.amountOffCents : listPriceCents;
}

/** The discounted price, or `undefined` when it would fall below `PROMO_PRICE_FLOOR_CENTS` (or give nothing off). */
export function discountedPriceCents(listPriceCents: bigint, discount: PromoDiscount): bigint | undefined {
  const off = discountCents(listPriceCents, discount);
  const price = listPriceCents - off;
  return off > 0n && price >= PROMO_PRICE_FLOOR_CENTS ? price : undefined;
}
