import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** The providers reached through `requestJson`; each name prefixes its error codes. */
export type ProviderService = 'nowpayments' | 'changenow';

/**
 * What a provider call can end in: `_rejected` (a final 3xx/4xx, retrying unchanged cannot help),
 * `_unavailable` (no answer, 408, 429 or 5xx) and `_bad_response` (a 2xx we cannot read, most often an
 * outage page), both worth retrying.
 */
export const providerHttpError = defineErrors({
  nowpayments_rejected: 'invalid',
  nowpayments_unavailable: 'unavailable',
  nowpayments_bad_response: 'unavailable',
  changenow_rejected: 'invalid',
  changenow_unavailable: 'unavailable',
  changenow_bad_response: 'unavailable',
  invalid_request_options: 'invalid',
});
export type ProviderHttpErrorCode = ErrorCodeOf<typeof providerHttpError>;
