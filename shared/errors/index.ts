/**
 * One closed error model. Every error has a stable snake_case `code`, a context object safe to log,
 * and a `kind`: what went wrong from the caller's side. The kind alone decides the HTTP status and
 * whether retrying can help (`ERROR_KINDS`); no list of codes, no guess from a code's suffix.
 *
 * Each folder declares its codes once with `defineErrors({ code: kind })` in its `errors.ts` and
 * throws only through the factory that returns, so a code outside the folder's union does not
 * compile. `PermanentError` and `TransientError` remain the two classes (event stages acknowledge
 * and dead-letter the first, redeliver the second); the factory picks the class from the kind.
 *
 * Anything that is not an `AppError` is treated like `internal`: retried a bounded number of times
 * and then dead-lettered, rather than dropping a payment on the floor.
 */
export type ErrorContext = Record<string, unknown>;

/**
 * The closed set of kinds. Seven describe the caller's request or the moment; `internal` is a broken
 * invariant of ours. The API already answers 405, 413, 415 and 422 and clients branch on them, so
 * those keep kinds of their own instead of folding into `invalid`.
 */
export const ERROR_KINDS = {
  invalid: { status: 400, retryable: false },
  unauthorized: { status: 401, retryable: false },
  forbidden: { status: 403, retryable: false },
  not_found: { status: 404, retryable: false },
  method_not_allowed: { status: 405, retryable: false },
  conflict: { status: 409, retryable: false },
  too_large: { status: 413, retryable: false },
  unsupported_media_type: { status: 415, retryable: false },
  unprocessable: { status: 422, retryable: false },
  rate_limited: { status: 429, retryable: false },
  internal: { status: 500, retryable: true },
  unavailable: { status: 503, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorKind = keyof typeof ERROR_KINDS;

export class AppError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly kind: ErrorKind;
  readonly context: ErrorContext;

  protected constructor(code: Code, kind: ErrorKind, message: string, context: ErrorContext = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = kind;
    this.context = context;
  }

  get isRetryable(): boolean {
    return ERROR_KINDS[this.kind].retryable;
  }
}

/** Retrying the same input cannot help: invalid input, unknown id, wrong state, bad signature. */
export class PermanentError<Code extends string = string> extends AppError<Code> {
  /** @internal Made by a folder's error factory (`defineErrors`), not by hand. */
  static of<Code extends string>(code: Code, kind: ErrorKind, message: string, context?: ErrorContext, cause?: unknown): PermanentError<Code> {
    return new PermanentError(code, kind, message, context, cause);
  }
}

/** The same call may succeed later: database down, provider 5xx/429, RPC timeout, a broken invariant. */
export class TransientError<Code extends string = string> extends AppError<Code> {
  /** @internal Made by a folder's error factory (`defineErrors`), not by hand. */
  static of<Code extends string>(code: Code, kind: ErrorKind, message: string, context?: ErrorContext, cause?: unknown): TransientError<Code> {
    return new TransientError(code, kind, message, context, cause);
  }
}

/** A folder's error factory: `fail(code, message, context?, cause?)` for one of its declared codes. */
export type ErrorFactory<Codes extends Record<string, ErrorKind>> = <Code extends keyof Codes & string>(
  code: Code,
  message: string,
  context?: ErrorContext,
  cause?: unknown,
) => AppError<Code>;

/**
 * Declares a folder's error codes and returns the factory that makes them. The class follows the
 * kind (`unavailable` and `internal` are transient, the rest permanent), so a code cannot be retried
 * in one place and dead-lettered in another.
 */
export function defineErrors<const Codes extends Record<string, ErrorKind>>(codes: Codes): ErrorFactory<Codes> & { readonly codes: Codes } {
  const factory = <Code extends keyof Codes & string>(code: Code, message: string, context?: ErrorContext, cause?: unknown): AppError<Code> => {
    const kind = codes[code] as ErrorKind;
    return ERROR_KINDS[kind].retryable
      ? TransientError.of(code, kind, message, context, cause)
      : PermanentError.of(code, kind, message, context, cause);
  };
  return Object.assign(factory, { codes });
}

/** The codes of an error factory, as a union type. */
export type ErrorCodeOf<Factory> = Factory extends { codes: infer Codes } ? keyof Codes & string : never;

/** True when redelivering the same input may succeed. Unknown errors count as transient. */
export function isRetryable(error: unknown): boolean {
  return error instanceof AppError ? error.isRetryable : true;
}

/** The stable code of an error, `unexpected_error` for anything that is not an `AppError`. */
export function errorCode(error: unknown): string {
  return error instanceof AppError ? error.code : 'unexpected_error';
}

/** The HTTP status an error kind answers with. */
export function statusOfKind(kind: ErrorKind): number {
  return ERROR_KINDS[kind].status;
}

/** The same error (class, code, kind, message) with `extra` added to its context; the original is the cause. */
export function withContext<Code extends string>(error: AppError<Code>, extra: ErrorContext): AppError<Code> {
  const make = error.isRetryable ? TransientError.of : PermanentError.of;
  return make(error.code, error.kind, error.message, { ...error.context, ...extra }, error);
}
