import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the db/ folder raises, with its kind (status and retry follow from it). */
export const databaseError = defineErrors({
  database_unavailable: 'unavailable',
  call_inside_transaction: 'internal',
});
export type DatabaseErrorCode = ErrorCodeOf<typeof databaseError>;
