import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the bot/ folder raises, with its kind (status and retry follow from it). */
export const botError = defineErrors({
  invalid_secret_token: 'unauthorized',
  invalid_update: 'invalid',
  temporarily_unavailable: 'unavailable',
  update_store_unavailable: 'unavailable',
});
export type BotErrorCode = ErrorCodeOf<typeof botError>;
