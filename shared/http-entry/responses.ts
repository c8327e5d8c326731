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
}

const STATUS_BY_CODE: Record<string, number> = {
  invalid_signature: 401,
  ip_not_allowed: 403,
  payload_too_large: 413,
  not_found: 404,
  method_not_allowed: 405,
};

/**
 * Maps an error to a status and envelope (STYLE rule 10): a `PermanentError` is the caller's
 * mistake (4xx, its message written for them); a transient one is ours and temporary (503, so
 * providers retry); anything else is a 500 with a generic message. Exception text never leaks.
 */
export function errorResult(error: unknown, requestId: string = randomUUID()): HttpResult {
  if (error instanceof AppError && !isRetryable(error)) {
    return { status: STATUS_BY_CODE[error.code] ?? 400, body: { error: { code: error.code, message: error.message }, requestId } satisfies ErrorBody };
  }
  if (error instanceof AppError) {
    return { status: 503, body: { error: { code: error.code, message: 'Temporarily unavailable, please retry' }, requestId } satisfies ErrorBody };
  }
  return { status: 500, body: { error: { code: 'internal_error', message: 'Something went wrong on our side' }, requestId } satisfies ErrorBody };
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
