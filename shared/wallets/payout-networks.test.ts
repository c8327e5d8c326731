import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findPayoutNetwork, isSupportedPayoutOption, SUPPORTED_PAYOUT_NETWORKS, SUPPORTED_PAYOUT_OPTIONS } from './payout-networks.js';

/** The (currency, network, extra_id_name) rows seeded into payout_options. */
function seededPayoutOptions(): Array<{ currency: string; network: string; extraIdName: string | null }> {
  const sql = readFileSync(new URL('../../sql/003_create_channels.sql', import.meta.url), 'utf8');
  const insert = /INSERT INTO payout_options[^;]*;/.exec(sql)?.[0] ?? '';
  const rows = [...insert.matchAll(/\(\s*'([A-Z0-9]+)',\s*'([A-Z0-9]+)',\s*'[^']*',\s*'[^']*',\s*(NULL|'[^']*')\s*\)/g)];
  return rows.map(([, currency = '', network = '', extraId = 'NULL']) => ({
    currency,
    network,
    extraIdName: extraId === 'NULL' ? null : extraId.slice(1, -1),
  }));
}

describe('SUPPORTED_PAYOUT_OPTIONS', () => {
  it('lists exactly the pairs seeded into payout_options by sql/003', () => {
    const seeded = seededPayoutOptions();
    expect(seeded).toHaveLength(18);
    const key = ({ currency, network }: { currency: string; network: string }) => `${currency}/${network}`;
    expect(SUPPORTED_PAYOUT_OPTIONS.map(key).sort()).toEqual(seeded.map(key).sort());
  });

  it('names the same memo or tag as payout_options.extra_id_name', () => {
    for (const row of seededPayoutOptions()) {
      expect(findPayoutNetwork(row.network)?.extraId?.name ?? null, `${row.currency}/${row.network}`).toBe(row.extraIdName);
    }
  });
});

describe('SUPPORTED_PAYOUT_NETWORKS', () => {
  it('keys every rule by its own network code', () => {
    for (const [code, rule] of Object.entries(SUPPORTED_PAYOUT_NETWORKS)) expect(rule.network).toBe(code);
  });

  it('requires no memo or tag anywhere: personal wallets have none', () => {
    const withExtraId = Object.values(SUPPORTED_PAYOUT_NETWORKS).flatMap((rule) => (rule.extraId === null ? [] : [[rule.network, rule.extraId.isRequired]]));
    expect(withExtraId).toEqual([
      ['TON', false],
      ['XRP', false],
    ]);
  });
});

describe('findPayoutNetwork', () => {
  it('finds a network by its exact code', () => {
    expect(findPayoutNetwork('TRX')?.name).toBe('TRON');
  });

  it.each(['eth', 'Eth', 'POLYGON', 'MATIC', 'ARBITRUM', 'BCH', 'XLM', '', 'toString', '__proto__', 'constructor'])('knows no network %j', (network) => {
    expect(findPayoutNetwork(network)).toBeNull();
  });
});

describe('isSupportedPayoutOption', () => {
  it.each([
    ['USDT', 'TRX', true],
    ['USDT', 'ETH', true],
    ['USDC', 'BASE', true],
    ['USDT', 'BASE', false],
    ['BTC', 'ETH', false],
    ['ETH', 'BSC', false],
    ['usdt', 'TRX', false],
    ['SHIB', 'BSC', false],
  ])('says %s on %s is %s', (currency, network, expected) => {
    expect(isSupportedPayoutOption(currency, network)).toBe(expected);
  });
});
