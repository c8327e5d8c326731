import type { AddressCheck } from './address-check.js';
import { parseEvmAddress } from './evm-address.js';
import { findPayoutNetwork, SUPPORTED_PAYOUT_NETWORKS, type AddressKind, type ExtraIdRule, type PayoutNetworkRule } from './payout-networks.js';
import { parseSolanaAddress } from './solana-address.js';
import { parseTonAddress } from './ton-address.js';
import { parseTronAddress } from './tron-address.js';
import { BITCOIN, DOGECOIN, LITECOIN, parseUtxoAddress } from './utxo-address.js';
import { parseXrpAddress } from './xrp-address.js';
import { walletError } from './errors.js';

/** Every code `assertPayoutAddress` throws, each a `PermanentError` (the same input always fails the same way). */
// Masking lives with the rest of field protection (shared/field-crypto); re-exported here for callers.
import { maskAddress } from '../field-crypto/masking.js';

export { maskAddress };

export type WalletErrorCode = 'unsupported_payout_option' | 'invalid_wallet_address' | 'invalid_payout_extra_id';

export type PayoutDestination = {
  /** Currency code as in `payout_options.currency` (`'USDT'`), exact case. */
  currency: string;
  /** Network code as in `payout_options.network` (`'TRX'`), exact case. */
  network: string;
  /** The address exactly as the owner entered it: nothing is trimmed or repaired. */
  address: string;
  /** Memo or destination tag, for networks that have one. Null, undefined and '' all mean "none". */
  extraId?: string | null;
};

/**
 * The verdict on a payout destination. When valid, `address` is the normalized form to store and pay to (EIP-55 for
 * EVM, lowercase for bech32 and raw TON, otherwise as entered) and `extraId` the tag or null. When invalid, `reason`
 * is a sentence the owner can act on; it never repeats the address.
 */
export type WalletCheck =
  | { isValid: true; address: string; extraId: string | null }
  | { isValid: false; code: WalletErrorCode; reason: string };

/** Longer than any address we accept, and the `payout_wallet` column's limit. */
const MAX_ADDRESS_LENGTH = 128;

const PARSERS: Record<AddressKind, (address: string, rule: PayoutNetworkRule) => AddressCheck> = {
  evm: (address, rule) => parseEvmAddress(address, rule.name),
  bitcoin: (address) => parseUtxoAddress(address, BITCOIN),
  litecoin: (address) => parseUtxoAddress(address, LITECOIN),
  dogecoin: (address) => parseUtxoAddress(address, DOGECOIN),
  tron: (address) => parseTronAddress(address),
  solana: (address) => parseSolanaAddress(address),
  ton: (address) => parseTonAddress(address),
  xrp: (address) => parseXrpAddress(address),
};

/** How to name another network's address when an owner pastes it for the wrong network. Checksummed kinds first. */
const OTHER_KINDS: ReadonlyArray<{ kind: AddressKind; description: string }> = [
  { kind: 'evm', description: 'an EVM address (Ethereum, Base, BNB Smart Chain)' },
  { kind: 'bitcoin', description: 'a Bitcoin address' },
  { kind: 'litecoin', description: 'a Litecoin address' },
  { kind: 'dogecoin', description: 'a Dogecoin address' },
  { kind: 'tron', description: 'a TRON address' },
  { kind: 'xrp', description: 'an XRP Ledger address' },
  { kind: 'ton', description: 'a TON address' },
  // Last: with no checksum, any base58 text of the right length passes for one.
  { kind: 'solana', description: 'a Solana address' },
];

/**
 * Checks that `address` (and `extraId`) can receive `currency` on `network`: the pair is one we pay out, and the
 * address passes that network's format and checksum rules for its main network. Never throws.
 */
export function validatePayoutAddress(input: PayoutDestination): WalletCheck {
  const { currency, network, address } = input;
  const rule = findPayoutNetwork(network);
  if (rule === null || !rule.currencies.includes(currency)) {
    return { isValid: false, code: 'unsupported_payout_option', reason: describeUnsupported(currency, network, rule) };
  }
  if (typeof address !== 'string') return invalidAddress('Enter a payout address.');
  const textProblem = findTextProblem(address);
  if (textProblem !== null) return invalidAddress(textProblem);

  const check = PARSERS[rule.addressKind](address, rule);
  if (!check.isValid) return invalidAddress(check.isForeign ? (describeOtherNetwork(address, rule) ?? check.reason) : check.reason);

  const extraId = parseExtraId(input.extraId, rule);
  if (!extraId.isValid) return { isValid: false, code: 'invalid_payout_extra_id', reason: extraId.reason };
  return { isValid: true, address: check.address, extraId: extraId.value };
}

