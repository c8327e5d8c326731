import { describe, expect, it } from 'vitest';
import { ASSETS, amountOf, formatAmount, getAsset, isAssetCode, parseAmount, type Amount, type AssetCode } from './assets.js';

const moneyError = (code: string) => expect.objectContaining({ name: 'PermanentError', code });

describe('ASSETS', () => {
  it.each([
    ['ETH', 18, 'ETH', 'ethereum'],
    ['USDT_ERC20', 6, 'USDT', 'ethereum'],
    ['USD', 2, 'USD', undefined],
  ] as const)('counts %s in base units of %i decimals, shown as %s on %s', (code, decimals, symbol, network) => {
    const asset = getAsset(code);
    expect(asset.decimals).toBe(decimals);
    expect(asset.symbol).toBe(symbol);
    expect(asset.network).toBe(network);
  });

  it('gives every asset an integer scale between 0 and 255', () => {
    for (const asset of Object.values(ASSETS)) {
      expect(Number.isSafeInteger(asset.decimals) && asset.decimals >= 0 && asset.decimals <= 255).toBe(true);
    }
  });
});

describe('isAssetCode', () => {
  it.each(Object.keys(ASSETS))('recognises %s', (code) => {
    expect(isAssetCode(code)).toBe(true);
  });

  it.each(['eth', 'USDT', 'BTC', '', 'toString', '__proto__', 'constructor', null, 18])('refuses %j', (code) => {
    expect(isAssetCode(code)).toBe(false);
  });
});

describe('getAsset', () => {
  it.each(['eth', 'USDT', 'BTC', '', 'toString', '__proto__', 'hasOwnProperty'])('refuses the unknown code %j', (code) => {
    expect(() => getAsset(code)).toThrow(moneyError('unknown_asset'));
  });
});

describe('amountOf', () => {
  it('pairs base units with a known asset', () => {
    const amount: Amount = amountOf('USDT_ERC20', 12_500_000n);
    expect(amount).toEqual({ asset: 'USDT_ERC20', units: 12_500_000n });
  });

  it('refuses an unknown asset', () => {
    expect(() => amountOf('USDC', 1n)).toThrow(moneyError('unknown_asset'));
  });
});

describe('parseAmount', () => {
  it.each([
    ['ETH', '0.01', 10n ** 16n],
    ['ETH', '1e-18', 1n],
    ['USDT_ERC20', '12.5', 12_500_000n],
    ['USDT_ERC20', '1e-6', 1n],
    ['USD', '19.99', 1999n],
  ] as const)('reads %s %j as %s base units', (asset, text, units) => {
    expect(parseAmount(asset, text)).toEqual({ asset, units });
  });

  it('refuses more precision than the asset has unless told how to round', () => {
    expect(() => parseAmount('USDT_ERC20', '0.0000001')).toThrow(moneyError('too_many_decimals'));
    expect(parseAmount('USDT_ERC20', '0.0000001', 'ceil')).toEqual({ asset: 'USDT_ERC20', units: 1n });
  });

  it('refuses an unknown asset before reading the text', () => {
    expect(() => parseAmount('BTC', 'garbage')).toThrow(moneyError('unknown_asset'));
  });
});

describe('formatAmount', () => {
  it.each([
    [{ asset: 'ETH', units: 10n ** 16n }, undefined, '0.01'],
    [{ asset: 'ETH', units: 1n }, undefined, '0.000000000000000001'],
    [{ asset: 'USDT_ERC20', units: 12_500_000n }, undefined, '12.5'],
    [{ asset: 'USD', units: 1250n }, { minFractionDigits: 2 }, '12.50'],
    [{ asset: 'USD', units: -5n }, undefined, '-0.05'],
  ] as const)('writes %o as %j', (amount, options, expected) => {
    expect(formatAmount(amount, options)).toBe(expected);
  });

  it('round-trips with parseAmount for every asset', () => {
    for (const asset of Object.keys(ASSETS) as AssetCode[]) {
      const amount = { asset, units: 123_456_789n };
      expect(parseAmount(asset, formatAmount(amount))).toEqual(amount);
    }
  });

  it('refuses an amount whose asset code bypassed the type checker', () => {
    expect(() => formatAmount({ asset: 'BTC' as AssetCode, units: 1n })).toThrow(moneyError('unknown_asset'));
  });
});
