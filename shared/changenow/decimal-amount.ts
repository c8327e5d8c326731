import { formatUnits, parseUnits } from '../money/index.js';
import { changeNowError } from './errors.js';

/**
 * Fraction digits a ChangeNow amount may carry. Far beyond any coin's scale (ETH has 18), so no real amount is
 * refused, while a runaway text is.
 */
export const AMOUNT_SCALE = 36;

/**
 * The canonical text of a non-negative decimal amount: plain digits, no exponent, no trailing fraction zeros, no
 * sign (`'1e-7'` → `'0.0000001'`, `'3000.50'` → `'3000.5'`, `'0'` → `'0'`). Exact: no float is involved, so two
 * texts of the same value are equal as strings.
 *
 * @throws PermanentError `invalid_amount` (not a decimal, or negative), `too_many_decimals` (beyond
 *   {@link AMOUNT_SCALE} fraction digits).
 */
export function canonicalAmount(text: string): string {
  const units = parseUnits(text, AMOUNT_SCALE);
  if (units < 0n) {
    throw changeNowError('invalid_amount', 'A ChangeNow amount cannot be negative.', { length: text.length });
  }
  return formatUnits(units, AMOUNT_SCALE);
}

/** True when `text` is a decimal amount {@link canonicalAmount} accepts. */
export function isAmountText(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  try {
    canonicalAmount(text);
    return true;
  } catch {
    return false;
  }
}

/** A double carries 53 significant bits: one read from JSON is off by less than 2^-52 of its value. */
const DOUBLE_RELATIVE_ERROR = 2n ** 52n;
/** Fewest decimals an amount cut short may keep and still stand for ours (a satoshi, BTC's 8 decimals). */
export const MIN_ECHOED_DECIMALS = 8;

/**
 * Whether `echoed`, an amount ChangeNow wrote back, is the amount we `sent`. Exact: both are parsed as decimals,
 * never as floats. ChangeNow's API v2 writes amounts as JSON numbers and does not state their precision, so two
 * normalisations count as the same amount:
 *
 * - read as a double: off by at most 2^-52 of the amount (`0.123456789012345678` → `0.12345678901234568`);
 * - cut or rounded to the answer's own decimals, when it keeps at least {@link MIN_ECHOED_DECIMALS}: off by less
 *   than one unit in its last place (`0.12345678` or `0.12345679`).
 *
 * Anything else (another amount, an amount misread as base units, 4 decimals standing for 18) is not ours.
 * Trailing zeros and exponent form are equal anyway. Only a sanity check: we always fund our exact amount.
 */
export function isEchoedAmount(echoed: string, sent: string): boolean {
  const echoedUnits = parseUnits(echoed, AMOUNT_SCALE);
  const sentUnits = parseUnits(sent, AMOUNT_SCALE);
  const difference = echoedUnits > sentUnits ? echoedUnits - sentUnits : sentUnits - echoedUnits;
  if (difference * DOUBLE_RELATIVE_ERROR <= sentUnits) return true;
  const decimals = canonicalAmount(echoed).split('.')[1]?.length ?? 0;
  return decimals >= MIN_ECHOED_DECIMALS && difference < 10n ** BigInt(AMOUNT_SCALE - decimals);
}
