import { createHmac } from 'node:crypto';

/**
 * Blind indexes: HMAC-SHA256 under FIELD_BLIND_INDEX_KEY of a purpose and a normalised value, stored
 * beside a ciphertext where the system needs equality (login by email, "did the wallet change?").
 * Without the key a dump's indexes cannot be tested against guessed addresses; the purpose keeps an
 * email's index from matching the same text used as anything else.
 */
export type BlindIndexPurpose = 'email' | 'wallet' | 'extra-id';

export function blindIndex(key: Buffer, purpose: BlindIndexPurpose, normalised: string): Buffer {
  return createHmac('sha256', key).update(`${purpose}\u0000${normalised}`, 'utf8').digest();
}

/** Emails compare case-insensitively (the old unique index was on lower(email)). */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * EVM addresses compare case-insensitively (the checksum is only a spelling); every other address
 * kind (base58, bech32 with its own rules) and every extra id compares exactly.
 */
export function normaliseWallet(wallet: string): string {
  const trimmed = wallet.trim();
  return /^0x[0-9a-fA-F]{40}$/.test(trimmed) ? trimmed.toLowerCase() : trimmed;
}
