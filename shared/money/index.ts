export { type AssetCode, type AssetInfo, type Amount, ASSETS, isAssetCode, getAsset, amountOf, parseAmount, formatAmount } from './assets.js';
export { type FormatUnitsOptions, MAX_UINT256, parseUnits, formatUnits, assertPositive } from './units.js';
export { parseAmountJson } from './json-amount.js';
export { parseUsdCents, formatUsdCents, formatUsd } from './usd.js';
export { type Rounding, ROUNDINGS, isRounding, mulDiv } from './rounding.js';
export {
  type BasisPoints,
  type FeeSplit,
  BPS_PER_WHOLE,
  bpsOf,
  splitFee,
  compareRatio,
  isAtLeastFraction,
  fractionToBps,
} from './basis-points.js';
export { rescaleUnits, convertByRate } from './conversion.js';
export { splitByLargestRemainder } from './split.js';
export { type MoneyErrorCode } from './errors.js';
