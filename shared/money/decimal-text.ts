import { moneyError, type MoneyErrorCode } from './errors.js';
import { previewText } from './preview-text.js';

/** A decimal number read from text, held exactly: its value is `coefficient × 10^exponent`. */
export type DecimalValue = { coefficient: bigint; exponent: bigint };

/**
 * Longest text we read as a number. The largest uint256 written with 18 decimals is 79 characters; anything far
 * longer is padding or an attack, and BigInt parsing cost grows with length.
 */
export const MAX_DECIMAL_TEXT_LENGTH = 256;

/** Largest exponent magnitude accepted in `1e…` notation, so `1e999999999` cannot allocate a gigantic bigint. */
export const MAX_DECIMAL_EXPONENT = 1000n;

// ASCII digits only (no `u` flag, so `\d` is [0-9]); optional sign; `1`, `1.`, `.5`, `1.5`; optional exponent.
const DECIMAL_PATTERN = /^([+-])?(\d+)?(?:\.(\d+)?)?(?:[eE]([+-])?(\d+))?$/;

/**
 * Reads a plain decimal number (`'-1.50'`, `'.5'`, `'1.'`, `'2.5e18'`, `'1E-7'`) exactly. No whitespace, no
 * grouping separators, no hex, no `NaN`/`Infinity`.
 *
 * @param invalidCode the code thrown when the text is not a decimal number (callers parsing a rate say `invalid_rate`).
 * @throws PermanentError `invalidCode` for malformed or over-long text; `amount_out_of_range` when the exponent's
 *   magnitude exceeds {@link MAX_DECIMAL_EXPONENT}.
 */
export function parseDecimalText(text: string, invalidCode: MoneyErrorCode = 'invalid_amount'): DecimalValue {
  if (typeof text !== 'string') {
    throw moneyError(invalidCode, 'Expected a decimal number written as a string.', { type: typeof text });
  }
  if (text.length > MAX_DECIMAL_TEXT_LENGTH) {
    throw moneyError(invalidCode, `A decimal number may be at most ${MAX_DECIMAL_TEXT_LENGTH} characters long.`, {
      text: previewText(text),
    });
  }
  const match = DECIMAL_PATTERN.exec(text);
  const [, sign, integerDigits = '', fractionDigits = '', exponentSign, exponentDigits] = match ?? [];
  if (match === null || (integerDigits === '' && fractionDigits === '')) {
    throw moneyError(
      invalidCode,
      'Write the number as plain decimal digits with an optional sign, point and exponent, e.g. "12.5" or "1e-7".',
      { text: previewText(text) },
    );
  }

  let exponent = 0n;
  if (exponentDigits !== undefined) {
    const significant = exponentDigits.replace(/^0+/, '');
    // Checking the length first keeps BigInt() away from a million-digit exponent.
    const magnitude = significant.length > 6 ? MAX_DECIMAL_EXPONENT + 1n : BigInt(significant || '0');
    if (magnitude > MAX_DECIMAL_EXPONENT) {
      throw moneyError('amount_out_of_range', `The exponent must lie between -${MAX_DECIMAL_EXPONENT} and ${MAX_DECIMAL_EXPONENT}.`, {
        text: previewText(text),
      });
    }
    exponent = exponentSign === '-' ? -magnitude : magnitude;
  }

  const digits = BigInt(integerDigits + fractionDigits);
  return {
    coefficient: sign === '-' ? -digits : digits,
    exponent: exponent - BigInt(fractionDigits.length),
  };
}
