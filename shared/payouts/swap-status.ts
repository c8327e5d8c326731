import { CHANGENOW_STATUSES, type ChangeNowStatus } from '../changenow/index.js';
import type { PayoutState } from './payout-state.js';

/**
 * A swap's status is ChangeNow's own (shared/changenow/changenow-status.ts), stored as is: one
 * vocabulary, read at the client and never mapped back. This is its graph as the swap row follows
 * it, the same as `swap_status_can_advance` in SQL (sql/023; a test walks both). Polling sees only
 * some steps, so a status may skip ahead; `verifying` (an AML hold) may come and go before the
 * payout; ChangeNow support may still finish (through `exchanging`/`sending`) or refund a `failed`
 * exchange. `finished`, `refunded` and `expired` end it. A report the graph lacks (an older answer
 * read before a newer one was stored) leaves the row as it is.
 */
export const SWAP_STATUSES = CHANGENOW_STATUSES;
export type SwapStatus = ChangeNowStatus;

export const SWAP_TRANSITIONS = {
  new: ['waiting', 'confirming', 'exchanging', 'sending', 'finished', 'failed', 'refunded', 'verifying', 'expired'],
  waiting: ['confirming', 'exchanging', 'sending', 'finished', 'failed', 'refunded', 'verifying', 'expired'],
  confirming: ['exchanging', 'sending', 'finished', 'failed', 'refunded', 'verifying'],
  exchanging: ['sending', 'finished', 'failed', 'refunded', 'verifying'],
  sending: ['finished', 'failed', 'refunded', 'verifying'],
  finished: [],
  failed: ['exchanging', 'sending', 'finished', 'refunded', 'verifying'],
  refunded: [],
  verifying: ['confirming', 'exchanging', 'sending', 'finished', 'failed', 'refunded'],
  expired: [],
} as const satisfies Record<SwapStatus, readonly SwapStatus[]>;

export function canTransitionSwap(from: SwapStatus, to: SwapStatus): boolean {
  return (SWAP_TRANSITIONS[from] as readonly SwapStatus[]).includes(to);
}

/**
 * What a funded swap payout (`awaiting_swap`, `needs_attention`) does on each status ChangeNow
 * reports: the state it moves to, or null to wait and ask again. `failed` is not the end (see
 * `needs_attention` in payout-state.ts); `finished` completes only once ChangeNow states `amountTo`.
 */
export const PAYOUT_STATE_AFTER_SWAP = {
  new: null,
  waiting: null,
  confirming: null,
  exchanging: null,
  sending: null,
  finished: 'completed',
  failed: 'needs_attention',
  refunded: 'refunded',
  verifying: null,
  expired: null,
} as const satisfies Record<SwapStatus, PayoutState | null>;
