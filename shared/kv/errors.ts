import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the kv/ folder raises, with its kind (status and retry follow from it). */
export const keyValueError = defineErrors({
  kv_contention: 'unavailable',
  kv_entry_corrupt: 'invalid',
  kv_key_invalid: 'invalid',
  kv_options_invalid: 'invalid',
  kv_not_a_counter: 'invalid',
  kv_rejected: 'invalid',
  kv_ttl_invalid: 'invalid',
  kv_unavailable: 'unavailable',
  kv_value_invalid: 'invalid',
  kv_value_too_large: 'invalid',
  work_in_progress: 'unavailable',
});
export type KeyValueErrorCode = ErrorCodeOf<typeof keyValueError>;
