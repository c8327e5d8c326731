import type { LogContext } from './logger.js';

const TRACE_FIELD = 'logging.googleapis.com/trace';
const SPAN_FIELD = 'logging.googleapis.com/spanId';
const SAMPLED_FIELD = 'logging.googleapis.com/trace_sampled';

/** W3C `traceparent`: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/i;
/** Google's legacy `X-Cloud-Trace-Context`: `<32 hex trace id>[/<decimal span id>][;o=<0|1>]`. */
const CLOUD_TRACE_CONTEXT = /^([0-9a-f]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?$/i;

const MAX_UINT64 = (1n << 64n) - 1n;

function isAllZeros(hex: string): boolean {
  return /^0+$/.test(hex);
}

/**
 * Cloud Logging fields that tie a log line to its request trace, for a child logger's bindings:
 * `{ 'logging.googleapis.com/trace': 'projects/<projectId>/traces/<traceId>',
 *    'logging.googleapis.com/spanId': <16 hex>, 'logging.googleapis.com/trace_sampled': boolean }`.
 *
 * Accepts either a W3C `traceparent` header or an `X-Cloud-Trace-Context` header (whose decimal span
 * id is converted to the 16-hex form Cloud Logging expects). Returns `{}` when the header is absent
 * or malformed (including all-zero ids and version `ff`) or when `projectId` is unknown (local runs):
 * a missing trace never stops a request.
 */
export function cloudTraceFields(traceHeader: string | undefined, projectId: string | undefined): LogContext {
  const header = traceHeader?.trim();
  const project = projectId?.trim();
  if (!header || !project) return {};

  const w3c = TRACEPARENT.exec(header);
  if (w3c) {
    const [, version = '', traceId = '', spanId = '', flags = ''] = w3c;
    if (version.toLowerCase() === 'ff' || isAllZeros(traceId) || isAllZeros(spanId)) return {};
    return {
      [TRACE_FIELD]: `projects/${project}/traces/${traceId.toLowerCase()}`,
      [SPAN_FIELD]: spanId.toLowerCase(),
      [SAMPLED_FIELD]: (Number.parseInt(flags, 16) & 1) === 1,
    };
  }

  const cloud = CLOUD_TRACE_CONTEXT.exec(header);
  if (cloud) {
    const [, traceId = '', spanDecimal, sampled] = cloud;
    if (isAllZeros(traceId)) return {};
    const fields: LogContext = { [TRACE_FIELD]: `projects/${project}/traces/${traceId.toLowerCase()}` };
    if (spanDecimal !== undefined) {
      const span = BigInt(spanDecimal);
      if (span > 0n && span <= MAX_UINT64) fields[SPAN_FIELD] = span.toString(16).padStart(16, '0');
    }
    if (sampled !== undefined) fields[SAMPLED_FIELD] = sampled === '1';
    return fields;
  }

  return {};
}
