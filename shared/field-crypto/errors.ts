import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the field-crypto/ folder raises. */
export const fieldCryptoError = defineErrors({
  // A stored value that does not open: wrong key ring, a value moved to another row, or tampering.
  // Internal: retrying may help once the right key is deployed; never shown to a caller.
  field_decryption_failed: 'internal',
  // The value names a key id that this instance does not hold (a key removed before re-encryption).
  field_key_unknown: 'internal',
});
export type FieldCryptoErrorCode = ErrorCodeOf<typeof fieldCryptoError>;
