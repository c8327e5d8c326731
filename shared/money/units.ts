import { parseDecimalText } from './decimal-text.js';
import { moneyError } from './errors.js';
import { previewText } from './preview-text.js';
import { assertRounding, divideRounded, type Rounding } from './rounding.js';

/**
 * The largest magnitude {@link parseUnits} accepts: 2^256 − 1, the largest on-chain token amount and the limit of a
 * Postgres `numeric(78,0)` column. Anything larger read from outside is a bug or an attack.
 */
export const MAX_UINT256 = 2n ** 256n - 1n;

/** Largest scale we work with. ERC-20 `decimals()` is a uint8. */
const MAX_DECIMALS = 255;

/** Throws `invalid_decimals` unless `decimals` is an integer in 0..255. */
export function assertDecimals(decimals: number, name = 'decimals'): void {
  if (!Number.isSafeInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    throw moneyError('invalid_decimals', `${name} must be an integer between 0 and ${MAX_DECIMALS}.`, {
      [name]: String(decimals),
    });
  }
}

/**
 * Reads a decimal string as an integer number of base units: `parseUnits('1.5', 6)` is `1_500_000n`.
 *
 * Accepts an optional `+`/`-` sign, `1`, `1.`, `.5`, leading zeros and exponent notation (`1e-7`, `1.5E+3`,
 * `2.5e18`) with an exponent of at most ±1000. Rejects whitespace, grouping (`1,5`), hex, `NaN`, `Infinity` and
 * anything else. Precision is judged by value: trailing zeros never make an amount too precise
 * (`'1.50000000'` is fine at 6 decimals).
 *
 * @param decimals the asset's scale (ETH 18, USDT 6, USD cents 2); see `ASSETS`.
 * @param rounding only when the value has more precision than `decimals`: without it that is an error, with it the
 *   value is rounded in that direction. No default on purpose.
 * @returns base units, at most {@link MAX_UINT256} in magnitude; negative values are allowed (check the sign at the
 *   call site, e.g. with `assertPositive`).
 * @throws PermanentError `invalid_amount` (malformed text), `too_many_decimals` (more precision than `decimals`
 *   and no rounding), `amount_out_of_range` (exponent beyond ±1000 or result beyond uint256), `invalid_decimals`,
 *   `invalid_rounding`.
 */
export function parseUnits(text: string, decimals: number, rounding?: Rounding): bigint {
  assertDecimals(decimals);
  if (rounding !== undefined) assertRounding(rounding);
  const { coefficient, exponent } = parseDecimalText(text);

  const scale = exponent + BigInt(decimals);
  let units: bigint;
  if (scale >= 0n) {
    units = coefficient * 10n ** scale;
  } else {
    const divisor = 10n ** -scale;
    if (coefficient % divisor === 0n) {
      units = coefficient / divisor;
    } else if (rounding === undefined) {
      throw moneyError(
        'too_many_decimals',
        `The amount has more than ${decimals} decimal places; send it with at most ${decimals}.`,
        { text: previewText(text), decimals },
      );
    } else {
      units = divideRounded(coefficient, divisor, rounding);
    }
  }

  if (units > MAX_UINT256 || units < -MAX_UINT256) {
    throw moneyError('amount_out_of_range', 'The amount is larger than any real balance (2^256 − 1 base units).', {
      text: previewText(text),
      decimals,
    });
  }
  return units;
}

/** Options for {@link formatUnits}. */
export type FormatUnitsOptions = {
  /** Fraction digits always written, padding with zeros (`2` turns `'12.5'` into `'12.50'`). Default 0. */
  minFractionDigits?: number;
};

/**
 * Writes base units as an exact decimal string: `formatUnits(1_500_000n, 6)` is `'1.5'`. Never rounds, never uses
 * exponent notation, drops trailing fraction zeros down to `minFractionDigits`, writes `-` for negatives and no
 * `+`. The result always reads back to the same units with {@link parseUnits} at the same `decimals`.
 *
 * @throws PermanentError `invalid_decimals` when `decimals` or `minFractionDigits` is not an integer in 0..255.
 */
export function formatUnits(units: bigint, decimals: number, options: FormatUnitsOptions = {}): string {
  assertDecimals(decimals);
  const minFractionDigits = options.minFractionDigits ?? 0;
  assertDecimals(minFractionDigits, 'minFractionDigits');

  const magnitude = units < 0n ? -units : units;
  const base = 10n ** BigInt(decimals);
  const whole = (magnitude / base).toString();
  let fraction = decimals === 0 ? '' : (magnitude % base).toString().padStart(decimals, '0');
  fraction = fraction.replace(/0+$/, '');
  if (fraction.length < minFractionDigits) fraction = fraction.padEnd(minFractionDigits, '0');

  return `${units < 0n ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

/**
 * Throws unless `units` is greater than zero. Use it where a zero or negative amount would be a bug or an abuse:
 * invoice prices, payouts, transfers.
 *
 * @param field named in the error context, e.g. `'payAmount'`.
 * @throws PermanentError `amount_not_positive`.
 */
export function assertPositive(units: bigint, field = 'amount'): void {
  if (units <= 0n) {
    throw moneyError('amount_not_positive', `${field} must be greater than zero.`, { field, units: units.toString() });
  }
}
