import { formatUnits, getAsset } from '../money/index.js';
import type { HotWalletPosition } from './hot-wallet-position.js';

/** `1.5 ETH` from base units of an asset in `ASSETS`. */
export function formatAsset(units: bigint, asset: string): string {
  const info = getAsset(asset);
  return `${formatUnits(units, info.decimals)} ${info.symbol}`;
}

const signed = (units: bigint, asset: string) => `${units > 0n ? '+' : ''}${formatUnits(units, getAsset(asset).decimals)}`;

/** The comparison as lines for a terminal (`npm run hot-wallet -- reconcile`): per asset, then what is in flight. */
export function describePosition(position: HotWalletPosition): string[] {
  const lines = [`Hot wallet ${position.address} on chain ${position.chainId}, block ${position.blockNumber}`];
  for (const comparison of position.assets) {
    const { asset } = comparison;
    const symbol = getAsset(asset).symbol;
    const amount = (units: bigint) => `${formatUnits(units, getAsset(asset).decimals)} ${symbol}`;
    lines.push(`  ${asset}`);
    lines.push(`    on chain              ${amount(comparison.chainUnits)}`);
    lines.push(`    ledger hot_wallet     ${amount(comparison.ledgerUnits)}`);
    if (comparison.openingUnits !== 0n) lines.push(`    held before watching  ${signed(comparison.openingUnits, asset)}`);
    if (comparison.transfersInFlightUnits !== 0n) lines.push(`    transfers in flight   ${signed(comparison.transfersInFlightUnits, asset)} (booked as sent, not yet mined; minus mined, not yet booked)`);
    if (comparison.gasNotBookedUnits !== 0n) lines.push(`    gas not booked yet    ${signed(-comparison.gasNotBookedUnits, asset)}`);
    if (comparison.receivedNotBookedUnits !== 0n) lines.push(`    received, not booked  ${signed(comparison.receivedNotBookedUnits, asset)} (payment outcomes in the wallet)`);
    const verdict =
      comparison.verdict === 'matched'
        ? 'matched: every unit booked'
        : comparison.verdict === 'surplus'
          ? `SURPLUS ${amount(comparison.unexplainedUnits)} nobody booked (a float top-up? npm run hot-wallet -- book-capital --asset ${asset} --amount ${formatUnits(comparison.unexplainedUnits, getAsset(asset).decimals)} …)`
          : `DEFICIT ${amount(-comparison.unexplainedUnits)} missing`;
    lines.push(`    unexplained           ${signed(comparison.unexplainedUnits, asset)} → ${verdict}`);
  }
  for (const transfer of position.transfers) {
    const gas = transfer.gasNotBookedWei !== 0n ? `, gas not booked ${formatUnits(transfer.gasNotBookedWei, 18)} ETH` : '';
    lines.push(`  transfer of payout ${transfer.payoutId} ${transfer.txHash}: ${transfer.onChain.replace('_', ' ')}, ${signed(transfer.valueUnits, transfer.asset)} ${getAsset(transfer.asset).symbol} in flight${gas}`);
  }
  for (const payment of position.payments) {
    lines.push(`  payment ${payment.paymentId} (${payment.status}): ${formatUnits(payment.arrivedUnits - payment.bookedUnits, getAsset(payment.asset).decimals)} ${getAsset(payment.asset).symbol} received, not booked`);
  }
  if (!position.isEveryTransactionKnown) lines.push('  WARNING: the chain counts more transactions from this wallet than the gateway signed');
  return lines;
}
