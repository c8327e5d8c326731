import { moneyError } from './errors.js';

/**
 * Splits `total` base units into shares proportional to `weights` that add up to `total` exactly (largest
 * remainder, also called Hamilton's method). Used to hand out one swap's proceeds to the owners whose balances went
 * into it.
 *
 * Each share first gets `floor(total × weight / Σweights)`. The units left over (fewer than the number of non-zero
 * weights) go one each to the shares with the largest fractional remainders; equal remainders are served in index
 * order, lower index first. The result depends only on the inputs, so callers must pass weights in a stable order
 * (e.g. sorted by row id), never in whatever order a query happened to return. A zero weight always gets 0.
 *
 * Example: 100 split by [1, 1, 1] → [34, 33, 33].
 *
 * @param total base units to hand out, ≥ 0.
 * @param weights non-empty, each ≥ 0, not all zero; any scale (cents, micro-units) as long as all use the same one.
 * @returns one share per weight, in the same order.
 * @throws PermanentError `invalid_amount` for a negative total; `invalid_weights` for an empty list, a negative
 *   weight or all-zero weights.
 */
export function splitByLargestRemainder(total: bigint, weights: readonly bigint[]): bigint[] {
  if (total < 0n) {
    throw moneyError('invalid_amount', 'The total to split must be zero or more.', { total: total.toString() });
  }
  if (weights.length === 0) throw moneyError('invalid_weights', 'Splitting needs at least one weight.');
  let weightSum = 0n;
  for (const [index, weight] of weights.entries()) {
    if (weight < 0n) {
      throw moneyError('invalid_weights', 'Weights must be zero or more.', { index, weight: weight.toString() });
    }
    weightSum += weight;
  }
  if (weightSum === 0n) {
    throw moneyError('invalid_weights', 'At least one weight must be greater than zero.', { count: weights.length });
  }

  const shares = weights.map((weight) => (total * weight) / weightSum);
  const remainders = weights.map((weight) => (total * weight) % weightSum);
  let leftover = total - shares.reduce((sum, share) => sum + share, 0n);

  // Sum of remainders = leftover × weightSum and each remainder < weightSum, so more than `leftover` remainders are
  // non-zero: the leftover never reaches a zero-weight share.
  const order = weights
    .map((_, index) => index)
    .sort((a, b) => {
      const ra = remainders[a] ?? 0n;
      const rb = remainders[b] ?? 0n;
      if (ra !== rb) return ra > rb ? -1 : 1;
      return a - b;
    });
  for (const index of order) {
    if (leftover === 0n) break;
    shares[index] = (shares[index] ?? 0n) + 1n;
    leftover -= 1n;
  }
  return shares;
}
