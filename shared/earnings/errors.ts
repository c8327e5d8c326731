import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the earnings/ folder raises, with its kind (status and retry follow from it). */
export const earningsError = defineErrors({
  export_too_large: 'unprocessable',
  invalid_cursor: 'invalid',
  payout_not_found: 'not_found',
  validation_failed: 'invalid',
});
export type EarningsErrorCode = ErrorCodeOf<typeof earningsError>;
