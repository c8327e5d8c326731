import { moneyError } from './errors.js';
import { previewText } from './preview-text.js';
import { mulDiv, type Rounding } from './rounding.js';
import { parseUnits } from './units.js';

/** Basis points per whole: 10 000 bps = 100 %, 300 bps = 3 %, 9 800 bps = 98 %. */
export const BPS_PER_WHOLE = 10_000n;

/** A rate in basis points: an integer from 0 to 10 000, as a bigint or a safe-integer number. */
export type BasisPoints = bigint | number;

/** Throws `invalid_basis_points` unless `bps` is an integer in 0..10 000; returns it as a bigint. */
export function toBasisPoints(bps: BasisPoints): bigint {
  const value = typeof bps === 'bigint' ? bps : Number.isSafeInteger(bps) ? BigInt(bps) : undefined;
  if (value === undefined || value < 0n || value > BPS_PER_WHOLE) {
    throw moneyError('invalid_basis_points', 'Basis points must be an integer from 0 to 10000 (10000 = 100%).', {
      bps: String(bps),
    });
  }
  return value;
}

/**
 * `bps / 10 000` of an amount, in the same base units, rounded in the named direction. Negative amounts follow the
 * rounding table (`floor` of -0.5 is -1).
 *
 * @throws PermanentError `invalid_basis_points`, `invalid_rounding`.
 */
export function bpsOf(amount: bigint, bps: BasisPoints, rounding: Rounding): bigint {
  return mulDiv(amount, toBasisPoints(bps), BPS_PER_WHOLE, rounding);
}

/** A gross amount split into the platform's fee and the owner's net; `fee + net === gross` always. */
export type FeeSplit = { fee: bigint; net: bigint };

/**
 * Splits a gross amount into platform fee and owner net at `feeBps`.
 *
 * Rule: the fee rounds DOWN (`floor`) to a whole base unit, and the net is `gross − fee`. The owner is therefore
 * never charged more than the stated rate, the fee is never above `gross × feeBps / 10 000`, and the two parts add up
 * to the gross exactly, so the ledger always balances. Example: 333 cents at 300 bps → fee 9 (9.99 floored),
 * net 324. Use this one function for every platform-fee computation so the rule cannot drift.
 *
 * @param gross base units received, ≥ 0. A refund or correction negates an earlier split; it is never re-split.
 * @throws PermanentError `invalid_amount` for a negative gross; `invalid_basis_points`.
 */
export function splitFee(gross: bigint, feeBps: BasisPoints): FeeSplit {
  if (gross < 0n) {
    throw moneyError('invalid_amount', 'A fee is split from a gross amount of zero or more.', { gross: gross.toString() });
  }
  const fee = bpsOf(gross, feeBps, 'floor');
  return { fee, net: gross - fee };
}

function assertDenominator(denominator: bigint, name: string): void {
  if (denominator === 0n) throw moneyError('division_by_zero', `${name} must not be zero.`, { [name]: '0' });
  if (denominator < 0n) {
    throw moneyError('invalid_amount', `${name} must be positive.`, { [name]: denominator.toString() });
  }
}

/**
 * Compares two fractions exactly, by cross-multiplying (no division, no rounding).
 *
 * @returns -1 when `a/b < c/d`, 0 when equal, 1 when greater.
 * @throws PermanentError `division_by_zero` for a zero denominator; `invalid_amount` for a negative one.
 */
export function compareRatio(a: bigint, b: bigint, c: bigint, d: bigint): -1 | 0 | 1 {
  assertDenominator(b, 'denominator');
  assertDenominator(d, 'denominator');
  const left = a * d;
  const right = c * b;
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * True when `numerator / denominator ≥ thresholdBps / 10 000`, decided exactly. Built for the underpayment check
 * `actuallyPaid / payAmount ≥ 0.98` in the paid asset's base units: exactly 98 % passes, one unit less fails.
 *
 * @param denominator must be positive (a zero `payAmount` is a `division_by_zero` error, never a pass).
 * @throws PermanentError `division_by_zero`, `invalid_amount` (negative denominator), `invalid_basis_points`.
 */
export function isAtLeastFraction(numerator: bigint, denominator: bigint, thresholdBps: BasisPoints): boolean {
  return compareRatio(numerator, denominator, toBasisPoints(thresholdBps), BPS_PER_WHOLE) >= 0;
}

/**
 * Reads a fraction of one as basis points, exactly: `'0.98'` → `9800n`, `'1'` → `10000n`, `'0.0003'` → `3n`.
 * For configuration such as an underpayment tolerance or a fee rate written as a decimal.
 *
 * @throws PermanentError `too_many_decimals` for anything finer than 0.0001 (`'0.98765'`); `invalid_basis_points`
 *   outside 0..1; `invalid_amount` for malformed text.
 */
export function fractionToBps(text: string): bigint {
  const bps = parseUnits(text, 4);
  if (bps < 0n || bps > BPS_PER_WHOLE) {
    throw moneyError('invalid_basis_points', 'A fraction must lie between 0 and 1 (e.g. "0.98").', {
      text: previewText(text),
    });
  }
  return bps;
}
