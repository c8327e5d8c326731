import { type InsertedOutboxRow, type OutboxMessage, outboxInsert } from '../bus/index.js';
import type { AlongsideWrite, Queryable, Tx } from '../db/index.js';
import { ledgerPosting, type PostingColumns, type PostLedgerTransactionInput, runWithLedgerPosting } from '../ledger/index.js';
import { formatPublicId } from '../ids/index.js';
import { type AssetCode, formatAmount, formatUsdCents } from '../money/index.js';
import { hasLiveWebhookEndpointSql, recordOwnerWebhookEvents } from '../owner-webhooks/webhook-events.js';
import { payoutError } from './errors.js';

/**
 * The payout lifecycle, the same graph as `payout_state_can_advance` in SQL (sql/019; a test walks both).
 * Main line: requested → quoted → swap_created → transfer_signed → transfer_broadcast →
 * awaiting_swap → completed. `held` waits for an operator, `deferred` for a later retry; once a
 * transaction is signed there is no way back to a state that could sign another.
 * `needs_attention`: ChangeNow says the funded exchange failed, but its support may still complete
 * or refund it, so the amount stays held until ChangeNow says `finished` or `refunded`.
 */
export const PAYOUT_STATES = [
  'requested', 'held', 'deferred', 'quoted', 'swap_created', 'transfer_signed',
  'transfer_broadcast', 'awaiting_swap', 'needs_attention', 'completed', 'failed', 'refunded', 'cancelled',
] as const;
export type PayoutState = (typeof PAYOUT_STATES)[number];

export const PAYOUT_TRANSITIONS = {
  requested: ['quoted', 'held', 'deferred', 'failed', 'cancelled'],
  held: ['requested', 'cancelled'],
  deferred: ['requested', 'failed', 'cancelled'],
  quoted: ['requested', 'swap_created', 'transfer_signed', 'held', 'deferred', 'failed', 'cancelled'],
  swap_created: ['transfer_signed', 'failed', 'cancelled'],
  transfer_signed: ['transfer_broadcast'],
  transfer_broadcast: ['awaiting_swap', 'completed', 'failed'],
  awaiting_swap: ['completed', 'refunded', 'failed', 'needs_attention'],
  needs_attention: ['completed', 'refunded'],
  completed: [],
  failed: [],
  refunded: [],
  cancelled: [],
} as const satisfies Record<PayoutState, readonly PayoutState[]>;

/** States a payout never leaves: delivered, given back to the balance, or never paid. */
export const FINISHED_PAYOUT_STATES: readonly PayoutState[] = PAYOUT_STATES.filter((state) => PAYOUT_TRANSITIONS[state].length === 0);

export function canTransitionPayout(from: PayoutState, to: PayoutState): boolean {
  return (PAYOUT_TRANSITIONS[from] as readonly PayoutState[]).includes(to);
}

/** Columns a transition may set alongside the state. */
export interface PayoutTransitionFields {
  heldReason?: string | null;
  approvedBy?: string | null;
  deferredUntil?: Date | null;
  deferredReason?: string | null;
  failureCode?: string | null;
  failureReason?: string | null;
  /** On a move to `quoted`: what the payout will deliver (decimal text), quoted at the move's time. */
  quotedToAmount?: string | null;
  /** Follow-up messages, written to the outbox by the move's own statement and only if it moved the payout. */
  queue?: readonly OutboxMessage[];
}

/** Finished states the owner's webhooks hear about: delivered, or not (failed, or the swap refunded to us). */
const WEBHOOK_PAYOUT_EVENTS: Partial<Record<PayoutState, 'payout.completed' | 'payout.failed'>> = {
  completed: 'payout.completed',
  failed: 'payout.failed',
  refunded: 'payout.failed',
};

interface MovedPayout {
  kind: string;
  channel_id: string | null;
  owner_account_id: string | null;
  asset: AssetCode;
  amount_units: string;
  amount_usd_cents: bigint | null;
  destination_currency: string;
  destination_network: string;
  has_webhooks: boolean;
}

/** Parameters of `payoutMove`'s statement: `$1` … `$11`. */
const PAYOUT_MOVE_PARAMS = 11;

