import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the money helpers raise. All are `invalid`: the same input fails the same way. */
export const moneyError = defineErrors({
  invalid_amount: 'invalid',
  too_many_decimals: 'invalid',
  amount_out_of_range: 'invalid',
  amount_precision_lost: 'invalid',
  amount_not_positive: 'invalid',
  invalid_decimals: 'invalid',
  invalid_rounding: 'invalid',
  invalid_rate: 'invalid',
  invalid_basis_points: 'invalid',
  invalid_weights: 'invalid',
  division_by_zero: 'invalid',
  unknown_asset: 'invalid',
});
export type MoneyErrorCode = ErrorCodeOf<typeof moneyError>;
