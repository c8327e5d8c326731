import { randomBytes } from 'node:crypto';
import { getAddress, hexlify } from 'ethers';
import { BPS_PER_WHOLE, convertByRate, formatUnits, parseUnits } from '../../money/index.js';

/** Decimals the simulator counts each currency in; anything unlisted gets 8 (like most of ChangeNow's coins). */
export const SIMULATOR_DECIMALS: Readonly<Record<string, number>> = { eth: 18, usdt: 6, usdc: 6, btc: 8, trx: 6, sol: 9, ton: 9 };

/** Networks whose addresses are EVM hex addresses. */
export const EVM_NETWORKS = new Set(['eth', 'bsc', 'matic', 'base', 'arbitrum', 'op']);

export function decimalsOf(currency: string): number {
  return SIMULATOR_DECIMALS[currency] ?? 8;
}

/** Rate keys are `from->to` tickers: `'eth->usdt'`. */
export function rateKey(fromCurrency: string, toCurrency: string): string {
  return `${fromCurrency}->${toCurrency}`;
}

/**
 * What `fromAmount` pays out at `rate` (whole `to` per whole `from`) less `spreadBps`, rounded down once at the
 * `to` currency's decimals. Exact decimal arithmetic: the rate after spread is `rate × (10000 − spreadBps) / 10000`,
 * itself exact in decimal, so a single floor happens at the end.
 */
export function quoteToAmount(fromAmount: string, fromCurrency: string, toCurrency: string, rate: string, spreadBps: number): string {
  const fromDecimals = decimalsOf(fromCurrency);
  const toDecimals = decimalsOf(toCurrency);
  const fromUnits = parseUnits(fromAmount, fromDecimals, 'floor');
  const rateUnits = parseUnits(rate, 40);
  const netRate = formatUnits(rateUnits * (BPS_PER_WHOLE - BigInt(spreadBps)), 44);
  return formatUnits(convertByRate(fromUnits, fromDecimals, toDecimals, netRate, 'floor'), toDecimals);
}

/** A fresh, checksummed random EVM address: nobody holds its key, which is fine for a deposit we only watch. */
export function randomEvmAddress(): string {
  return getAddress(hexlify(randomBytes(20)));
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function randomFrom(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join('');
}

/** A deposit address of the right shape for `network`; only EVM ones are real (and watched on the chain). */
export function fakeDepositAddress(network: string): string {
  if (EVM_NETWORKS.has(network)) return randomEvmAddress();
  switch (network) {
    case 'btc':
      return `bc1q${randomFrom(BECH32, 38)}`;
    case 'ltc':
      return `ltc1q${randomFrom(BECH32, 38)}`;
    case 'trx':
      return `T${randomFrom(BASE58, 33)}`;
    case 'sol':
      return randomFrom(BASE58, 44);
    case 'ton':
      return `UQ${randomFrom(`${BASE58}_-`, 46)}`;
    default:
      return randomFrom(BASE58, 34);
  }
}

/** A random 32-byte hash, for payouts on chains the simulator does not run. */
export function fakeTxHash(): string {
  return hexlify(randomBytes(32));
}

/**
 * The simulator's address check: EVM networks need `0x` + 40 hex (EIP-55 checked when mixed case), the rest a
 * plausible base58/bech32 text. Stricter rules live in `shared/wallets/`; this only has to refuse obvious garbage.
 */
export function isPlausibleAddress(address: string, network: string): boolean {
  if (EVM_NETWORKS.has(network)) {
    if (!/^0x[0-9a-fA-F]{40}$/.test(address)) return false;
    const body = address.slice(2);
    if (body === body.toLowerCase() || body === body.toUpperCase()) return true;
    try {
      return getAddress(address) === address;
    } catch {
      return false;
    }
  }
  return /^[A-Za-z0-9:_-]{20,128}$/.test(address);
}
