export {
  type LedgerAccountType,
  type LedgerAccountSpec,
  ledgerAccountCodes,
  describeAccountCode,
} from './account-codes.js';
export {
  type LedgerTransactionKind,
  type LedgerEntryInput,
  type LedgerEntry,
  type LedgerTransaction,
  LEDGER_TRANSACTION_KINDS,
} from './ledger-types.js';
export {
  type LedgerPosting,
  type PostingColumns,
  type PostLedgerTransactionInput,
  type ReverseLedgerTransactionInput,
  ledgerPosting,
  postLedgerTransaction,
  runWithLedgerPosting,
  reverseLedgerTransaction,
} from './ledger-transaction.js';
export { type ChannelLedgerAsset, listChannelLedgerAssets, retrieveLedgerTransaction } from './ledger-reads.js';
export { balanceOf, sumLedgerByAsset } from './balances.js';
export { type LedgerErrorCode } from './errors.js';
