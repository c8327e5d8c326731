import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every way a ledger call can be refused. All are permanent: the same input fails the same way. */
export const ledgerError = defineErrors({
  ledger_invalid_account: 'invalid', // malformed code, code/asset mismatch, path outside the chart of accounts
  ledger_invalid_transaction: 'invalid', // bad kind, key, time, amount or entry count
  ledger_unbalanced: 'invalid', // entries do not sum to zero for some asset
  ledger_idempotency_conflict: 'conflict', // the key was already used for different entries
  ledger_duplicate_effect: 'conflict', // the payment/payout/batch already has this effect under another key
  ledger_insufficient_balance: 'conflict', // an owner balance would go below zero
  ledger_unknown_reference: 'not_found', // payment, payout, batch or transaction id that does not exist
  ledger_transaction_not_found: 'not_found', // reversing a transaction that does not exist
  ledger_invariant_broken: 'internal', // a row we just wrote cannot be read back
});
export type LedgerErrorCode = ErrorCodeOf<typeof ledgerError>;
