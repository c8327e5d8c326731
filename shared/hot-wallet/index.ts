/**
 * Every unit booked: the hot wallet's balances on chain compared with the ledger's `hot_wallet`
 * accounts, per asset and at one block, with what is legitimately in flight between them
 * (docs/reliability.md, "Wallet against ledger"); the scheduled reconciliation that alerts on drift;
 * and the operator's booking of platform funds (the gas float) as capital.
 */
export { HOT_WALLET_ASSETS, type HotWalletAsset, type HotWalletTarget, comparedAssets, isHotWalletAsset } from './hot-wallet-assets.js';
export { type HotWalletChain, type WalletHoldings, type SettledTransaction, createHotWalletChain } from './hot-wallet-chain.js';
export { type HotWalletBooks, type TransferInBooks, type PaymentInBooks, readHotWalletBooks } from './hot-wallet-books.js';
export {
  type AssetComparison,
  type InFlightTransfer,
  type HotWalletPosition,
  type PositionOptions,
  type Verdict,
  compareHotWallet,
  readHotWalletPosition,
} from './hot-wallet-position.js';
export { type ReconcileHotWalletDeps, type HotWalletReconciliation, reconcileHotWallet } from './reconcile-hot-wallet.js';
export { type BookCapitalInput, bookCapital, parseCapitalAmount, verifyFunding } from './capital.js';
export { describePosition, formatAsset } from './position-report.js';
