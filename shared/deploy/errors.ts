import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the deploy/ folder raises, with its kind (status and retry follow from it). */
export const deployError = defineErrors({
  invalid_deploy_settings: 'invalid',
  /** A step needs a client (Pub/Sub, Scheduler, Secret Manager, fetch) the apply context lacks. */
  deploy_client_missing: 'internal',
  /** gcloud, firebase or a client library answered an error the step cannot treat as a state. */
  deploy_command_failed: 'unavailable',
  /** The cloud is in a state the step refuses to change by itself (e.g. a topic whose schema differs). */
  deploy_state_conflict: 'conflict',
  /** A secret the step needs has no enabled version yet. */
  deploy_secret_missing: 'not_found',
  deploy_unknown_part: 'invalid',
});
export type DeployErrorCode = ErrorCodeOf<typeof deployError>;
