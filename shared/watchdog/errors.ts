import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the watchdog/ folder raises, with its kind (status and retry follow from it). */
export const watchdogError = defineErrors({
  state_owner_undeclared: 'internal',
  unknown_operator_alert: 'not_found',
  operator_alert_in_progress: 'unavailable',
  operator_chat_unreachable: 'invalid',
});
export type WatchdogErrorCode = ErrorCodeOf<typeof watchdogError>;
