import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the nowpayments/ folder raises, with its kind (status and retry follow from it). */
export const nowPaymentsError = defineErrors({
  invalid_payment_payload: 'invalid',
  ipn_secret_missing: 'unavailable',
  malformed_json: 'invalid',
  invalid_invoice_request: 'invalid',
  invalid_payment_id: 'invalid',
  invalid_client_config: 'invalid',
});
export type NowPaymentsErrorCode = ErrorCodeOf<typeof nowPaymentsError>;
