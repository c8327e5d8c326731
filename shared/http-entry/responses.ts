import { randomUUID } from 'node:crypto';
import { AppError, isRetryable } from '../errors/index.js';

/** The one error envelope of every HTTP entry point. */
export interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
  requestId: string;
}

export interface HttpResult {
  status: number;
  body: unknown;
  /** Headers the status implies (`retry-after` for 429). */
  headers?: Record<string, string>;
}

/** Status of each permanent error code; any other permanent code is a 400 (codes ending in `_not_found` a 404). */
const STATUS_BY_CODE: Record<string, number> = {
  invalid_signature: 401,
  invalid_secret_token: 401,
  unauthorized: 401,
  invalid_token: 401,
  token_expired: 401,
  invalid_credentials: 401,
  invalid_refresh_token: 401,
  forbidden: 403,
  ip_not_allowed: 403,
  origin_not_allowed: 403,
  csrf_rejected: 403,
  email_not_verified: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  email_taken: 409,
  email_already_verified: 409,
  account_has_channels: 409,
  account_inactive: 403,
  telegram_not_linked: 409,
  telegram_link_changed: 409,
  channel_limit_reached: 409,
  chat_already_registered: 409,
  channel_changed_concurrently: 409,
  channel_ownership_unverified: 422,
  export_too_large: 422,
  broadcast_cooling_down: 429,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
};

/** The HTTP status a permanent error code maps to. */
export function statusOfCode(code: string): number {
  return STATUS_BY_CODE[code] ?? (code.endsWith('_not_found') ? 404 : 400);
}

/** `context.fields` when it is a flat map of field path → message (validation errors). */
function fieldsOf(error: AppError): Record<string, string> | undefined {
  const fields = error.context.fields;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return undefined;
  const entries = Object.entries(fields).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** What a 503 asks callers to wait when the error names no wait of its own: our outages are mostly brief. */
export const TRANSIENT_RETRY_AFTER_SECONDS = 5;

/** `context.retryAfterSeconds` when it is a whole number of seconds > 0. */
function retryAfterOf(error: AppError): number | undefined {
  const seconds = error.context.retryAfterSeconds;
  return typeof seconds === 'number' && Number.isInteger(seconds) && seconds > 0 ? seconds : undefined;
}

/**
 * Maps an error to a status and envelope: a `PermanentError` is the caller's
 * mistake (4xx, its message written for them, plus `fields` from `context.fields` and a
 * `retry-after` header from `context.retryAfterSeconds`); a transient one is ours and temporary
 * (503 with `retry-after`: `context.retryAfterSeconds`, else `TRANSIENT_RETRY_AFTER_SECONDS`, so
 * callers retry); anything else is a 500 with a generic message. Exception text never leaks.
 */
export function errorResult(error: unknown, requestId: string = randomUUID()): HttpResult {
  if (error instanceof AppError && !isRetryable(error)) {
    const fields = fieldsOf(error);
    const retryAfter = retryAfterOf(error);
    return {
      status: statusOfCode(error.code),
      body: { error: { code: error.code, message: error.message, ...(fields ? { fields } : {}) }, requestId } satisfies ErrorBody,
      ...(retryAfter ? { headers: { 'retry-after': String(retryAfter) } } : {}),
    };
  }
  if (error instanceof AppError) {
    return {
      status: 503,
      body: { error: { code: error.code, message: 'Temporarily unavailable, please retry' }, requestId } satisfies ErrorBody,
      headers: { 'retry-after': String(retryAfterOf(error) ?? TRANSIENT_RETRY_AFTER_SECONDS) },
    };
  }
  return { status: 500, body: { error: { code: 'internal_error', message: 'Something went wrong on our side' }, requestId } satisfies ErrorBody };
}

/** What `sendResult` needs of an Express response. */
interface ResultResponse {
  status(code: number): { set(headers: Record<string, string>): { json(body: unknown): unknown } };
}

/** Answers with an HttpResult: its status, its headers, its body as JSON. */
export function sendResult(response: ResultResponse, result: HttpResult): void {
  response.status(result.status).set(result.headers ?? {}).json(result.body);
}

/**
 * The caller's address. Behind Google's front end (Cloud Run, Cloud Functions gen2) the connecting
 * client is the last X-Forwarded-For entry, appended by the load balancer; entries before it are
 * whatever the client sent and can be forged.
 */
export function clientIpOf(request: { headers: Record<string, string | string[] | undefined>; socket?: { remoteAddress?: string } }, isBehindGoogleFrontEnd: boolean): string | undefined {
  const forwarded = request.headers['x-forwarded-for'];
  const text = Array.isArray(forwarded) ? forwarded.join(',') : forwarded;
  if (isBehindGoogleFrontEnd && text) {
    const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
    return entries.at(-1);
  }
  return request.socket?.remoteAddress?.replace(/^::ffff:/, '');
}
