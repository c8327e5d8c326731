/**
 * Nothing sits still unnoticed: who owns each non-terminal state, the sweep that re-drives what its
 * owner declares, and one operator alert per stuck row and episode (docs/reliability.md), told to
 * the operator's Telegram chat by notify-operator (`createOperatorNotifier`).
 */
export { type OperatorAlert, raiseOperatorAlert } from './operator-alerts.js';
export {
  type OperatorNotifierSettings,
  type OperatorNotifierDeps,
  type OperatorNotifyOutcome,
  OPERATOR_ALERT_CLAIM_SECONDS,
  createOperatorNotifier,
  operatorAlertText,
} from './operator-alert-delivery.js';
export { type OwnedState, type StateMachine, STATE_MACHINES, STEADY_STATUS_COLUMNS, ownedState, renderStateOwnersTable, sinceExpression, stateCondition } from './state-owners.js';
export { type WatchdogDeps, type WatchReport, type RedriveReport, watchStuckWork, redriveStuckWork } from './watch-stuck-work.js';
export { type BurstLimit, type BurstRule, type BurstCounts, type BurstEvent, type BurstVerdict, countBurstEvent, recordBurstEvent } from './bursts.js';
export { type BurstLimits, DEFAULT_BURST_LIMITS, loadBurstLimits } from './burst-limits.js';
