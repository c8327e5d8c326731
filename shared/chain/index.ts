/**
 * The hot wallet on an EVM chain: one signed transaction per payout, stored before it is broadcast,
 * re-broadcast byte for byte on retry, confirmed by receipt. Nonces come from `wallet_nonces`.
 */
export {
  type Chain,
  type AccountState,
  type SendRawOutcome,
  type TransactionLookup,
  type RpcReceipt,
  createChain,
  balanceOfCall,
  fromQuantity,
  toQuantity,
  normalizeEvmAddress,
} from './chain-provider.js';
export { type JsonRpc, JsonRpcFailure, createJsonRpc } from './json-rpc.js';
export { type HotWallet, createHotWallet, assertHotWalletAddress } from './hot-wallet-key.js';
export { type Eip1559Fields, type Eip1559Signature, type SignedEip1559Transaction, parseSignedEip1559, transactionHash } from './eip1559-transaction.js';
export { type ChainErrorCode, toChainError } from './chain-errors.js';
export {
  type TransferAsset,
  type TransferRequest,
  type TransferInput,
  type TransferCall,
  type FeeChoice,
  buildTransfer,
  chooseFees,
  expectedTransferFeeWei,
  isTransferAsset,
  withGasMargin,
} from './transfer-request.js';
export { allocateNonce } from './wallet-nonces.js';
export {
  type ChainTransfer,
  type StoredTransfer,
  type TransferAttempt,
  retrieveChainTransfer,
  retrieveChainTransferAndAttempts,
  storedTransferColumns,
  storedTransferOf,
} from './chain-transfer-rows.js';
export {
  type ChainTransferStatus,
  CHAIN_TRANSFER_STATUSES,
  CHAIN_TRANSFER_TRANSITIONS,
  canTransitionChainTransfer,
  assertChainTransferTransition,
} from './chain-transfer-status.js';
export { type ChainSettings, type TransferDeps, type SigningDeps } from './transfer-deps.js';
export { type SignTransferInput, signAndStoreTransfer, type TransferLock } from './sign-transfer.js';
export { type BroadcastOptions, type BroadcastResult, broadcastStoredTransfer } from './broadcast-transfer.js';
export { type ConfirmOptions, type ConfirmResult, confirmTransfer, type SettledTransfer } from './confirm-transfer.js';
export { type StoredText, openSignedTransaction, openTransferRecipient, sealSignedTransaction, sealTransferRecipient } from './sealed-transfer.js';
export { chainTransferSealedTables } from './sealed-fields.js';
export { type MempoolStanding, type MempoolOptions, checkTransferInMempool, replaceStoredTransfer } from './replace-transfer.js';
