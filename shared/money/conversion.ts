import { parseDecimalText } from './decimal-text.js';
import { moneyError } from './errors.js';
import { previewText } from './preview-text.js';
import { assertRounding, divideRounded, type Rounding } from './rounding.js';
import { assertDecimals } from './units.js';

/**
 * Moves base units from one scale to another, e.g. USDT micro-units (6) to cents (2). Scaling up is exact;
 * scaling down rounds in the named direction (required even when the result happens to be exact).
 *
 * @throws PermanentError `invalid_decimals`, `invalid_rounding`.
 */
export function rescaleUnits(units: bigint, fromDecimals: number, toDecimals: number, rounding: Rounding): bigint {
  assertDecimals(fromDecimals, 'fromDecimals');
  assertDecimals(toDecimals, 'toDecimals');
  assertRounding(rounding);
  if (toDecimals >= fromDecimals) return units * 10n ** BigInt(toDecimals - fromDecimals);
  return divideRounded(units, 10n ** BigInt(fromDecimals - toDecimals), rounding);
}

/**
 * Converts an amount of one asset into another at a quoted rate, exactly, rounding once at the end.
 *
 * `rate` is a decimal string in whole units of the target per whole unit of the source, as price feeds and
 * exchanges quote it: converting ETH to USD cents at `'3150.25'` means 1 ETH = 3150.25 USD, so
 * `convertByRate(10n ** 18n, 18, 2, '3150.25', 'floor')` is `315025n`. The rate is read as an exact rational
 * (exponent form allowed, `'3.15025e3'`); no float is involved.
 *
 * @throws PermanentError `invalid_rate` (malformed, zero or negative rate), `amount_out_of_range` (rate exponent
 *   beyond ±1000), `invalid_decimals`, `invalid_rounding`.
 */
export function convertByRate(
  units: bigint,
  fromDecimals: number,
  toDecimals: number,
  rate: string,
  rounding: Rounding,
): bigint {
  assertDecimals(fromDecimals, 'fromDecimals');
  assertDecimals(toDecimals, 'toDecimals');
  assertRounding(rounding);
  const { coefficient, exponent } = parseDecimalText(rate, 'invalid_rate');
  if (coefficient <= 0n) {
    throw moneyError('invalid_rate', 'An exchange rate must be greater than zero.', { rate: previewText(rate) });
  }
  // units × (coefficient × 10^exponent) × 10^toDecimals / 10^fromDecimals
  const scale = exponent + BigInt(toDecimals) - BigInt(fromDecimals);
  if (scale >= 0n) return units * coefficient * 10n ** scale;
  return divideRounded(units * coefficient, 10n ** -scale, rounding);
}
