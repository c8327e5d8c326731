export { type PayoutState, type PayoutTransitionFields, PAYOUT_STATES, PAYOUT_TRANSITIONS, canTransitionPayout, transitionPayout } from './payout-state.js';
export { type OutflowLimits, type LimitVerdict, checkOutflowLimits, holdPayout, approvePayout, rejectPayout } from './limits.js';
