import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the checkout/ folder raises, with its kind (status and retry follow from it). */
export const checkoutError = defineErrors({
  channel_unavailable: 'invalid',
  donation_out_of_bounds: 'invalid',
  donations_disabled: 'invalid',
  tier_unavailable: 'invalid',
  checkout_without_invoice: 'internal',
});
export type CheckoutErrorCode = ErrorCodeOf<typeof checkoutError>;
