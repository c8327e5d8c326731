import { type LedgerAccountSpec, describeAccountCode } from './account-codes.js';
import { ledgerError } from './errors.js';
import { LEDGER_TRANSACTION_KINDS, type LedgerEntryInput, type LedgerTransaction } from './ledger-types.js';

/** A transaction as a caller asked for it, before it touches the database. */
export interface TransactionDraft extends Omit<LedgerTransaction, 'id' | 'entries'> {
  entries: readonly LedgerEntryInput[];
}

const MAX_ENTRIES = 1000;
const MAX_KEY_LENGTH = 200;
const MAX_DESCRIPTION_LENGTH = 500;
// numeric(78,0) holds up to 78 digits.
const AMOUNT_LIMIT = 10n ** 78n;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Checks a draft without the database: kind, key, time, links, description, entry count, amounts,
 * account codes and per-asset balance. Returns the accounts it names, by code.
 */
export function validateDraft(draft: TransactionDraft): Map<string, LedgerAccountSpec> {
  const context = { idempotencyKey: String(draft.idempotencyKey).slice(0, MAX_KEY_LENGTH), kind: draft.kind };
  if (!(LEDGER_TRANSACTION_KINDS as readonly string[]).includes(draft.kind)) {
    throw ledgerError('ledger_invalid_transaction', `Unknown ledger transaction kind ${String(draft.kind)}`, context);
  }
  if (
    typeof draft.idempotencyKey !== 'string' ||
    draft.idempotencyKey.length === 0 ||
    draft.idempotencyKey.length > MAX_KEY_LENGTH ||
    /\s/.test(draft.idempotencyKey)
  ) {
    throw ledgerError('ledger_invalid_transaction', 'idempotencyKey must be 1–200 characters without spaces', context);
  }
  if (!(draft.occurredAt instanceof Date) || Number.isNaN(draft.occurredAt.getTime())) {
    throw ledgerError('ledger_invalid_transaction', 'occurredAt must be a valid Date from the clock', context);
  }
  for (const [name, value] of [
    ['paymentId', draft.paymentId],
    ['payoutId', draft.payoutId],
    ['conversionBatchId', draft.conversionBatchId],
  ] as const) {
    if (value !== null && (typeof value !== 'string' || !UUID.test(value))) {
      throw ledgerError('ledger_invalid_transaction', `${name} must be a lower-case uuid`, context);
    }
  }
  if (draft.description !== null) {
    if (typeof draft.description !== 'string' || draft.description.length === 0 || draft.description.length > MAX_DESCRIPTION_LENGTH) {
      throw ledgerError('ledger_invalid_transaction', 'description must be 1–500 characters', context);
    }
  } else if (draft.kind === 'adjustment' || draft.kind === 'reversal') {
    throw ledgerError('ledger_invalid_transaction', `A ${draft.kind} needs a description`, context);
  }
  if (!Array.isArray(draft.entries) || draft.entries.length < 2 || draft.entries.length > MAX_ENTRIES) {
    throw ledgerError('ledger_invalid_transaction', 'A ledger transaction has 2 to 1000 entries', context);
  }

  const specs = new Map<string, LedgerAccountSpec>();
  const sums = new Map<string, bigint>();
  for (const entry of draft.entries) {
    if (typeof entry.amount !== 'bigint' || entry.amount === 0n || entry.amount >= AMOUNT_LIMIT || entry.amount <= -AMOUNT_LIMIT) {
      throw ledgerError('ledger_invalid_transaction', 'Entry amounts are non-zero bigint base units below 10^78', {
        ...context,
        account: String(entry.account),
      });
    }
    const spec = describeAccountCode(entry.account, entry.asset);
    const known = specs.get(spec.code);
    if (known && known.asset !== spec.asset) {
      throw ledgerError('ledger_invalid_account', 'One account holds one asset', { ...context, account: spec.code });
    }
    specs.set(spec.code, spec);
    sums.set(entry.asset, (sums.get(entry.asset) ?? 0n) + entry.amount);
  }
  for (const [asset, sum] of sums) {
    if (sum !== 0n) {
      throw ledgerError('ledger_unbalanced', `Entries in ${asset} sum to ${sum}, not 0`, { ...context, asset, sum: sum.toString() });
    }
  }
  return specs;
}
