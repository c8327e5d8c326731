/**
 * Errors carry a stable snake_case `code`, a context object safe to log, and a retry verdict.
 *
 * - `PermanentError`: retrying cannot help (invalid input, unknown id, wrong state, bad signature).
 *   Event stages acknowledge it and record a dead letter; HTTP entry points answer 4xx.
 * - `TransientError`: the same call may succeed later (database down, provider 5xx/429, RPC timeout).
 *   Event stages throw it so Pub/Sub redelivers, bounded by the subscription's max delivery attempts.
 *
 * Anything that is not an `AppError` is treated as transient: we would rather retry a bug a bounded
 * number of times and dead-letter it than drop a payment on the floor.
 */
export type ErrorContext = Record<string, unknown>;

export class AppError extends Error {
  readonly code: string;
  readonly context: ErrorContext;
  readonly isRetryable: boolean;

  constructor(code: string, message: string, options: { context?: ErrorContext; retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = options.context ?? {};
    this.isRetryable = options.retryable;
  }
}

export class PermanentError extends AppError {
  constructor(code: string, message: string, context?: ErrorContext, cause?: unknown) {
    super(code, message, { context, retryable: false, cause });
  }
}

export class TransientError extends AppError {
  constructor(code: string, message: string, context?: ErrorContext, cause?: unknown) {
    super(code, message, { context, retryable: true, cause });
  }
}

/** True when redelivering the same input may succeed. Unknown errors count as transient. */
export function isRetryable(error: unknown): boolean {
  return error instanceof AppError ? error.isRetryable : true;
}

/** The stable code of an error, `unexpected_error` for anything that is not an `AppError`. */
export function errorCode(error: unknown): string {
  return error instanceof AppError ? error.code : 'unexpected_error';
}
