import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the secrets/ folder raises, with its kind (status and retry follow from it). */
export const secretsError = defineErrors({
  /** Secret Manager could not be read and no earlier value is cached: retry later. */
  secret_unavailable: 'unavailable',
  /** A secret in Secret Manager lacks its `current` alias, or holds an empty value: fix the secret. */
  secret_misconfigured: 'internal',
  /** The rotation command was given something it cannot do (unknown name, bad overlap). */
  invalid_rotation: 'invalid',
});
export type SecretsErrorCode = ErrorCodeOf<typeof secretsError>;
