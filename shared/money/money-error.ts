import { PermanentError, type ErrorContext } from '../errors/index.js';

/**
 * Every code the money helpers throw. All of them are `PermanentError`s: the same input fails the same way, so
 * retrying cannot help.
 */
export type MoneyErrorCode =
  | 'invalid_amount'
  | 'too_many_decimals'
  | 'amount_out_of_range'
  | 'amount_precision_lost'
  | 'amount_not_positive'
  | 'invalid_decimals'
  | 'invalid_rounding'
  | 'invalid_rate'
  | 'invalid_basis_points'
  | 'invalid_weights'
  | 'division_by_zero'
  | 'unknown_asset';

/** Longest slice of caller text copied into an error context, so a hostile megabyte string never reaches the logs. */
const MAX_TEXT_IN_CONTEXT = 64;

export function moneyError(code: MoneyErrorCode, message: string, context?: ErrorContext): PermanentError {
  return new PermanentError(code, message, context);
}

/** A loggable preview of caller-supplied text. */
export function previewText(text: string): string {
  return text.length <= MAX_TEXT_IN_CONTEXT ? text : `${text.slice(0, MAX_TEXT_IN_CONTEXT)}…(${text.length} chars)`;
}
