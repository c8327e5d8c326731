import { describe, expect, it } from 'vitest';
import * as money from './index.js';
import {
  amountOf,
  convertByRate,
  formatAmount,
  formatUsd,
  fractionToBps,
  isAtLeastFraction,
  parseAmountJson,
  parseUsdCents,
  splitByLargestRemainder,
  splitFee,
} from './index.js';

describe('shared/money', () => {
  it('exposes exactly the chosen runtime exports through its one door', () => {
    expect(Object.keys(money).sort()).toEqual(
      [
        'ASSETS',
        'BPS_PER_WHOLE',
        'MAX_UINT256',
        'ROUNDINGS',
        'amountOf',
        'assertPositive',
        'bpsOf',
        'compareRatio',
        'convertByRate',
        'formatAmount',
        'formatUnits',
        'formatUsd',
        'formatUsdCents',
        'fractionToBps',
        'getAsset',
        'isAssetCode',
        'isAtLeastFraction',
        'isRounding',
        'mulDiv',
        'parseAmount',
        'parseAmountJson',
        'parseUnits',
        'parseUsdCents',
        'rescaleUnits',
        'splitByLargestRemainder',
        'splitFee',
      ].sort(),
    );
  });

  it('settles a slightly underpaid ETH invoice within a 0.98 tolerance and books fee and net that sum to the gross', () => {
    const ipn: unknown = JSON.parse('{"pay_amount": 0.0403124, "actually_paid": 0.03951, "price_amount": 99.99}');
    const { pay_amount: payAmount, actually_paid: actuallyPaid } = ipn as Record<string, unknown>;
    const due = parseAmountJson(payAmount, 18);
    const paid = parseAmountJson(actuallyPaid, 18);
    expect(isAtLeastFraction(paid, due, fractionToBps('0.98'))).toBe(true);

    const { fee, net } = splitFee(paid, 300);
    expect(fee + net).toBe(paid);
    expect(formatAmount(amountOf('ETH', fee))).toBe('0.0011853');
    expect(formatAmount(amountOf('ETH', net))).toBe('0.0383247');

    const netCents = convertByRate(net, 18, 2, '3150.25', 'floor');
    expect(formatUsd(netCents)).toBe('$120.73');
    expect(parseUsdCents('99.99')).toBe(9999n);
  });

  it('hands a batch swap back to owners in shares that sum to what the swap returned', () => {
    const netCentsPerOwner = [1000n, 1500n, 2500n];
    const usdtReceived = 48_503_333n;
    const shares = splitByLargestRemainder(usdtReceived, netCentsPerOwner);
    expect(shares).toEqual([9_700_667n, 14_551_000n, 24_251_666n]);
    expect(shares.reduce((a, b) => a + b, 0n)).toBe(usdtReceived);
  });
});
