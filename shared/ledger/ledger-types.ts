/**
 * What a ledger transaction records. The same list is the `ledger_transactions.kind` CHECK in
 * `sql/007_create_ledger.sql`, replaced in `sql/018_every_unit_booked.sql` (a test keeps them equal); a new kind needs a migration.
 */
export const LEDGER_TRANSACTION_KINDS = [
  'payment_settled',
  'payment_topped_up',
  'payment_refunded',
  'payout_claimed',
  'payout_funded',
  'payout_completed',
  'payout_returned',
  'swap_refunded',
  'conversion_completed',
  'network_fee',
  'capital',
  'adjustment',
  'reversal',
] as const;

export type LedgerTransactionKind = (typeof LEDGER_TRANSACTION_KINDS)[number];

/**
 * One line of a ledger transaction: `amount` base units of `asset` on the account `account` (a code
 * from `ledgerAccountCodes`). Sign convention: positive = debit, negative = credit. Debits grow
 * asset and expense accounts; credits grow liability, income and equity accounts.
 */
export interface LedgerEntryInput {
  account: string;
  asset: string;
  amount: bigint;
}

export interface LedgerEntry {
  line: number;
  account: string;
  asset: string;
  amount: bigint;
}

export interface LedgerTransaction {
  id: string;
  kind: LedgerTransactionKind;
  idempotencyKey: string;
  occurredAt: Date;
  paymentId: string | null;
  payoutId: string | null;
  conversionBatchId: string | null;
  reversesTransactionId: string | null;
  description: string | null;
  entries: LedgerEntry[];
}
