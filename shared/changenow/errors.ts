import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the changenow/ folder raises, with its kind (status and retry follow from it). */
export const changeNowError = defineErrors({
  changenow_exchange_mismatch: 'invalid',
  // What ChangeNow's refusals (`changenow_rejected` from requestJson) are turned into: see changenow-error.ts.
  changenow_invalid_address: 'invalid',
  changenow_invalid_refund_address: 'invalid',
  changenow_amount_out_of_range: 'invalid',
  changenow_pair_inactive: 'invalid',
  changenow_rate_expired: 'invalid',
  changenow_exchange_not_found: 'not_found',
  changenow_unauthorized: 'invalid',
  changenow_invalid_request: 'invalid',
  changenow_rejected: 'invalid',
  invalid_amount: 'invalid',
  invalid_exchange_id: 'invalid',
  invalid_exchange_request: 'invalid',
  invalid_client_config: 'invalid',
});
export type ChangeNowErrorCode = ErrorCodeOf<typeof changeNowError>;
