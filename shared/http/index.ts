/**
 * The one place for outbound HTTP: `requestJson` sends a request, retries within bounds, validates
 * the JSON answer with zod and turns failures into `<service>_rejected` (permanent) or `<service>_unavailable` /
 * `<service>_bad_response` (transient) errors. `shouldRetry` is its pure retry decision.
 *
 *   const invoice = await requestJson({ service: 'nowpayments', operation: 'create_invoice', method: 'POST', url,
 *     headers: { 'x-api-key': apiKey }, body, schema: InvoiceSchema, isRetrySafe: true });
 */
export { type RequestJsonOptions, DEFAULT_TIMEOUT_MS, MAX_ATTEMPTS_LIMIT, requestJson } from './request-json.js';
export {
  type RetryInput,
  type RetryDecision,
  DEFAULT_MAX_ATTEMPTS,
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  MAX_RETRY_AFTER_SECONDS,
  shouldRetry,
  backoffDelayMs,
  parseRetryAfter,
} from './retry-policy.js';
export { type ProviderClientOptions } from './provider-client-options.js';
export { type ProviderService, type ProviderHttpErrorCode } from './errors.js';
