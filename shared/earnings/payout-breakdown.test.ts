import { describe, expect, it } from 'vitest';
import { parseUnits } from '../money/index.js';
import { type PayoutFacts, payoutBreakdown } from './payout-breakdown.js';

const base: PayoutFacts = {
  kind: 'instant',
  state: 'completed',
  asset: 'USDT_ERC20',
  amountUnits: 9_700_000n,
  processorFeeUnits: 50_000n,
  platformFeeUnits: 300_000n,
  hasSwap: true,
  isDirect: false,
  estimatedToAmount: '9.6',
  receivedToAmount: '9.55',
  transferFeeUnits: 1_000_000_000_000n,
};

const u = (text: string | null) => parseUnits(text ?? 'NaN', 6);

describe('payoutBreakdown', () => {
  it.each<[string, Partial<PayoutFacts>]>([
    ['an instant payout with a swap that delivered less than estimated', {}],
    ['a swap that delivered more than estimated (negative spread)', { receivedToAmount: '9.7' }],
    ['a swap amount with many decimals', { estimatedToAmount: '9.612345678901234567', receivedToAmount: '9.0000001' }],
    ['no processor fee reported', { processorFeeUnits: null }],
    ['a direct payout without a swap', { hasSwap: false, isDirect: true, estimatedToAmount: null, receivedToAmount: null }],
    ['a threshold payout', { kind: 'threshold', platformFeeUnits: null, processorFeeUnits: null }],
  ])('sums for %s: gross − fees − spread − network fee = net, and gross − fees = sent', (_, overrides) => {
    const b = payoutBreakdown({ ...base, ...overrides });
    expect(u(b.gross) - u(b.processorFee) - u(b.platformFee) - u(b.swapSpread) - u(b.networkFee)).toBe(u(b.net));
    expect(u(b.gross) - u(b.processorFee) - u(b.platformFee)).toBe(u(b.sent));
  });

  it('values the spread at the estimate’s rate, rounded against the platform', () => {
    // 9.7 × 9.55 / 9.6 = 9.649479166… → delivered 9.649479, spread 0.050521
    expect(payoutBreakdown(base)).toMatchObject({ gross: '10.05', sent: '9.7', swapSpread: '0.050521', net: '9.649479', networkFee: '0', platformPaidNetworkFee: { asset: 'ETH', amount: '0.000001' } });
  });

  it('leaves spread and net unknown until the exchange finished, and net unknown unless completed', () => {
    expect(payoutBreakdown({ ...base, state: 'awaiting_swap', receivedToAmount: null })).toMatchObject({ swapSpread: null, net: null });
    expect(payoutBreakdown({ ...base, state: 'failed' })).toMatchObject({ net: null });
    expect(payoutBreakdown({ ...base, state: 'requested', hasSwap: false, estimatedToAmount: null, receivedToAmount: null })).toMatchObject({ swapSpread: null, net: null });
    expect(payoutBreakdown({ ...base, kind: 'threshold' })).toMatchObject({ basis: 'balance', gross: '9.7', platformFee: '0', processorFee: '0' });
  });
});
