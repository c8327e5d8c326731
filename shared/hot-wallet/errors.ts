import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the hot-wallet/ folder raises, with its kind (status and retry follow from it). */
export const hotWalletError = defineErrors({
  capital_key_missing: 'invalid',
  capital_note_missing: 'invalid',
  funding_mismatch: 'conflict',
  funding_not_found: 'not_found',
  invalid_capital_amount: 'invalid',
  invalid_capital_key: 'invalid',
  invalid_tx_hash: 'invalid',
  unknown_hot_wallet_asset: 'invalid',
});
export type HotWalletErrorCode = ErrorCodeOf<typeof hotWalletError>;
