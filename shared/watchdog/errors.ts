import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the watchdog/ folder raises, with its kind (status and retry follow from it). */
export const watchdogError = defineErrors({
  state_owner_undeclared: 'internal',
});
export type WatchdogErrorCode = ErrorCodeOf<typeof watchdogError>;
