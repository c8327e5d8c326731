import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the payments/ folder raises, with its kind (status and retry follow from it). */
export const paymentError = defineErrors({
  checkout_without_duration: 'invalid',
  invalid_ipn: 'invalid',
  invalid_signature: 'unauthorized',
  ip_not_allowed: 'forbidden',
  payload_too_large: 'too_large',
  payment_not_settled: 'conflict',
  price_mismatch: 'conflict',
  unknown_payment: 'not_found',
  unsupported_outcome_currency: 'invalid',
});
export type PaymentErrorCode = ErrorCodeOf<typeof paymentError>;
