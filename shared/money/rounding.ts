import { moneyError } from './errors.js';

/**
 * The direction an inexact result is rounded to an integer number of base units.
 *
 * | mode        | rule                                   |  2.5 | -2.5 |  2.4 | -2.4 |  3.5 |
 * |-------------|----------------------------------------|------|------|------|------|------|
 * | `floor`     | toward −∞                              |    2 |   -3 |    2 |   -3 |    3 |
 * | `ceil`      | toward +∞                              |    3 |   -2 |    3 |   -2 |    4 |
 * | `down`      | toward zero (truncate)                 |    2 |   -2 |    2 |   -2 |    3 |
 * | `up`        | away from zero                         |    3 |   -3 |    3 |   -3 |    4 |
 * | `half-up`   | nearest; ties away from zero           |    3 |   -3 |    2 |   -2 |    4 |
 * | `half-even` | nearest; ties to the even neighbour    |    2 |   -2 |    2 |   -2 |    4 |
 *
 * `half-up` follows Java's `HALF_UP` and decimal.js `ROUND_HALF_UP` (symmetric), not JavaScript's `Math.round`
 * (which sends -2.5 to -2).
 */
export type Rounding = 'floor' | 'ceil' | 'down' | 'up' | 'half-up' | 'half-even';

/** Every rounding mode, in the order of the table on {@link Rounding}. */
export const ROUNDINGS: readonly Rounding[] = ['floor', 'ceil', 'down', 'up', 'half-up', 'half-even'];

export function isRounding(value: unknown): value is Rounding {
  return typeof value === 'string' && (ROUNDINGS as readonly string[]).includes(value);
}

/** Throws `invalid_rounding` unless `value` is a {@link Rounding}; guards callers that bypass the type checker. */
export function assertRounding(value: unknown): asserts value is Rounding {
  if (!isRounding(value)) {
    throw moneyError('invalid_rounding', `Rounding must be one of ${ROUNDINGS.join(', ')}.`, { rounding: String(value) });
  }
}

/**
 * `dividend / divisor` as an integer, rounded in the named direction. Exact: no intermediate value is ever
 * approximated.
 *
 * @throws PermanentError `division_by_zero` when `divisor` is 0n; `invalid_rounding` for an unknown mode.
 */
export function divideRounded(dividend: bigint, divisor: bigint, rounding: Rounding): bigint {
  assertRounding(rounding);
  if (divisor === 0n) {
    throw moneyError('division_by_zero', 'Cannot divide an amount by zero.', { dividend: dividend.toString() });
  }
  let n = dividend;
  let d = divisor;
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  // BigInt division truncates toward zero and the remainder takes the sign of the dividend.
  const quotient = n / d;
  const remainder = n % d;
  if (remainder === 0n) return quotient;

  const awayFromZero = n < 0n ? quotient - 1n : quotient + 1n;
  const isNegative = n < 0n;
  switch (rounding) {
    case 'down':
      return quotient;
    case 'up':
      return awayFromZero;
    case 'floor':
      return isNegative ? awayFromZero : quotient;
    case 'ceil':
      return isNegative ? quotient : awayFromZero;
    case 'half-up':
    case 'half-even': {
      const twiceRemainder = (remainder < 0n ? -remainder : remainder) * 2n;
      if (twiceRemainder > d) return awayFromZero;
      if (twiceRemainder < d) return quotient;
      if (rounding === 'half-up') return awayFromZero;
      return quotient % 2n === 0n ? quotient : awayFromZero;
    }
  }
}

/**
 * `value × numerator / denominator`, computed exactly and rounded once in the named direction. The rounding is
 * required on purpose: every division of money names its direction.
 *
 * @throws PermanentError `division_by_zero` when `denominator` is 0n; `invalid_rounding` for an unknown mode.
 */
export function mulDiv(value: bigint, numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  return divideRounded(value * numerator, denominator, rounding);
}
