import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the broadcasts/ folder raises, with its kind (status and retry follow from it). */
export const broadcastError = defineErrors({
  bot_username_unavailable: 'unavailable',
});
export type BroadcastErrorCode = ErrorCodeOf<typeof broadcastError>;
