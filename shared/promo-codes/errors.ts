import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the promo-codes/ folder raises, with its kind (status and retry follow from it). */
export const promoCodeError = defineErrors({
  // Refusals of a code at checkout (the subscriber can still pay the full price).
  promo_code_unknown: 'invalid',
  promo_code_not_started: 'invalid',
  promo_code_expired: 'invalid',
  promo_code_used_up: 'invalid',
  promo_code_user_limit_reached: 'invalid',
  promo_code_not_for_tier: 'invalid',
  promo_code_below_minimum_price: 'invalid',
  // The owner's dashboard.
  channel_not_found: 'not_found',
  promo_code_not_found: 'not_found',
  promo_code_taken: 'conflict',
  promo_code_archived: 'conflict',
  validation_failed: 'invalid',
});
export type PromoCodeErrorCode = ErrorCodeOf<typeof promoCodeError>;
