import type { GrammyError, HttpError } from 'grammy';
import { AppError, type ErrorContext } from '../errors/index.js';
import { telegramError } from './errors.js';

/** The codes `toTelegramError` produces. */
export type TelegramErrorCode =
  | 'telegram_user_unreachable'
  | 'telegram_forbidden'
  | 'telegram_bad_request'
  | 'telegram_rate_limited'
  | 'telegram_unavailable'
  | 'telegram_unexpected_error';

/**
 * 403 descriptions that mean this one user cannot get messages from the bot, as opposed to the bot
 * lacking rights in a chat. "can't initiate conversation" is the owner who never pressed Start.
 */
const USER_UNREACHABLE = [
  'bot was blocked by the user',
  'user is deactivated',
  "bot can't initiate conversation with a user",
];

/**
 * Translates a failed Bot API call into our error vocabulary, keeping "Telegram said
 * no" (`GrammyError`) apart from "Telegram could not be reached" (`HttpError`):
 *
 * | failure                                                   | result                                                    |
 * |-----------------------------------------------------------|-----------------------------------------------------------|
 * | 403 blocked / deactivated / never started the bot         | `PermanentError('telegram_user_unreachable')`             |
 * | any other 403 (bot kicked, not a member)                  | `PermanentError('telegram_forbidden')`                    |
 * | 400                                                       | `PermanentError('telegram_bad_request', { description })` |
 * | 429                                                       | `TransientError('telegram_rate_limited', { retryAfterSeconds })` |
 * | 5xx, `HttpError` (network, timeout)                       | `TransientError('telegram_unavailable')`                  |
 * | anything else (401 bad token, 409, unknown exceptions)    | `TransientError('telegram_unexpected_error')`             |
 *
 * An `AppError` passes through unchanged. Context gets `method`, `errorCode` and `description`
 * (Telegram's text, which never contains the token); `context` from the caller is merged in first.
 * The original error is kept as `cause`; its own message never goes into ours, because a network
 * error's message can contain the request URL and with it the token.
 */
export function toTelegramError(error: unknown, context: ErrorContext = {}): AppError {
  if (error instanceof AppError) return error;
  if (isGrammyError(error)) {
    const details = { ...context, method: error.method, errorCode: error.error_code, description: error.description };
    const refused = `Telegram refused ${error.method}: ${error.description}`;
    if (error.error_code === 403) {
      return USER_UNREACHABLE.some((text) => error.description.includes(text))
        ? telegramError('telegram_user_unreachable', `${refused}; record the user as unreachable`, details, error)
        : telegramError('telegram_forbidden', `${refused}; check the bot is an administrator of the chat`, details, error);
    }
    if (error.error_code === 400) return telegramError('telegram_bad_request', refused, details, error);
    if (error.error_code === 429) {
      const retryAfterSeconds = error.parameters.retry_after;
      return telegramError('telegram_rate_limited', refused, { ...details, retryAfterSeconds }, error);
    }
    if (error.error_code >= 500) return telegramError('telegram_unavailable', refused, details, error);
    return telegramError('telegram_unexpected_error', refused, details, error);
  }
  if (isHttpError(error)) {
    // error.message names the method only; error.error (from fetch) may quote the URL, token included.
    const method = /'([^']+)'/.exec(error.message)?.[1];
    return telegramError('telegram_unavailable', `The Telegram Bot API could not be reached${method ? ` for ${method}` : ''}`, { ...context, method }, error);
  }
  return telegramError('telegram_unexpected_error', 'A Telegram call failed unexpectedly', context, error);
}

/**
 * grammY's `GrammyError` (Telegram answered and said no), told by its name and fields rather than
 * `instanceof`, so code can ask without importing grammY: the dashboard loads grammY only when a
 * request calls Telegram (`createOnDemandBotApi`), and most of its requests never do.
 */
export function isGrammyError(error: unknown): error is GrammyError {
  return error instanceof Error && error.name === 'GrammyError' && typeof (error as GrammyError).error_code === 'number' && typeof (error as GrammyError).description === 'string';
}

/** grammY's `HttpError` (Telegram could not be reached), told as `isGrammyError` tells its kind. */
export function isHttpError(error: unknown): error is HttpError {
  return error instanceof Error && error.name === 'HttpError' && 'error' in error;
}

/** True when `error` (raw or translated) says this user blocked the bot, was deleted or never started it. */
export function isTelegramUserUnreachable(error: unknown): boolean {
  return toTelegramError(error).code === 'telegram_user_unreachable';
}