/** The conditional UPDATE of a move, parameters from `$firstParam`; returns the moved row (`MovedPayout`), or nothing. */
function payoutMove(input: { payoutId: string; from: PayoutState; to: PayoutState; at: Date } & PayoutTransitionFields, alsoWhere?: string, firstParam = 1): AlongsideWrite {
  if (!canTransitionPayout(input.from, input.to)) throw payoutError('payout_transition_refused', `payout cannot move from ${input.from} to ${input.to}`);
  const $ = (n: number) => `$${firstParam + n - 1}`;
  return {
    sql: `UPDATE payouts SET state = ${$(3)}, state_changed_at = ${$(4)}, updated_at = ${$(4)},
       held_reason = CASE WHEN ${$(3)} = 'held' THEN ${$(5)} ELSE held_reason END,
       approved_by = CASE WHEN ${$(6)}::text IS NOT NULL THEN ${$(6)} ELSE approved_by END,
       approved_at = CASE WHEN ${$(6)}::text IS NOT NULL THEN ${$(4)} ELSE approved_at END,
       deferred_until = CASE WHEN ${$(3)} = 'deferred' THEN ${$(7)} ELSE deferred_until END,
       deferred_reason = CASE WHEN ${$(3)} = 'deferred' THEN ${$(10)} ELSE deferred_reason END,
       failure_code = CASE WHEN ${$(3)} = 'failed' THEN ${$(8)} ELSE failure_code END,
       failure_reason = CASE WHEN ${$(3)} = 'failed' THEN ${$(9)} ELSE failure_reason END,
       completed_at = CASE WHEN ${$(3)} = 'completed' THEN ${$(4)} ELSE completed_at END,
       quoted_to_amount = CASE WHEN ${$(3)} = 'quoted' AND ${$(11)}::numeric IS NOT NULL THEN ${$(11)}::numeric ELSE quoted_to_amount END,
       quoted_at = CASE WHEN ${$(3)} = 'quoted' AND ${$(11)}::numeric IS NOT NULL THEN ${$(4)} ELSE quoted_at END
     WHERE id = ${$(1)} AND state = ${$(2)}${alsoWhere ? ` AND ${alsoWhere}` : ''}
     RETURNING kind, channel_id, owner_account_id, asset, amount_units::text AS amount_units, amount_usd_cents,
               destination_currency, destination_network,
               CASE WHEN ${$(3)} IN ('completed', 'failed', 'refunded') THEN ${hasLiveWebhookEndpointSql('owner_account_id')} ELSE false END AS has_webhooks`,
    params: [
      input.payoutId,
      input.from,
      input.to,
      input.at,
      input.heldReason ?? null,
      input.approvedBy ?? null,
      input.deferredUntil ?? null,
      input.failureCode ?? null,
      input.failureReason ?? null,
      input.deferredReason ?? null,
      input.quotedToAmount ?? null,
    ],
  };
}

/**
 * `transitionPayout` as a write for another module's statement (`AlongsideWrite`), e.g. the move to
 * `transfer_signed` made by the statement that stores the transfer: it returns one row when it moved
 * the payout. Only for a move that queues nothing and that owners' webhooks do not hear about.
 */
export function payoutMoveWrite(input: { payoutId: string; from: PayoutState; to: PayoutState; at: Date }): AlongsideWrite {
  if (WEBHOOK_PAYOUT_EVENTS[input.to]) throw payoutError('payout_transition_refused', `a move to ${input.to} records a webhook event: use transitionPayout`);
  return payoutMove(input);
}

/** A ledger transaction a move books in its own statement (`transitionPayout`'s `posting`). */
export interface PayoutMovePosting {
  transaction: PostLedgerTransactionInput;
  /** `moved`: only when this call moves the payout (what the move itself means); `always`: also when another had moved it (an idempotent fact, e.g. gas paid). */
  when: 'moved' | 'always';
}

type MoveInput = { payoutId: string; from: PayoutState; to: PayoutState; at: Date } & PayoutTransitionFields & {
  posting?: PayoutMovePosting;
  /** `movePayoutWith` only: SQL over the statement's CTEs (`alongside`) that the move also needs, e.g. `(SELECT within FROM alongside)`. */
  onlyIf?: string;
};

/**
 * Moves one payout from `from` to `to` if, and only if, it is still in `from` (a redelivered or
 * forged message that finds it elsewhere changes nothing). Returns whether this call moved it.
 * A move to completed, failed or refunded records the owner's `payout.completed` / `payout.failed`
 * webhook event in the same transaction (one more statement only when the owner has an endpoint).
 *
 * With `posting`, the move's statement also posts that ledger transaction (one that lowers no owner
 * balance), and with `queue` it writes the messages, so they commit together: such a move, telling no
 * webhook, may run outside a transaction (`q` the database itself).
 */
export async function transitionPayout(q: Tx | Queryable, input: MoveInput): Promise<boolean> {
  if (!('inTransaction' in q) && WEBHOOK_PAYOUT_EVENTS[input.to]) {
    throw payoutError('payout_transition_refused', `a move to ${input.to} tells webhooks: it runs in a transaction`);
  }
  return (await movePayoutWith(q, input)).moved;
}

/** What `movePayoutWith` did. */
export interface PayoutMoveWithWrite {
  moved: boolean;
  /** How many rows the caller's write wrote. */
  writtenRows: number;
  /**
   * Outside a transaction only: the move tells webhooks and the owner has a live endpoint, so it was
   * left for a transaction (`transitionPayout` in one), which records the event with it.
   */
  needsTransaction: boolean;
}

/**
 * `transitionPayout` with another module's write in the same statement (`write`, e.g. the transfer's
 * receipt that the move follows from), run whether or not the payout moves: the two commit together.
 * With a `posting`, the write is made only once the posting's accounts exist (`onlyWhere`), like the move.
 * Outside a transaction a move that tells webhooks is made only for an owner without a live endpoint
 * (checked by the move itself); for one with an endpoint it is left undone (`needsTransaction`).
 */
