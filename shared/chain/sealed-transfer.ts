import { fieldContext, fieldCryptoError, loadFieldCipher } from '../field-crypto/index.js';

/**
 * A value of a transfer as its row stores it: sealed (shared/field-crypto), or in clear — a row
 * written before migration 033 that `npm run reencrypt` has not sealed yet, or a swap's deposit
 * address (ChangeNow's, in clear in `swaps` too).
 */
export interface StoredText {
  clear: string | null;
  ciphertext: string | null;
}

/** Seals a transfer's signed bytes for its attempt. Needs the field keys (send-transfer). */
export function sealSignedTransaction(payoutId: string, attempt: number, signedTx: string): StoredText {
  return { clear: null, ciphertext: loadFieldCipher().encrypt(signedTx, fieldContext.signedTransaction(payoutId, attempt)) };
}

/** The signed bytes of one attempt, opened. Needs the field keys when sealed: only send-transfer broadcasts. */
export function openSignedTransaction(payoutId: string, attempt: number, stored: StoredText): string {
  if (stored.clear !== null) return stored.clear;
  return loadFieldCipher().decrypt(requireCiphertext(stored), fieldContext.signedTransaction(payoutId, attempt));
}

/** Seals the recipient of a transfer straight to the owner's wallet. */
export function sealTransferRecipient(payoutId: string, recipient: string): StoredText {
  return { clear: null, ciphertext: loadFieldCipher().encrypt(recipient, fieldContext.transferRecipient(payoutId)) };
}

/** The recipient, opened (tests and the sandbox's views; no stage needs it: the signed bytes carry it). */
export function openTransferRecipient(payoutId: string, stored: StoredText): string {
  if (stored.clear !== null) return stored.clear;
  return loadFieldCipher().decrypt(requireCiphertext(stored), fieldContext.transferRecipient(payoutId));
}

function requireCiphertext(stored: StoredText): string {
  if (stored.ciphertext === null) throw fieldCryptoError('field_decryption_failed', 'a stored transfer value has neither a clear nor a sealed form', {});
  return stored.ciphertext;
}
