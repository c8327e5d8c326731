import { describe, expect, it } from 'vitest';
import { TransientError } from '../errors/index.js';
import { ASSETS } from '../money/index.js';
import { buildTransfer, chooseFees, withGasMargin } from './transfer-request.js';

const RECIPIENT = '0x1111111111111111111111111111111111111111';
const TOKEN = '0xdAC17F958D2ee523a2206206994597C13D831ec7';

describe('buildTransfer', () => {
  it('builds a plain value transfer for ETH with empty calldata', () => {
    expect(buildTransfer({ asset: 'ETH', to: RECIPIENT, amountUnits: 1_500_000_000_000_000_000n })).toEqual({
      to: RECIPIENT,
      value: 1_500_000_000_000_000_000n,
      data: '0x',
      recipient: RECIPIENT,
      tokenContract: null,
    });
  });

  it('builds ERC-20 transfer(to, amount) calldata to the token contract with zero value (golden)', () => {
    const call = buildTransfer({ asset: 'USDT_ERC20', to: RECIPIENT, amountUnits: 12_500_000n, tokenAddress: TOKEN });
    expect(call.to).toBe(TOKEN.toLowerCase());
    expect(call.value).toBe(0n);
    expect(call.recipient).toBe(RECIPIENT);
    expect(call.tokenContract).toBe(TOKEN.toLowerCase());
    expect(call.data).toBe(
      '0xa9059cbb' +
        '0000000000000000000000001111111111111111111111111111111111111111' +
        '0000000000000000000000000000000000000000000000000000000000bebc20',
    );
  });

  it('counts USDT_ERC20 in 6 decimals: 12.5 USDT is 12 500 000 units', () => {
    expect(ASSETS.USDT_ERC20.decimals).toBe(6);
  });

  it.each([
    ['a token contract for ETH', { asset: 'ETH' as const, to: RECIPIENT, amountUnits: 1n, tokenAddress: TOKEN }, 'invalid_transfer'],
    ['USDT without a token contract', { asset: 'USDT_ERC20' as const, to: RECIPIENT, amountUnits: 1n }, 'invalid_transfer'],
    ['a zero amount', { asset: 'ETH' as const, to: RECIPIENT, amountUnits: 0n }, 'invalid_transfer'],
    ['a negative amount', { asset: 'ETH' as const, to: RECIPIENT, amountUnits: -1n }, 'invalid_transfer'],
    ['a malformed address', { asset: 'ETH' as const, to: '0x1234', amountUnits: 1n }, 'invalid_evm_address'],
    ['a bad checksum', { asset: 'ETH' as const, to: '0xDAC17F958D2ee523a2206206994597C13D831ec7', amountUnits: 1n }, 'invalid_evm_address'],
  ])('refuses %s', (_name, input, code) => {
    expect(() => buildTransfer(input)).toThrow(expect.objectContaining({ code, isRetryable: false }));
  });
});

describe('chooseFees', () => {
  const gwei = 1_000_000_000n;
  it.each([
    ['far under the cap: 2 × base + tip', 10n * gwei, 2n * gwei, 100n * gwei, 22n * gwei, 2n * gwei],
    ['2 × base + tip over the cap: clamped to the cap', 30n * gwei, 2n * gwei, 40n * gwei, 40n * gwei, 2n * gwei],
    ['base + tip exactly at the cap', 38n * gwei, 2n * gwei, 40n * gwei, 40n * gwei, 2n * gwei],
  ])('%s', (_name, baseFeePerGas, maxPriorityFeePerGas, cap, maxFee, tip) => {
    expect(chooseFees({ baseFeePerGas, maxPriorityFeePerGas }, cap)).toEqual({ maxFeePerGas: maxFee, maxPriorityFeePerGas: tip });
  });

  it('defers with gas_price_above_cap when base fee + tip exceed the cap', () => {
    const attempt = () => chooseFees({ baseFeePerGas: 39n * gwei, maxPriorityFeePerGas: 2n * gwei }, 40n * gwei);
    expect(attempt).toThrow(TransientError);
    expect(attempt).toThrow(expect.objectContaining({ code: 'gas_price_above_cap', isRetryable: true }));
  });
});

describe('withGasMargin', () => {
  it('adds the margin and rounds up', () => {
    expect(withGasMargin(21_000n, 2_000)).toBe(25_200n);
    expect(withGasMargin(33_333n, 1)).toBe(33_337n);
    expect(withGasMargin(50_000n, 0)).toBe(50_000n);
  });
});
