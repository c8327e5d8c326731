import { fieldContext, fieldCryptoError, loadFieldCipher } from '../field-crypto/index.js';
import { maskAddress } from './payout-address.js';

/**
 * A payout wallet (and extra id) as a row stores it: sealed for its owner account
 * (`payout-destination:<accountId>`, shared/field-crypto) with a blind index and a masked hint, or
 * in clear — a row written before migration 029 that `npm run reencrypt` has not sealed yet, or the
 * platform's own hot wallet as the destination of a conversion payout. Copying the stored form
 * from a channel to a payout to a swap needs no key: the AAD names the owner, not the row.
 */
export interface StoredWallet {
  clear: string | null;
  clearExtraId: string | null;
  ciphertext: string | null;
  index: Buffer | null;
  hint: string | null;
  extraIdCiphertext: string | null;
  extraIdIndex: Buffer | null;
}

/** Seals `wallet` and `extraId` for the account that owns them. Needs the field keys. */
export function sealWallet(ownerAccountId: string, wallet: string, extraId: string | null): StoredWallet {
  const cipher = loadFieldCipher();
  return {
    clear: null,
    clearExtraId: null,
    ciphertext: cipher.encrypt(wallet, fieldContext.payoutWallet(ownerAccountId)),
    index: cipher.walletIndex(wallet),
    hint: maskAddress(wallet),
    extraIdCiphertext: extraId === null ? null : cipher.encrypt(extraId, fieldContext.payoutExtraId(ownerAccountId)),
    extraIdIndex: extraId === null ? null : cipher.extraIdIndex(extraId),
  };
}

/** A wallet kept in clear: the platform's own (conversion payouts). */
export function clearWallet(wallet: string, extraId: string | null = null): StoredWallet {
  return { clear: wallet, clearExtraId: extraId, ciphertext: null, index: null, hint: null, extraIdCiphertext: null, extraIdIndex: null };
}

/**
 * The wallet and extra id, opened (needs the field keys when sealed). Only the stages that hand the
 * address on (quote, swap, transfer) and the owner's own dashboard call this.
 */
export function openWallet(ownerAccountId: string | null, stored: StoredWallet): { wallet: string; extraId: string | null } {
  if (stored.clear !== null) return { wallet: stored.clear, extraId: stored.clearExtraId };
  if (stored.ciphertext === null || ownerAccountId === null) throw fieldCryptoError('field_decryption_failed', 'a sealed wallet needs its ciphertext and owner account', {});
  const cipher = loadFieldCipher();
  return {
    wallet: cipher.decrypt(stored.ciphertext, fieldContext.payoutWallet(ownerAccountId)),
    extraId: stored.extraIdCiphertext === null ? null : cipher.decrypt(stored.extraIdCiphertext, fieldContext.payoutExtraId(ownerAccountId)),
  };
}

/** What a person or a log may see of the wallet (`0x5aAe…eAed`), without a key. */
export function walletHintOf(stored: StoredWallet): string {
  return stored.hint ?? maskAddress(stored.clear);
}

/** Whether two stored wallets name the same wallet and extra id: by blind index when both are sealed, else in clear. */
export function isSameStoredWallet(a: StoredWallet, b: StoredWallet): boolean {
  const same = (x: Buffer | null, y: Buffer | null) => (x === null || y === null ? x === y : x.equals(y));
  if (a.index !== null && b.index !== null) return same(a.index, b.index) && same(a.extraIdIndex, b.extraIdIndex);
  return a.clear !== null && a.clear === b.clear && (a.clearExtraId ?? null) === (b.clearExtraId ?? null);
}

/**
 * Reads the stored columns of `wallet`/`extraId` (`payout_wallet`/`payout_extra_id` on channels,
 * `destination_wallet`/`destination_extra_id` on payouts) from a row selected with `storedWalletColumns`.
 */
export function storedWalletOf(row: Record<string, unknown>, wallet: string, extraId: string): StoredWallet {
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  const bytes = (value: unknown) => (value === null || value === undefined ? null : Buffer.from(value as Uint8Array));
  return {
    clear: text(row[wallet]),
    clearExtraId: text(row[extraId]),
    ciphertext: text(row[`${wallet}_ciphertext`]),
    index: bytes(row[`${wallet}_index`]),
    hint: text(row[`${wallet}_hint`]),
    extraIdCiphertext: text(row[`${extraId}_ciphertext`]),
    extraIdIndex: bytes(row[`${extraId}_index`]),
  };
}

/** The columns `storedWalletOf` reads, in `storedWalletValues` order: `storedWalletColumns('c.payout_wallet', 'c.payout_extra_id')`. */
export function storedWalletColumns(wallet: string, extraId: string): string {
  const name = (column: string) => column.slice(column.indexOf('.') + 1);
  return [
    wallet,
    extraId,
    ...['ciphertext', 'index', 'hint'].map((part) => `${wallet}_${part} AS ${name(wallet)}_${part}`),
    ...['ciphertext', 'index'].map((part) => `${extraId}_${part} AS ${name(extraId)}_${part}`),
  ].join(', ');
}

/** The column names of `storedWalletColumns` without alias, for INSERT/UPDATE. */
export function storedWalletColumnNames(wallet: string, extraId: string): string[] {
  return [wallet, extraId, `${wallet}_ciphertext`, `${wallet}_index`, `${wallet}_hint`, `${extraId}_ciphertext`, `${extraId}_index`];
}

/** Values for `storedWalletColumnNames`, in order. */
export function storedWalletValues(stored: StoredWallet): unknown[] {
  return [stored.clear, stored.clearExtraId, stored.ciphertext, stored.index, stored.hint, stored.extraIdCiphertext, stored.extraIdIndex];
}