export async function movePayoutWith(q: Tx | Queryable, input: MoveInput, write?: AlongsideWrite): Promise<PayoutMoveWithWrite> {
  const eventType = WEBHOOK_PAYOUT_EVENTS[input.to];
  const tx = 'inTransaction' in q ? (q as Tx) : undefined;
  const first = (write?.params.length ?? 0) + 1;
  const posting = input.posting
    ? ledgerPosting(input.posting.transaction, first + PAYOUT_MOVE_PARAMS, { when: input.posting.when === 'moved' ? 'EXISTS (SELECT 1 FROM moved)' : undefined })
    : undefined;
  const noEndpoint = `NOT ${hasLiveWebhookEndpointSql('owner_account_id')}`;
  if (input.onlyIf && !write) throw payoutError('payout_transition_refused', 'a move onlyIf names the alongside it needs');
  const guards = [posting?.ready, !tx && eventType ? noEndpoint : undefined, input.onlyIf].filter((guard) => guard !== undefined);
  const move = payoutMove(input, guards.length > 0 ? guards.join(' AND ') : undefined, first);
  const afterMove = first + move.params.length + (posting?.params.length ?? 0);
  const queue = input.queue && input.queue.length > 0 ? outboxInsert(input.queue, afterMove, { when: 'EXISTS (SELECT 1 FROM moved)' }) : undefined;
  const queued = `(SELECT coalesce(jsonb_agg(jsonb_build_object('id', id::text, 'message_id', message_id)), '[]'::jsonb) FROM queued) AS queued`;
  const extras = [
    ...(queue ? [queued] : []),
    ...(write ? ['(SELECT count(*) FROM alongside)::int AS written_rows'] : []),
    ...(!tx && eventType ? [`(SELECT ${noEndpoint} FROM payouts WHERE id = $${first} AND state = $${first + 1}) IS FALSE AS needs_transaction`] : []),
  ];
  // A posting's statement runs again after creating the accounts it lacked: the write waits for that run too.
  if (write && posting && !write.onlyWhere) throw payoutError('payout_transition_refused', 'a write alongside a posting must be gated on it (onlyWhere)');
  const writeSql = write && posting && write.onlyWhere ? write.onlyWhere(posting.ready) : write?.sql;
  const ctes = [
    ...(posting ? [posting.checks] : []),
    ...(writeSql ? [`alongside AS (${writeSql})`] : []),
    `moved AS (${move.sql})`,
    ...(queue ? [`queued AS (${queue.sql})`] : []),
    ...(posting ? [posting.writes] : []),
  ];
  const params = [...(write?.params ?? []), ...move.params, ...(posting?.params ?? []), ...(queue?.params ?? [])];
  const sql = `WITH ${ctes.join(', ')}
       SELECT moved.*${extras.map((extra) => `, ${extra}`).join('')}${posting ? `, ${posting.columns}` : ''}
         FROM (VALUES (1)) AS one (x) LEFT JOIN moved ON true`;
  type Returned = MovedPayout & { queued?: { id: string; message_id: string }[]; written_rows?: number; needs_transaction?: boolean };
  // One row whether or not the payout moved: `kind` (never null on a payout) says whether it did.
  const row = posting ? await runWithLedgerPosting<Partial<Returned> & PostingColumns>(q, posting, sql, params) : (await q.query<Partial<Returned>>(sql, params)).rows[0];
  const moved = row?.kind ? (row as Returned) : undefined;
  if (moved && queue) queue.inserted(q, (moved.queued ?? []).map((queuedRow): InsertedOutboxRow => ({ id: BigInt(queuedRow.id), message_id: queuedRow.message_id })));
  if (tx && moved?.has_webhooks && eventType && moved.owner_account_id !== null && moved.channel_id !== null) {
    await recordOwnerWebhookEvents(tx, [
      {
        accountId: moved.owner_account_id,
        type: eventType,
        sourceKey: `payout:${input.payoutId}`,
        at: input.at,
        data: {
          payoutId: formatPublicId('payout', input.payoutId),
          channelId: formatPublicId('channel', moved.channel_id),
          kind: moved.kind,
          state: input.to,
          asset: moved.asset,
          amount: formatAmount({ asset: moved.asset, units: BigInt(moved.amount_units) }),
          amountUsd: moved.amount_usd_cents === null ? null : formatUsdCents(BigInt(moved.amount_usd_cents)),
          destinationCurrency: moved.destination_currency,
          destinationNetwork: moved.destination_network,
          failureCode: input.to === 'completed' ? null : (input.failureCode ?? input.to),
          at: input.at.toISOString(),
        },
      },
    ]);
  }
  return { moved: moved !== undefined, writtenRows: row?.written_rows ?? 0, needsTransaction: row?.needs_transaction === true };
}
