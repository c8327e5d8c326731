import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the http-entry/ folder raises, with its kind (status and retry follow from it). */
export const httpEntryError = defineErrors({
  malformed_body: 'invalid',
  malformed_path: 'invalid',
  not_found: 'not_found',
  payload_too_large: 'too_large',
  service_unavailable: 'unavailable',
  unsupported_media_type: 'unsupported_media_type',
  method_not_allowed: 'method_not_allowed',
});
export type HttpEntryErrorCode = ErrorCodeOf<typeof httpEntryError>;
