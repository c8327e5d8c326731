import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the pubsub-entry/ folder raises, with its kind (status and retry follow from it). */
export const pubsubEntryError = defineErrors({
  invalid_message: 'invalid',
});
export type PubsubEntryErrorCode = ErrorCodeOf<typeof pubsubEntryError>;
