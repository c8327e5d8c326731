import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the dashboard/ folder raises, with its kind (status and retry follow from it). */
export const dashboardError = defineErrors({
  channels_not_configured: 'unavailable',
  csrf_rejected: 'forbidden',
  invalid_token: 'unauthorized',
  malformed_json: 'invalid',
  method_not_allowed: 'method_not_allowed',
  not_found: 'not_found',
  origin_not_allowed: 'forbidden',
  payload_too_large: 'too_large',
  rate_limit_store_unavailable: 'unavailable',
  rate_limited: 'rate_limited',
  service_unavailable: 'unavailable',
  unauthorized: 'unauthorized',
  unsupported_media_type: 'unsupported_media_type',
  validation_failed: 'invalid',
  response_schema_mismatch: 'internal',
});
export type DashboardErrorCode = ErrorCodeOf<typeof dashboardError>;
