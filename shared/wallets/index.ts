/**
 * Payout destinations: which (currency, network) pairs we pay out, and whether an owner's address (and memo or
 * destination tag) is a valid main-network address for that pair, with real checksums per network. Used when an
 * owner sets or edits a channel's payout wallet and again by the payout stages before any money moves.
 */
export {
  type WalletCheck,
  type WalletErrorCode,
  type PayoutDestination,
  validatePayoutAddress,
  assertPayoutAddress,
  maskAddress,
} from './payout-address.js';
export {
  type AddressKind,
  type ExtraIdRule,
  type PayoutNetworkRule,
  type PayoutNetwork,
  type PayoutOption,
  SUPPORTED_PAYOUT_NETWORKS,
  SUPPORTED_PAYOUT_OPTIONS,
  findPayoutNetwork,
  isSupportedPayoutOption,
} from './payout-networks.js';
export { type StoredWallet, clearWallet, isSameStoredWallet, openWallet, sealWallet, storedWalletColumnNames, storedWalletColumns, storedWalletOf, storedWalletValues, walletHintOf } from './sealed-wallet.js';
