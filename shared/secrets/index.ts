/**
 * Rotating secrets (JWT key, Telegram webhook secret, NowPayments IPN secret): a current value that
 * signs and verifies, a previous one that verifies until its overlap ends, each with a `kid`; read
 * from the environment or from Secret Manager through version aliases with a short cache; and the
 * rotation itself (`npm run secrets -- rotate <name>`). docs/security.md#secret-rotation.
 */
export {
  type AcceptedVersion,
  type RotatingSecret,
  type SecretRole,
  type SecretVersion,
  acceptedVersions,
  keyIdOf,
  matchingVersion,
  rotatingSecret,
} from './rotating-secret.js';
export {
  type SecretReader,
  type SecretManagerReaderOptions,
  CURRENT_ALIAS,
  PREVIOUS_ALIAS,
  PREVIOUS_UNTIL_ANNOTATION,
  createSecretManagerReader,
  fixedSecretReader,
  readFromSecretManager,
} from './secret-reader.js';
export { type SecretStore, type SecretManagerStoreOptions, createSecretManagerStore } from './secret-store.js';
export { type RotatingSecretName, type SecretReaderOptions, ROTATING_SECRET_NAMES, loadSecretReader, secretIdOf } from './load-secret.js';
export { type SecretsErrorCode, secretsError } from './errors.js';
export {
  type SecretManagerRotation,
  DEFAULT_OVERLAP_SECONDS,
  MAX_OVERLAP_SECONDS,
  environmentRotationSteps,
  generateSecretValue,
  rotateInSecretManager,
  rotatingSecretNamed,
} from './rotation.js';
