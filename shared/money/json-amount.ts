import { moneyError } from './errors.js';
import type { Rounding } from './rounding.js';
import { parseUnits } from './units.js';

/**
 * Reads an amount from a parsed JSON document, where a provider may send either a string (`"0.0000001"`) or a
 * number (`1e-7`). Prefer strings: ask providers for them where they can.
 *
 * - A string is read by `parseUnits` exactly as written.
 * - A number is read from `String(value)`, the shortest text that round-trips to the same double. That is often
 *   exponent form (`1e-7`, `1.5e-10`, `1e+21`). For a number a producer wrote with at most 15 significant digits this
 *   text has the same value as the JSON source. A producer that computed in doubles gets its own double back too,
 *   artefacts included: `0.1 + 0.2` arrives as `0.30000000000000004` and reads as that exact value, so at 6
 *   decimals it needs a rounding direction (`too_many_decimals` otherwise).
 *
 * Limitation: `JSON.parse` has already rounded the number to a double before we see it. A JSON number with more than
 * 15–17 significant digits may have lost digits, and we cannot always tell. We detect the common case, a large
 * integer such as a wei amount above 2^53 (`1000000000000000001` parses to `1000000000000000000`), by rejecting
 * every number beyond `Number.MAX_SAFE_INTEGER` in magnitude with `amount_precision_lost`. A long fraction that
 * rounds silently (`0.12345678901234567891`) cannot be detected: such providers must send strings.
 *
 * @param decimals the asset's scale; @param rounding as for `parseUnits` (only used when there is excess precision).
 * @throws PermanentError `invalid_amount` for null, booleans, objects, arrays, `NaN`/`Infinity` and malformed
 *   strings; `amount_precision_lost` for numbers beyond ±(2^53 − 1); everything `parseUnits` throws.
 */
export function parseAmountJson(value: unknown, decimals: number, rounding?: Rounding): bigint {
  if (typeof value === 'string') return parseUnits(value, decimals, rounding);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw moneyError('invalid_amount', 'An amount must be a finite number.', { value: String(value) });
    }
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw moneyError(
        'amount_precision_lost',
        'A JSON number this large may have lost digits when parsed; send the amount as a decimal string.',
        { value: String(value) },
      );
    }
    return parseUnits(String(value), decimals, rounding);
  }
  throw moneyError('invalid_amount', 'An amount must be a decimal string or a JSON number.', {
    type: value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value,
  });
}
