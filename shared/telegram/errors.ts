import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the telegram/ folder raises, with its kind (status and retry follow from it). */
export const telegramError = defineErrors({
  telegram_bad_request: 'invalid',
  telegram_forbidden: 'invalid',
  telegram_rate_limited: 'unavailable',
  telegram_unavailable: 'unavailable',
  telegram_unexpected_error: 'unavailable',
  telegram_user_unreachable: 'invalid',
  invalid_callback_data: 'invalid',
});
export type TelegramErrorCode = ErrorCodeOf<typeof telegramError>;