/**
 * Like `validatePayoutAddress`, but returns the normalized address or throws a `PermanentError` with code
 * `unsupported_payout_option`, `invalid_wallet_address` or `invalid_payout_extra_id`, the owner-facing reason as its
 * message, and a context of `{ currency, network, address }` where the address is masked (first 6 and last 4
 * characters) so logs and dead letters never hold a full payout address.
 */
export function assertPayoutAddress(input: PayoutDestination): string {
  const check = validatePayoutAddress(input);
  if (check.isValid) return check.address;
  throw walletError(check.code, check.reason, {
    currency: clip(String(input.currency)),
    network: clip(String(input.network)),
    address: maskAddress(input.address),
  });
}

function invalidAddress(reason: string): WalletCheck {
  return { isValid: false, code: 'invalid_wallet_address', reason };
}

function clip(text: string): string {
  return text.length <= 16 ? text : `${text.slice(0, 16)}…`;
}

function describeUnsupported(currency: string, network: string, rule: PayoutNetworkRule | null): string {
  if (rule === null) {
    const networks = Object.keys(SUPPORTED_PAYOUT_NETWORKS).join(', ');
    return `Payouts on the network "${clip(network)}" are not supported. Choose one of: ${networks}.`;
  }
  return `${rule.name} payouts are available in ${rule.currencies.join(', ')}; "${clip(currency)}" is not one of them. Choose one of those currencies or another network.`;
}

/** Paste mistakes, refused rather than repaired so the owner looks at what they pasted. */
function findTextProblem(address: string): string | null {
  if (address.length === 0) return 'Enter a payout address.';
  if (address.length > MAX_ADDRESS_LENGTH) {
    return `This is too long to be a wallet address (${address.length} characters). Paste only the address.`;
  }
  if (/^\s|\s$/.test(address)) {
    return 'The address starts or ends with a space or line break, usually picked up when copying. Remove it, then check that nothing else was cut off.';
  }
  const space = address.search(/\s/);
  if (space >= 0) {
    return `The address has a space or line break at character ${space + 1}. An address is one unbroken word: copy it again from your wallet.`;
  }
  const odd = address.search(/[^\x21-\x7e]/);
  if (odd >= 0) {
    return `Character ${odd + 1} of the address is not a plain letter or digit (often an invisible mark or a look-alike letter picked up when copying). Copy the address again from your wallet.`;
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(address);
  if (scheme !== null) {
    return `This is a payment link ("${clip(scheme[1] ?? '')}:…"), not an address. Paste only the address, without the prefix or anything after a "?".`;
  }
  return null;
}

function describeOtherNetwork(address: string, rule: PayoutNetworkRule): string | null {
  const other = OTHER_KINDS.find(({ kind }) => kind !== rule.addressKind && PARSERS[kind](address, rule).isValid);
  if (other === undefined) return null;
  return `This is ${other.description}, but this payout is sent on ${rule.name}. Choose the network your wallet uses, or paste your ${rule.name} address.`;
}

type ExtraIdCheck = { isValid: true; value: string | null } | { isValid: false; reason: string };

function parseExtraId(extraId: unknown, rule: PayoutNetworkRule): ExtraIdCheck {
  if (extraId === null || extraId === undefined || extraId === '') return { isValid: true, value: null };
  if (rule.extraId === null) {
    return { isValid: false, reason: `${rule.name} payouts take no memo or tag. Clear that field.` };
  }
  const name = rule.extraId.name;
  if (typeof extraId !== 'string') return { isValid: false, reason: `Enter the ${name} as text.` };
  if (/^\s|\s$/.test(extraId)) {
    return { isValid: false, reason: `The ${name} starts or ends with a space or line break. Remove it, then check the rest.` };
  }
  return checkExtraIdFormat(extraId, rule.extraId);
}

const MAX_UINT32 = 0xffff_ffffn;

function checkExtraIdFormat(extraId: string, rule: ExtraIdRule): ExtraIdCheck {
  switch (rule.format) {
    case 'text':
      return extraId.length <= rule.maxLength && /^[\x20-\x7e]+$/.test(extraId)
        ? { isValid: true, value: extraId }
        : { isValid: false, reason: `A ${rule.name} is up to ${rule.maxLength} plain characters (letters, digits, punctuation). Copy it again from your exchange.` };
    case 'uint32':
      return /^(0|[1-9][0-9]{0,9})$/.test(extraId) && BigInt(extraId) <= MAX_UINT32
        ? { isValid: true, value: extraId }
        : { isValid: false, reason: `A ${rule.name} is a whole number from 0 to 4294967295, digits only. Copy it again from your exchange.` };
  }
}
