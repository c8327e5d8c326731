import { PermanentError } from '../errors/index.js';
import { formatUnits, parseUnits } from '../money/index.js';

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
    throw new PermanentError('invalid_amount', 'A ChangeNow amount cannot be negative.', { length: text.length });
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
