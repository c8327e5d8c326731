import type { Queryable, Tx } from '../db/index.js';
import { type LedgerAccountSpec, normalSign } from './account-codes.js';
import { findTransaction, retrieveLedgerTransaction } from './ledger-reads.js';
import { ledgerError } from './errors.js';
import type { LedgerEntryInput, LedgerTransaction, LedgerTransactionKind } from './ledger-types.js';
import { type TransactionDraft, validateDraft } from './transaction-draft.js';

export interface PostLedgerTransactionInput {
  kind: Exclude<LedgerTransactionKind, 'reversal'>;
  /**
   * Names the one logical effect this transaction records, e.g. `settle:<payment id>`. Posting the
   * same key again returns the first transaction's id without posting.
   */
  idempotencyKey: string;
  /** When the effect happened, from the injected clock. */
  occurredAt: Date;
  paymentId?: string;
  payoutId?: string;
  conversionBatchId?: string;
  /** Free text for people (required for 'adjustment'), at most 500 characters. */
  description?: string;
  /** At least two entries, summing to zero per asset. */
  entries: readonly LedgerEntryInput[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Unique indexes that allow an effect once per payment, payout or batch, whatever its key.
const ONCE_PER_EFFECT = new Set([
  'ledger_transactions_one_settlement_idx',
  'ledger_transactions_one_payout_effect_idx',
  'ledger_transactions_one_conversion_idx',
  'ledger_transactions_reverses_transaction_id_key',
]);

/**
 * Posts a balanced ledger transaction in `tx` and returns its id. Accounts are created on first use
 * from their codes. Idempotent: when `idempotencyKey` was posted before, returns that transaction's
 * id and posts nothing.
 *
 * Run it in a READ COMMITTED (default) or SERIALIZABLE transaction: the check that owner balances
 * stay ≥ 0 relies on one of them to see a concurrent claim.
 *
 * @throws PermanentError `ledger_invalid_transaction`, `ledger_invalid_account`, `ledger_unbalanced`
 *   (input), `ledger_idempotency_conflict` (key reused for other entries or links),
 *   `ledger_duplicate_effect` (the payment, payout or batch already has this effect under another key),
 *   `ledger_insufficient_balance` (an owner balance would go negative), `ledger_unknown_reference`.
 */
export async function postLedgerTransaction(tx: Tx, input: PostLedgerTransactionInput): Promise<string> {
  if ((input.kind as string) === 'reversal') {
    throw ledgerError('ledger_invalid_transaction', 'Post reversals with reverseLedgerTransaction', {
      idempotencyKey: input.idempotencyKey,
    });
  }
  return insertTransaction(tx, draftOf(input));
}

export interface ReverseLedgerTransactionInput {
  transactionId: string;
  occurredAt: Date;
  /** Why; shown to operators. */
  description: string;
  /** Defaults to `reversal:<transaction id>`; a transaction can be reversed once. */
  idempotencyKey?: string;
}

/**
 * Corrects a posted transaction by posting its exact negation (kind 'reversal'), linked to it and
 * to its payment, payout and batch. Returns the reversal's id; idempotent like `postLedgerTransaction`.
 *
 * @throws PermanentError `ledger_transaction_not_found`, `ledger_duplicate_effect` (already reversed
 *   under another key), `ledger_insufficient_balance` (e.g. the owner balance was already paid out),
 *   and the input errors of `postLedgerTransaction`.
 */
export async function reverseLedgerTransaction(tx: Tx, input: ReverseLedgerTransactionInput): Promise<string> {
  if (typeof input.transactionId !== 'string' || !UUID.test(input.transactionId)) {
    throw ledgerError('ledger_transaction_not_found', 'Transaction ids are lower-case uuids', {
      transactionId: String(input.transactionId),
    });
  }
  const original = await retrieveLedgerTransaction(tx, input.transactionId);
  if (!original) {
    throw ledgerError('ledger_transaction_not_found', 'No ledger transaction with this id', {
      transactionId: input.transactionId,
    });
  }
  return insertTransaction(tx, {
    kind: 'reversal',
    idempotencyKey: input.idempotencyKey ?? `reversal:${original.id}`,
    occurredAt: input.occurredAt,
    paymentId: original.paymentId,
    payoutId: original.payoutId,
    conversionBatchId: original.conversionBatchId,
    reversesTransactionId: original.id,
    description: input.description,
    entries: original.entries.map((entry) => ({ account: entry.account, asset: entry.asset, amount: -entry.amount })),
  });
}

/**
 * One statement in the common case: it locks the accounts the transaction lowers, checks that every
 * account exists as its code implies, and inserts the transaction with its entries; the ledger's
 * triggers check the result at the end of that statement (sql/020). An account's first use costs a
 * second round (create, then post again). A key posted before inserts nothing and is compared with
 * what was posted.
 */
async function insertTransaction(tx: Tx, draft: TransactionDraft): Promise<string> {
  const specs = validateDraft(draft);
  let posting = await postWithExistingAccounts(tx, draft, specs);
  if (!posting.accountsReady) {
    await ensureAccounts(tx, specs); // creates what is missing; refuses a mismatched account
    posting = await postWithExistingAccounts(tx, draft, specs);
    if (!posting.accountsReady) throw ledgerError('ledger_invariant_broken', `ledger accounts of ${draft.idempotencyKey} cannot be read after creating them`);
  }
  if (posting.id !== null) return posting.id;
  // Posted before (or by a concurrent transaction that committed first): the same effect, or an error.
  const existing = await findTransaction(tx, 'idempotency_key', draft.idempotencyKey);
  if (!existing) throw ledgerError('ledger_invariant_broken', `ledger transaction ${draft.idempotencyKey} conflicted but cannot be read`);
  return sameEffectOrThrow(existing, draft);
}

/** Codes of the no-overdraft accounts the entries lower: locked, in code order, before posting. */
function loweredCodes(specs: Map<string, LedgerAccountSpec>, entries: readonly LedgerEntryInput[]): string[] {
  return [...specs.values()]
    .filter(
      (spec) =>
        !spec.isNegativeBalanceAllowed &&
        entries.some((entry) => entry.account === spec.code && entry.amount * normalSign(spec.type) < 0n),
    )
    .map((spec) => spec.code)
    .sort();
}

/**
 * The posting statement. Row locks: FOR NO KEY UPDATE on every no-overdraft account the transaction
 * lowers, in code order, so concurrent claims on one balance queue here instead of deadlocking in
 * the entry check; NO KEY UPDATE, not UPDATE, because every entry insert holds KEY SHARE on its
 * account (foreign key) and upgrading that is a deadlock (sql/014). Posts nothing (accountsReady
 * false) when an account is missing or differs from what its code implies.
 */
async function postWithExistingAccounts(
  tx: Tx,
  draft: TransactionDraft,
  specs: Map<string, LedgerAccountSpec>,
): Promise<{ accountsReady: boolean; id: string | null }> {
  const posting = postingCtes(draft, specs, 1, {});
  try {
    const { rows } = await tx.query<{ accountsReady: boolean; id: string | null }>(
      `WITH ${posting.checks}, ${posting.writes} SELECT ${posting.ready} AS "accountsReady", ${posting.postedId} AS id`,
      posting.params,
    );
    return rows[0] ?? { accountsReady: false, id: null };
  } catch (error) {
    throw toLedgerError(error, draft);
  }
}

/**
 * A posting's CTEs, parameters from `$firstParam`: `ledger_locked` (the lowered no-overdraft accounts,
 * when there are any), `ledger_used` (every account it names) and `ledger_ready` in `checks`; `ledger_posted` and
 * `ledger_entries` in `writes`, which post only when every account is ready and `when` holds.
 */
function postingCtes(
  draft: TransactionDraft,
  specs: Map<string, LedgerAccountSpec>,
  firstParam: number,
  options: { when?: string },
): { checks: string; writes: string; params: unknown[]; ready: string; postedId: string; locksAccounts: boolean } {
  const list = [...specs.values()];
  const lowered = loweredCodes(specs, draft.entries);
  const params: unknown[] = [
    draft.kind,
    draft.idempotencyKey,
    draft.occurredAt,
    draft.entries.length,
    draft.paymentId,
    draft.payoutId,
    draft.conversionBatchId,
    draft.reversesTransactionId,
    draft.description,
    lowered,
    list.map((spec) => spec.code),
    list.map((spec) => spec.asset),
    list.map((spec) => spec.type),
  ];
  const $ = (n: number) => `$${firstParam + n - 1}`;
  const lines = draft.entries.map((entry, index) => {
    params.push(index + 1, entry.account, entry.asset, entry.amount.toString());
    const at = params.length - 3;
    return `(${$(at)}::smallint, ${$(at + 1)}::text, ${$(at + 2)}::text, ${$(at + 3)}::numeric)`;
  });
  return {
    checks: `ledger_locked AS (
         SELECT id, code, asset, type FROM ledger_accounts WHERE code = ANY(${$(10)}::text[]) ORDER BY code FOR NO KEY UPDATE),
       ledger_used AS (
         SELECT id, code, asset, type FROM ledger_locked
         UNION ALL
         SELECT id, code, asset, type FROM ledger_accounts WHERE code = ANY(${$(11)}::text[]) AND NOT code = ANY(${$(10)}::text[])),
       ledger_ready AS (
         SELECT count(*) = cardinality(${$(11)}::text[]) AS ok
           FROM unnest(${$(11)}::text[], ${$(12)}::text[], ${$(13)}::text[]) AS wanted (code, asset, type)
           JOIN ledger_used USING (code, asset, type))`,
    writes: `ledger_posted AS (
         INSERT INTO ledger_transactions
           (kind, idempotency_key, occurred_at, entry_count, payment_id, payout_id, conversion_batch_id,
            reverses_transaction_id, description)
         SELECT ${$(1)}::text, ${$(2)}::text, ${$(3)}::timestamptz, ${$(4)}::smallint, ${$(5)}::uuid, ${$(6)}::uuid, ${$(7)}::uuid, ${$(8)}::uuid, ${$(9)}::text
          WHERE (SELECT ok FROM ledger_ready)${options.when ? ` AND ${options.when}` : ''}
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id),
       ledger_entries AS (
         INSERT INTO ledger_entries (transaction_id, line, account_id, asset, amount)
         SELECT ledger_posted.id, line.number, ledger_used.id, line.asset, line.amount
           FROM ledger_posted
           CROSS JOIN (VALUES ${lines.join(', ')}) AS line (number, code, asset, amount)
           JOIN ledger_used ON ledger_used.code = line.code)`,
    params,
    ready: '(SELECT ok FROM ledger_ready)',
    postedId: '(SELECT id FROM ledger_posted)',
    locksAccounts: lowered.length > 0,
  };
}

/**
 * A posting made by a caller's statement, as CTEs of it, for a write and what it books with no
 * decision between them (a payout's move and its ledger transaction): one statement, so the two
 * commit together even outside a transaction. `ledgerPosting` builds it; `runWithLedgerPosting` runs
 * the caller's statement.
 */
export interface LedgerPosting {
  /** CTEs to define before the caller's write (the write must be gated on `ready`). */
  checks: string;
  /** CTEs to define after it (they may refer to the caller's CTEs through `when`). */
  writes: string;
  params: unknown[];
  /** An SQL condition: every account exists as its code implies. The caller's write must hold on it. */
  ready: string;
  /** The select list the caller's statement must return in its one row (`PostingColumns`). */
  columns: string;
  /** SQL: the id of the transaction this statement posts, or of the one posted before under its key (the caller's write may name it). */
  transactionId: string;
  input: PostLedgerTransactionInput;
}

/** What a statement with a `LedgerPosting` returns besides its own columns. */
export interface PostingColumns {
  ledger_ready: boolean;
  ledger_due: boolean;
  ledger_posted_id: string | null;
}

/**
 * `input` as CTEs of a caller's statement, parameters from `$firstParam`, posted only when `when` (an
 * SQL condition on the caller's CTEs, e.g. that its write wrote a row) holds.
 *
 * A posting that lowers an owner balance locks it first (`ledger_locked`), so that concurrent claims
 * queue instead of deadlocking; the caller's write must then take no row lock before it, which only
 * an INSERT of new rows can promise (its references are checked at the statement's end): say so with
 * `locksBalancesFirst`. Without it such a posting is refused (post it with `postLedgerTransaction`).
 *
 * @throws PermanentError the input errors of `postLedgerTransaction`.
 */
export function ledgerPosting(input: PostLedgerTransactionInput, firstParam: number, options: { when?: string; locksBalancesFirst?: boolean } = {}): LedgerPosting {
  const draft = draftOf(input);
  const posting = postingCtes(draft, validateDraft(draft), firstParam, options);
  if (posting.locksAccounts && !options.locksBalancesFirst) {
    throw ledgerError('ledger_invalid_transaction', 'A posting that lowers an owner balance locks it before any other write: only with a new row\'s INSERT', { idempotencyKey: input.idempotencyKey });
  }
  return {
    checks: posting.checks,
    writes: posting.writes,
    params: posting.params,
    ready: posting.ready,
    columns: `${posting.ready} AS ledger_ready, ${options.when ?? 'true'} AS ledger_due, ${posting.postedId} AS ledger_posted_id`,
    transactionId: `coalesce(${posting.postedId}, (SELECT id FROM ledger_transactions WHERE idempotency_key = $${firstParam + 1}::text))`,
    input,
  };
}

/**
 * Runs a caller's statement that carries `posting` (`ledgerPosting`) and returns its row. When an
 * account was missing (its first use), the statement wrote nothing: the accounts are created and it
 * runs again. When the posting was due but its key had been posted before, that transaction must be
 * the same effect (`ledger_idempotency_conflict` otherwise).
 *
 * @throws PermanentError the errors of `postLedgerTransaction`, e.g. `ledger_duplicate_effect`.
 */
export async function runWithLedgerPosting<R extends PostingColumns>(q: Queryable, posting: LedgerPosting, sql: string, params: readonly unknown[]): Promise<R> {
  const draft = draftOf(posting.input);
  const run = async () => {
    const { rows } = await q.query<R>(sql, params).catch((error: unknown) => {
      throw toLedgerError(error, draft);
    });
    if (!rows[0]) throw ledgerError('ledger_invariant_broken', `the statement posting ${draft.idempotencyKey} returned no row`);
    return rows[0];
  };
  let row = await run();
  if (!row.ledger_ready) {
    await ensureAccounts(q, validateDraft(draft));
    row = await run();
    if (!row.ledger_ready) throw ledgerError('ledger_invariant_broken', `ledger accounts of ${draft.idempotencyKey} cannot be read after creating them`);
  }
  if (row.ledger_due && row.ledger_posted_id === null) {
    const existing = await findTransaction(q, 'idempotency_key', draft.idempotencyKey);
    if (!existing) throw ledgerError('ledger_invariant_broken', `ledger transaction ${draft.idempotencyKey} conflicted but cannot be read`);
    sameEffectOrThrow(existing, draft);
  }
  return row;
}

function draftOf(input: PostLedgerTransactionInput): TransactionDraft {
  return {
    kind: input.kind,
    idempotencyKey: input.idempotencyKey,
    occurredAt: input.occurredAt,
    paymentId: input.paymentId ?? null,
    payoutId: input.payoutId ?? null,
    conversionBatchId: input.conversionBatchId ?? null,
    reversesTransactionId: null,
    description: input.description ?? null,
    entries: input.entries,
  };
}

/**
 * The slow path of a posting: creates the draft's missing accounts (a concurrent creator's row wins,
 * with the same values) and refuses a stored account that differs from what its code implies. The
 * posting statement that follows takes the locks.
 */
async function ensureAccounts(tx: Queryable, specs: Map<string, LedgerAccountSpec>): Promise<void> {
  const list = [...specs.values()].sort((a, b) => (a.code < b.code ? -1 : 1));
  const values: unknown[] = [];
  const rows = list.map((spec) => {
    values.push(spec.code, spec.asset, spec.type, spec.channelId, spec.isNegativeBalanceAllowed);
    const at = values.length - 4;
    return `($${at}, $${at + 1}, $${at + 2}, $${at + 3}::uuid, $${at + 4})`;
  });
  await tx
    .query(
      `INSERT INTO ledger_accounts (code, asset, type, channel_id, is_negative_balance_allowed)
       VALUES ${rows.join(', ')}
       ON CONFLICT (code) DO NOTHING`,
      values,
    )
    .catch((error: unknown) => {
      throw toLedgerError(error, null);
    });
  const { rows: accounts } = await tx.query<{ code: string; asset: string; type: string }>(
    'SELECT code, asset, type FROM ledger_accounts WHERE code = ANY($1::text[])',
    [list.map((spec) => spec.code)],
  );
  for (const account of accounts) {
    const spec = specs.get(account.code);
    if (!spec || spec.asset !== account.asset || spec.type !== account.type) {
      throw ledgerError('ledger_invalid_account', 'The stored account differs from what its code implies', {
        account: account.code,
        asset: account.asset,
        type: account.type,
      });
    }
  }
}

function entryKey(entry: { account: string; asset: string; amount: bigint }): string {
  return `${entry.account}|${entry.asset}|${entry.amount}`;
}

/** A repeated post must describe the same effect: same kind, links and entries (in any order). */
function sameEffectOrThrow(existing: LedgerTransaction, draft: TransactionDraft): string {
  const sameLinks =
    existing.kind === draft.kind &&
    existing.paymentId === draft.paymentId &&
    existing.payoutId === draft.payoutId &&
    existing.conversionBatchId === draft.conversionBatchId &&
    existing.reversesTransactionId === draft.reversesTransactionId;
  const before = existing.entries.map(entryKey).sort();
  const now = draft.entries.map(entryKey).sort();
  const sameEntries = before.length === now.length && before.every((key, index) => key === now[index]);
  if (!sameLinks || !sameEntries) {
    throw ledgerError('ledger_idempotency_conflict', 'This idempotency key was posted with other entries or links', {
      idempotencyKey: draft.idempotencyKey,
      transactionId: existing.id,
    });
  }
  return existing.id;
}

function toLedgerError(error: unknown, draft: TransactionDraft | null): unknown {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  const context = draft ? { idempotencyKey: draft.idempotencyKey, kind: draft.kind } : {};
  if (code === '23514' && constraint === 'ledger_accounts_no_overdraft') {
    return ledgerError('ledger_insufficient_balance', 'An owner balance would go below zero', context);
  }
  if (code === '23514' && constraint === 'ledger_transactions_balanced') {
    return ledgerError('ledger_unbalanced', 'The database refused an unbalanced transaction', context);
  }
  if (code === '23505' && typeof constraint === 'string' && ONCE_PER_EFFECT.has(constraint)) {
    return ledgerError('ledger_duplicate_effect', 'This effect was already posted under another key', {
      ...context,
      constraint,
    });
  }
  if (code === '23503') {
    return ledgerError('ledger_unknown_reference', 'A referenced payment, payout, batch, transaction or channel does not exist', {
      ...context,
      constraint: typeof constraint === 'string' ? constraint : undefined,
    });
  }
  return error;
}
