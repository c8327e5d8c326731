import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the payouts/ folder raises, with its kind (status and retry follow from it). */
export const payoutError = defineErrors({
  conversion_batch_not_found: 'not_found',
  conversion_received_nothing: 'conflict',
  payout_not_found: 'not_found',
  payout_not_held: 'conflict',
  payout_not_quoted: 'conflict',
  payout_not_ready_for_transfer: 'conflict',
  payout_not_swappable: 'conflict',
  swap_not_found: 'not_found',
  unknown_payout: 'not_found',
  payout_transition_refused: 'conflict',
  payout_invariant_broken: 'internal',
  settled_transfer_without_fee: 'internal',
  transfer_not_settled: 'internal',
  unknown_payout_asset: 'invalid',
});
export type PayoutErrorCode = ErrorCodeOf<typeof payoutError>;
