import { randomUUID } from 'node:crypto';
import { AppError, statusOfKind } from '../errors/index.js';

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
 * Maps an error to a status and envelope; the status is the error kind's (`ERROR_KINDS`). A permanent
 * error is the caller's mistake (4xx, its message written for them, plus `fields` from
 * `context.fields` and a `retry-after` header from `context.retryAfterSeconds`); `unavailable` is ours
 * and temporary (503 with `retry-after`: `context.retryAfterSeconds`, else
 * `TRANSIENT_RETRY_AFTER_SECONDS`, so callers retry); `internal` and anything that is not an
 * `AppError` is a 500 with a generic message. Exception text of ours never leaks.
 */
export function errorResult(error: unknown, requestId: string = randomUUID()): HttpResult {
  if (!(error instanceof AppError) || error.kind === 'internal') {
    return { status: 500, body: { error: { code: 'internal_error', message: 'Something went wrong on our side' }, requestId } satisfies ErrorBody };
  }
  const retryAfter = retryAfterOf(error);
  if (error.isRetryable) {
    return {
      status: statusOfKind(error.kind),
      body: { error: { code: error.code, message: 'Temporarily unavailable, please retry' }, requestId } satisfies ErrorBody,
      headers: { 'retry-after': String(retryAfter ?? TRANSIENT_RETRY_AFTER_SECONDS) },
    };
  }
  const fields = fieldsOf(error);
  return {
    status: statusOfKind(error.kind),
    body: { error: { code: error.code, message: error.message, ...(fields ? { fields } : {}) }, requestId } satisfies ErrorBody,
    ...(retryAfter ? { headers: { 'retry-after': String(retryAfter) } } : {}),
  };
}

/** What `sendResult` needs of an Express response. */
interface ResultResponse {
  status(code: number): { set(headers: Record<string, string>): { json(body: unknown): unknown } };
}

/** Answers with an HttpResult: its status, its headers, its body as JSON. */
export function sendResult(response: ResultResponse, result: HttpResult): void {
  response.status(result.status).set(result.headers ?? {}).json(result.body);
}
