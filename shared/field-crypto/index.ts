/**
 * Field-level encryption at rest: envelope encryption (AES-256-GCM data key per value, wrapped by a
 * key-encryption key chosen by key id), blind indexes for equality lookups, masked forms for people
 * and logs, and the re-encryption job for key rotation and rows still in clear
 * (docs/security.md#field-encryption).
 */
export { type KeyRing, ENCRYPTED_FIELD_PATTERN, decryptField, encryptField, keyIdOfField, rewrapField } from './envelope.js';
export { type BlindIndexPurpose, blindIndex, normaliseEmail, normaliseWallet } from './blind-index.js';
export { maskAddress, maskEmail } from './masking.js';
export { type SealedColumn, type SealedTable, type SealedValue, type ReencryptReport, reencryptFields, sealedColumn } from './reencrypt.js';
export { type FieldCipher, createFieldCipher, fieldContext, loadFieldCipher } from './field-cipher.js';
export { type FieldCryptoErrorCode, fieldCryptoError } from './errors.js';
