import { ASSETS } from './assets.js';
import type { Rounding } from './rounding.js';
import { formatUnits, parseUnits } from './units.js';

const CENT_DECIMALS = ASSETS.USD.decimals;

/**
 * Reads US dollars as integer cents: `parseUsdCents('12.5')` is `1250n`. Same grammar as `parseUnits` at 2 decimals,
 * so `'12.345'` throws `too_many_decimals` unless a rounding direction is named.
 *
 * @throws PermanentError `invalid_amount`, `too_many_decimals`, `amount_out_of_range`, `invalid_rounding`.
 */
export function parseUsdCents(text: string, rounding?: Rounding): bigint {
  return parseUnits(text, CENT_DECIMALS, rounding);
}

/**
 * Cents as a dollar decimal string with exactly two decimals, the wire form for USD: `1250n` → `'12.50'`,
 * `-5n` → `'-0.05'`, `0n` → `'0.00'`. No symbol, no grouping.
 */
export function formatUsdCents(cents: bigint): string {
  return formatUnits(cents, CENT_DECIMALS, { minFractionDigits: CENT_DECIMALS });
}

/**
 * Cents for people to read: `123456n` → `'$1,234.56'`, `-5n` → `'-$0.05'`. Comma thousands separators, two decimals,
 * independent of the machine's locale. Display only: never parse this back.
 */
export function formatUsd(cents: bigint): string {
  const text = formatUsdCents(cents < 0n ? -cents : cents);
  const [whole = '0', fraction = '00'] = text.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ',');
  return `${cents < 0n ? '-' : ''}$${grouped}.${fraction}`;
}
