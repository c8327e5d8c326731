/**
 * The payout (currency, network) pairs we can pay to, mirroring the rows seeded into `payout_options` by
 * `sql/003_create_channels.sql` (a test keeps the two equal). Adding a pair there needs its network here too: a pair
 * this table does not know is refused as `unsupported_payout_option`, never paid on a guess.
 */

/** How a network's addresses are written and checked. */
export type AddressKind = 'evm' | 'bitcoin' | 'litecoin' | 'dogecoin' | 'tron' | 'solana' | 'ton' | 'xrp';

/**
 * The per-payout tag some networks carry beside the address. None is required: a personal wallet has no tag. An
 * exchange deposit address on these networks does need the tag the exchange shows, and the coins are lost without
 * it, which is why the dashboard must ask for it; but only the owner knows which kind of address they gave.
 */
export type ExtraIdRule =
  | { name: 'memo'; format: 'text'; maxLength: number; isRequired: false }
  | { name: 'destination tag'; format: 'uint32'; isRequired: false };

export type PayoutNetworkRule = {
  /** The network code as stored in `payout_options.network`. */
  network: string;
  /** The network as owners know it, used in every reason we give them. */
  name: string;
  addressKind: AddressKind;
  /** One sentence for the dashboard: what an address on this network looks like. */
  addressHint: string;
  /** Currencies paid out on this network (`payout_options.currency`). */
  currencies: readonly string[];
  /** The tag beside the address, or null when the network has none (a tag given anyway is refused). */
  extraId: ExtraIdRule | null;
};

const EVM_HINT = 'Starts with 0x, followed by 40 characters 0-9 and a-f.';

/** Every payout network we validate, by network code. */
export const SUPPORTED_PAYOUT_NETWORKS = {
  ETH: { network: 'ETH', name: 'Ethereum', addressKind: 'evm', addressHint: EVM_HINT, currencies: ['ETH', 'USDT', 'USDC', 'SHIB'], extraId: null },
  BASE: { network: 'BASE', name: 'Base', addressKind: 'evm', addressHint: EVM_HINT, currencies: ['ETH', 'USDC'], extraId: null },
  BSC: { network: 'BSC', name: 'BNB Smart Chain', addressKind: 'evm', addressHint: EVM_HINT, currencies: ['BNB', 'USDT'], extraId: null },
  BTC: {
    network: 'BTC',
    name: 'Bitcoin',
    addressKind: 'bitcoin',
    addressHint: 'Starts with 1, 3, bc1q or bc1p.',
    currencies: ['BTC'],
    extraId: null,
  },
  LTC: {
    network: 'LTC',
    name: 'Litecoin',
    addressKind: 'litecoin',
    addressHint: 'Starts with L, M or ltc1.',
    currencies: ['LTC'],
    extraId: null,
  },
  DOGE: {
    network: 'DOGE',
    name: 'Dogecoin',
    addressKind: 'dogecoin',
    addressHint: 'Starts with D, A or 9.',
    currencies: ['DOGE'],
    extraId: null,
  },
  TRX: {
    network: 'TRX',
    name: 'TRON',
    addressKind: 'tron',
    addressHint: 'Starts with T, 34 characters.',
    currencies: ['TRX', 'USDT'],
    extraId: null,
  },
  SOL: {
    network: 'SOL',
    name: 'Solana',
    addressKind: 'solana',
    addressHint: '32 to 44 letters and digits (your wallet address, not a token account).',
    currencies: ['SOL', 'USDT'],
    extraId: null,
  },
  TON: {
    network: 'TON',
    name: 'TON',
    addressKind: 'ton',
    addressHint: '48 characters starting with UQ or EQ, or 0: followed by 64 characters 0-9 and a-f.',
    currencies: ['TON', 'USDT'],
    extraId: { name: 'memo', format: 'text', maxLength: 120, isRequired: false },
  },
  XRP: {
    network: 'XRP',
    name: 'XRP Ledger',
    addressKind: 'xrp',
    addressHint: 'Starts with r, 25 to 35 characters.',
    currencies: ['XRP'],
    extraId: { name: 'destination tag', format: 'uint32', isRequired: false },
  },
} as const satisfies Record<string, PayoutNetworkRule>;

export type PayoutNetwork = keyof typeof SUPPORTED_PAYOUT_NETWORKS;

export type PayoutOption = { currency: string; network: PayoutNetwork };

/** Every supported (currency, network) pair, in table order. */
export const SUPPORTED_PAYOUT_OPTIONS: readonly PayoutOption[] = Object.values(SUPPORTED_PAYOUT_NETWORKS).flatMap(
  (rule: PayoutNetworkRule) => rule.currencies.map((currency) => ({ currency, network: rule.network as PayoutNetwork })),
);

/** The rule of a network code, or null when we do not pay out on it. Codes are exact (`'ETH'`, not `'eth'`). */
export function findPayoutNetwork(network: string): PayoutNetworkRule | null {
  return Object.hasOwn(SUPPORTED_PAYOUT_NETWORKS, network) ? SUPPORTED_PAYOUT_NETWORKS[network as PayoutNetwork] : null;
}

/** True when `currency` is paid out on `network` (exact codes, as in `payout_options`). */
export function isSupportedPayoutOption(currency: string, network: string): boolean {
  return findPayoutNetwork(network)?.currencies.includes(currency) ?? false;
}
