/**
 * Structured logging for Cloud Logging: one JSON line per event with `severity`, `message` (the
 * dot.case event name), `time`, then the logger's bindings and the event's context, all redacted.
 *
 *   import { logger, cloudTraceFields } from '../logging/index.js';
 *   const log = logger.child({ messageId, attempt, ...cloudTraceFields(req.get('traceparent'), projectId) });
 *   log.info('payout.broadcast', { payoutId, txHash, nonce });
 *   log.critical('payout.limit_exceeded', { payoutId, error });
 *
 * Secrets never reach a line: secret-named keys, credential patterns and every value registered with
 * `registerSecretValues` (which `loadConfig` does for `secret()` variables) are replaced by `[REDACTED]`.
 * Never log Bot API URLs or raw provider bodies anyway.
 */
export { type Severity, type LogContext, type Logger, type LoggerOptions, SEVERITIES, createLogger, logger } from './logger.js';
export { registerSecretValues, redact } from './redact.js';
export { cloudTraceFields } from './trace.js';
