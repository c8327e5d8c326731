import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the deploy/ folder raises, with its kind (status and retry follow from it). */
export const deployError = defineErrors({
  invalid_deploy_settings: 'invalid',
  /** A gcloud command of an applied step exited non-zero (its stderr is in the message). */
  command_failed: 'unavailable',
});
export type DeployErrorCode = ErrorCodeOf<typeof deployError>;
