import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the ids/ folder raises, with its kind (status and retry follow from it). */
export const idError = defineErrors({
  invalid_id: 'invalid',
});
export type IdErrorCode = ErrorCodeOf<typeof idError>;
