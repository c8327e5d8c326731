import { moneyError } from './errors.js';
import { previewText } from './preview-text.js';
import type { Rounding } from './rounding.js';
import { formatUnits, parseUnits, type FormatUnitsOptions } from './units.js';

/** What we need to know about an asset to count it. */
export type AssetInfo = {
  /** Ticker shown to people. Not unique: the same token on two networks shares a symbol. */
  readonly symbol: string;
  /** Base units per whole unit, as a power of ten: 18 means 1 ETH = 10^18 wei. */
  readonly decimals: number;
  /** Chain the asset lives on; absent for fiat. */
  readonly network?: string;
};

/**
 * Every asset the gateway counts, by code. The code names the asset *and* its network (`USDT_ERC20`), because the
 * same ticker on another chain has other decimals and other addresses. USD is counted in cents.
 */
export const ASSETS = {
  ETH: { symbol: 'ETH', decimals: 18, network: 'ethereum' },
  USDT_ERC20: { symbol: 'USDT', decimals: 6, network: 'ethereum' },
  USD: { symbol: 'USD', decimals: 2 },
} as const satisfies Record<string, AssetInfo>;

export type AssetCode = keyof typeof ASSETS;

/** An amount of money: whole base units (wei, USDT micro-units, cents) of one asset. Never a float. */
export type Amount = { readonly asset: AssetCode; readonly units: bigint };

export function isAssetCode(value: unknown): value is AssetCode {
  return typeof value === 'string' && Object.hasOwn(ASSETS, value);
}

/**
 * The table row for an asset code read from outside (a DB column, a provider field).
 *
 * @throws PermanentError `unknown_asset` when the code is not in {@link ASSETS} (codes are case-sensitive).
 */
export function getAsset(code: string): AssetInfo {
  if (!isAssetCode(code)) {
    throw moneyError('unknown_asset', `Unknown asset code; expected one of ${Object.keys(ASSETS).join(', ')}.`, {
      asset: previewText(String(code)),
    });
  }
  return ASSETS[code];
}

/**
 * Pairs base units with their asset, checking the code: `amountOf('USDT_ERC20', 12_500_000n)` is 12.5 USDT.
 *
 * @throws PermanentError `unknown_asset`.
 */
export function amountOf(asset: string, units: bigint): Amount {
  getAsset(asset);
  return { asset: asset as AssetCode, units };
}

/**
 * Reads a decimal string in the asset's whole units: `parseAmount('ETH', '0.01')` is 10^16 wei.
 * Same grammar, rounding and errors as `parseUnits` at the asset's decimals, plus `unknown_asset`.
 */
export function parseAmount(asset: string, text: string, rounding?: Rounding): Amount {
  const { decimals } = getAsset(asset);
  return { asset: asset as AssetCode, units: parseUnits(text, decimals, rounding) };
}

/**
 * The wire form of an amount: an exact decimal string in whole units without symbol (`'0.01'` for 10^16 wei),
 * as `formatUnits` at the asset's decimals. Throws `unknown_asset` for an unchecked code.
 */
export function formatAmount(amount: Amount, options?: FormatUnitsOptions): string {
  return formatUnits(amount.units, getAsset(amount.asset).decimals, options);
}
