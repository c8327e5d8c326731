/**
 * Every non-2xx answer of the dashboard API is one envelope (docs/dashboard-api.md#errors):
 * `{ error: { code, message, fields? }, requestId }`. `ApiError` carries it to the pages, which show
 * `message` and put `fields` beside their inputs.
 */
export interface ErrorEnvelope {
  error: { code: string; message: string; fields?: Record<string, string> };
  requestId?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string> = {},
    readonly requestId?: string,
    /** Seconds from `Retry-After` (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What the gateway did not answer at all (offline, DNS, a proxy down). */
export const UNREACHABLE = new ApiError(0, 'unreachable', 'The gateway did not answer. Check your connection and try again.');

function isEnvelope(value: unknown): value is ErrorEnvelope {
  if (!value || typeof value !== 'object') return false;
  const error = (value as { error?: unknown }).error;
  return Boolean(error && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string' && typeof (error as { message?: unknown }).message === 'string');
}

/** An `ApiError` from an answer (its body already parsed, or undefined when it was not JSON). */
export function apiErrorOf(response: Pick<Response, 'status' | 'headers'>, body: unknown): ApiError {
  const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
  const retryAfterSeconds = Number.isFinite(retryAfter) ? retryAfter : undefined;
  if (isEnvelope(body)) {
    return new ApiError(response.status, body.error.code, body.error.message, body.error.fields ?? {}, body.requestId, retryAfterSeconds);
  }
  return new ApiError(response.status, 'unexpected_answer', `The gateway answered ${response.status}. Try again in a moment.`, {}, undefined, retryAfterSeconds);
}

/** Reads an error answer's envelope into an `ApiError`. */
export async function readApiError(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => undefined);
  return apiErrorOf(response, body);
}
