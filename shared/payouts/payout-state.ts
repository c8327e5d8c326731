import type { Tx } from '../db/index.js';
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
}

/**
 * Moves one payout from `from` to `to` if, and only if, it is still in `from` (a redelivered or
 * forged message that finds it elsewhere changes nothing). Returns whether this call moved it.
 */
export async function transitionPayout(
  tx: Tx,
  input: { payoutId: string; from: PayoutState; to: PayoutState; at: Date } & PayoutTransitionFields,
): Promise<boolean> {
  if (!canTransitionPayout(input.from, input.to)) throw payoutError('payout_transition_refused', `payout cannot move from ${input.from} to ${input.to}`);
  const { rowCount } = await tx.query(
    `UPDATE payouts SET state = $3, state_changed_at = $4, updated_at = $4,
       held_reason = CASE WHEN $3 = 'held' THEN $5 ELSE held_reason END,
       approved_by = CASE WHEN $6::text IS NOT NULL THEN $6 ELSE approved_by END,
       approved_at = CASE WHEN $6::text IS NOT NULL THEN $4 ELSE approved_at END,
       deferred_until = CASE WHEN $3 = 'deferred' THEN $7 ELSE deferred_until END,
       deferred_reason = CASE WHEN $3 = 'deferred' THEN $10 ELSE deferred_reason END,
       failure_code = CASE WHEN $3 = 'failed' THEN $8 ELSE failure_code END,
       failure_reason = CASE WHEN $3 = 'failed' THEN $9 ELSE failure_reason END,
       completed_at = CASE WHEN $3 = 'completed' THEN $4 ELSE completed_at END
     WHERE id = $1 AND state = $2`,
    [
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
    ],
  );
  return rowCount === 1;
}
