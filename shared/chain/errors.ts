import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the chain/ folder raises, with its kind (status and retry follow from it). */
export const chainError = defineErrors({
  chain_id_mismatch: 'invalid',
  chain_request_failed: 'unavailable',
  chain_unavailable: 'unavailable',
  chain_without_eip1559: 'invalid',
  gas_price_above_cap: 'unavailable',
  hot_wallet_insufficient_funds: 'unavailable',
  hot_wallet_mismatch: 'invalid',
  invalid_confirmations: 'invalid',
  invalid_evm_address: 'invalid',
  invalid_hot_wallet_key: 'invalid',
  invalid_signed_transaction: 'invalid',
  invalid_transfer: 'invalid',
  stored_transfer_corrupt: 'invalid',
  token_contract_not_configured: 'invalid',
  transfer_fee_below_base_fee: 'unavailable',
  transfer_inputs_changed: 'unavailable',
  transfer_nonce_conflict: 'unavailable',
  transfer_not_found: 'not_found',
  transfer_would_revert: 'invalid',
  unsupported_transfer_asset: 'invalid',
  transfer_invariant_broken: 'internal',
  chain_transfer_transition_refused: 'conflict',
});
export type ChainErrorCode = ErrorCodeOf<typeof chainError>;
