export { type PayoutState, type PayoutTransitionFields, PAYOUT_STATES, PAYOUT_TRANSITIONS, canTransitionPayout, transitionPayout } from './payout-state.js';
export { type OutflowLimits, type LimitVerdict, checkOutflowLimits, holdPayout, approvePayout, rejectPayout } from './limits.js';
export { type PayoutRow, retrievePayout, isDirectPayout } from './payout-row.js';
export { type QuotePayoutDeps, type QuotePayoutOutcome, type NetworkFeeGuard, type DeferralReason, DEFERRAL_MS, quotePayout, swapPairFor } from './quote.js';
export { type PayoutNoticeKind, queuePayoutNotice } from './payout-notices.js';
export { type CreateSwapDeps, type CreateSwapOutcome, createSwap } from './swap.js';
export { type SendTransferOutcome, sendTransfer, broadcastPayoutTransfer } from './transfer.js';
export { type TrackPayoutsDeps, type TrackPayoutsReport, trackPayouts, trackPayout } from './tracking.js';
