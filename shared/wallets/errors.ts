import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the wallets/ folder raises, with its kind (status and retry follow from it). */
export const walletError = defineErrors({
  unsupported_payout_option: 'invalid',
  invalid_wallet_address: 'invalid',
  invalid_payout_extra_id: 'invalid',
});
export type WalletErrorCode = ErrorCodeOf<typeof walletError>;
