import { configVars, loadConfig } from '../config/index.js';
import { type BlindIndexPurpose, blindIndex, normaliseEmail, normaliseWallet } from './blind-index.js';
import { type KeyRing, decryptField, encryptField, rewrapField } from './envelope.js';

/**
 * What a stage holding the field keys can do: seal and open values for a context, re-wrap them
 * under the current key, and compute blind indexes. Built from FIELD_ENCRYPTION_KEYS and
 * FIELD_BLIND_INDEX_KEY; only the functions that must see a clear email or wallet get those.
 */
export interface FieldCipher {
  readonly currentKid: string;
  encrypt(value: string, context: string): string;
  decrypt(stored: string, context: string): string;
  rewrap(stored: string, context: string): string;
  /** Blind index of an email (trimmed, lower case). */
  emailIndex(email: string): Buffer;
  /** Blind index of a wallet address (EVM hex in lower case, others exact). */
  walletIndex(wallet: string): Buffer;
  /** Blind index of an extra id (memo, tag), exact. */
  extraIdIndex(extraId: string): Buffer;
}

/** The AAD contexts: purpose and owner (an account, or a payout for its transfer), so a value opens only on its own row. */
export const fieldContext = {
  email: (accountId: string) => `email:${accountId}`,
  newEmail: (accountId: string) => `new-email:${accountId}`,
  mailAddress: (accountId: string) => `mail-address:${accountId}`,
  payoutWallet: (accountId: string) => `payout-destination:${accountId}`,
  payoutExtraId: (accountId: string) => `payout-extra-id:${accountId}`,
  /** A transfer's signed bytes: attempt 1 is the transfer row's, 2… its replacements (no swapping attempts). */
  signedTransaction: (payoutId: string, attempt: number) => `signed-tx:${payoutId}:${attempt}`,
  /** The recipient of a transfer straight to the owner's wallet. */
  transferRecipient: (payoutId: string) => `transfer-recipient:${payoutId}`,
} as const;

export function createFieldCipher(ring: KeyRing, blindIndexKey: Buffer): FieldCipher {
  const index = (purpose: BlindIndexPurpose, value: string) => blindIndex(blindIndexKey, purpose, value);
  return {
    currentKid: ring.currentKid,
    encrypt: (value, context) => encryptField(ring, value, context),
    decrypt: (stored, context) => decryptField(ring, stored, context),
    rewrap: (stored, context) => rewrapField(ring, stored, context),
    emailIndex: (email) => index('email', normaliseEmail(email)),
    walletIndex: (wallet) => index('wallet', normaliseWallet(wallet)),
    extraIdIndex: (extraId) => index('extra-id', extraId.trim()),
  };
}

let built: { source: string; cipher: FieldCipher } | undefined;

/**
 * The instance's cipher from the environment. Functions that hold the keys call it at module scope,
 * so a missing or weak key stops the cold start with the variable's name; shared code calls it
 * where it seals or opens a value. Validated on every call (cheap), built once per key set.
 */
export function loadFieldCipher(env: NodeJS.ProcessEnv = process.env): FieldCipher {
  const config = loadConfig({ FIELD_ENCRYPTION_KEYS: configVars.FIELD_ENCRYPTION_KEYS, FIELD_BLIND_INDEX_KEY: configVars.FIELD_BLIND_INDEX_KEY }, env);
  const source = `${env.FIELD_ENCRYPTION_KEYS ?? ''}\u0000${env.FIELD_BLIND_INDEX_KEY ?? ''}`;
  if (built?.source !== source) {
    const ring: KeyRing = { currentKid: config.FIELD_ENCRYPTION_KEYS.currentKid, keys: new Map(config.FIELD_ENCRYPTION_KEYS.keys) };
    built = { source, cipher: createFieldCipher(ring, decodeIndexKey(config.FIELD_BLIND_INDEX_KEY)) };
  }
  return built.cipher;
}

function decodeIndexKey(value: string): Buffer {
  if (/^(?:[0-9a-f]{2})+$|^(?:[0-9A-F]{2})+$/.test(value)) return Buffer.from(value, 'hex');
  return Buffer.from(value, /[-_]/.test(value) ? 'base64url' : 'base64');
}
