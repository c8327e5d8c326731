export { type PromoDiscount, PROMO_PRICE_FLOOR_CENTS, PROMO_CODE_PATTERN, normalizePromoCode, discountCents, discountedPriceCents } from './pricing.js';
export { type PromoCodeTerms, type PromoCodeUsage, type PromoRefusal, refusalOf } from './validity.js';
export { findPromoCodeForCheckout, priceWithPromoCode, reservePromoCode, releasePromoReservations, redeemPromoCode } from './reservations.js';
export {
  type PromoCodeDeps,
  type PromoCodeActor,
  type PromoCodeCreate,
  type PromoCodeUpdate,
  type PromoCodeResource,
  PromoCodeCreateSchema,
  PromoCodeUpdateSchema,
  PromoCodeResourceSchema,
  PromoCodeListResourceSchema,
  listPromoCodes,
  retrievePromoCode,
  createPromoCode,
  updatePromoCode,
  archivePromoCode,
  hasPromoCodesFor,
} from './codes.js';
export { type PromoCodeErrorCode } from './errors.js';
