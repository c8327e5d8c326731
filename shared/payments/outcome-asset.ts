import { type AssetCode, getAsset, parseUnits } from '../money/index.js';

/**
 * NowPayments reports the merchant's outcome as a lower-case ticker that names the network for
 * tokens ('usdterc20'). The ledger books assets we hold on a chain we can send from.
 */
const OUTCOME_ASSETS: Record<string, AssetCode> = {
  eth: 'ETH',
  usdterc20: 'USDT_ERC20',
};

export interface OutcomeAmount {
  asset: AssetCode;
  units: bigint;
}

/**
 * The outcome in base units, or undefined when the currency is not one we book (a configuration
 * problem the settlement stage reports). Extra precision rounds down: we never book more than arrived.
 */
export function outcomeAmountOf(currency: string | null, amount: string | null): OutcomeAmount | undefined {
  if (!currency || amount === null) return undefined;
  const asset = OUTCOME_ASSETS[currency.toLowerCase()];
  if (!asset) return undefined;
  return { asset, units: parseUnits(amount, getAsset(asset).decimals, 'floor') };
}
