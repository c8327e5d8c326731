import { PermanentError } from '../errors/index.js';

/** Every way a ledger call can be refused. All are permanent: the same input fails the same way. */
export type LedgerErrorCode =
  | 'ledger_invalid_account' // malformed code, code/asset mismatch, path outside the chart of accounts
  | 'ledger_invalid_transaction' // bad kind, key, time, amount or entry count
  | 'ledger_unbalanced' // entries do not sum to zero for some asset
  | 'ledger_idempotency_conflict' // the key was already used for different entries
  | 'ledger_duplicate_effect' // the payment/payout/batch already has this effect under another key
  | 'ledger_insufficient_balance' // an owner balance would go below zero
  | 'ledger_unknown_reference' // payment, payout, batch or transaction id that does not exist
  | 'ledger_transaction_not_found'; // reversing a transaction that does not exist

export function ledgerError(code: LedgerErrorCode, message: string, context: Record<string, unknown> = {}): PermanentError {
  return new PermanentError(code, message, context);
}
