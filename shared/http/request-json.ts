import type * as z from 'zod';
import { systemClock, type Clock } from '../clock/index.js';
import { assertNoOpenTransaction } from '../db/index.js';
import type { AppError, ErrorContext } from '../errors/index.js';
import { logger as rootLogger, redact, type Logger } from '../logging/index.js';
import { DEFAULT_MAX_ATTEMPTS, parseRetryAfter, shouldRetry } from './retry-policy.js';
import { providerHttpError, type ProviderService } from './errors.js';

/** Per-attempt time limit (connect, send, and read the whole body) unless the caller says otherwise. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Most attempts a caller may ask for: beyond this, retrying belongs to the caller's queue, not to one request. */
export const MAX_ATTEMPTS_LIMIT = 10;
/** Longest provider `message` copied into an error's context. */
const MAX_PROVIDER_MESSAGE_LENGTH = 200;
/** Header values shorter than this are not searched for in provider messages (they would blank ordinary words). */
const MIN_REDACTED_HEADER_LENGTH = 6;

export interface RequestJsonOptions<T> {
  url: string;
  method: string;
  /** Sent as given and never logged or copied into errors (they carry API keys). */
  headers?: Record<string, string>;
  /**
   * A string is sent as is; anything else is sent as `JSON.stringify(body)`. Callers that put money in a body write
   * the text themselves so no float formatting happens. `content-type: application/json` is added when absent.
   */
  body?: unknown;
  /** Validates the parsed 2xx body; a mismatch is `<service>_bad_response`. */
  schema: z.ZodType<T>;
  /** Names the remote in error codes and logs: `'nowpayments'` gives `nowpayments_rejected` and friends. */
  service: ProviderService;
  /**
   * Names the call in logs and error context, e.g. `'create_invoice'`. Default: the method. The URL is never logged
   * (Bot API URLs contain the token).
   */
  operation?: string;
  /** Per-attempt limit in milliseconds, body read included. Default 10 000. */
  timeoutMs?: number;
  /** Attempts in total, the first included: an integer from 1 (no retry) to 10. Default 3. */
  maxAttempts?: number;
  /** See `RetryInput.isRetrySafe`: lets a non-idempotent request repeat after a 5xx or no answer. Default false. */
  isRetrySafe?: boolean;
  /** Turns the 2xx body text into a value for `schema`. Default `JSON.parse`. */
  parseBody?: (text: string) => unknown;
  fetch?: typeof fetch;
  /** Waits between attempts. Default: a real timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Reads `Retry-After` dates. Default the system clock. */
  clock?: Clock;
  /** Receives `http.retry` warnings. Default the root logger. */
  logger?: Logger;
  /** Jitter source for backoff, in [0, 1). Default `Math.random`. */
  random?: () => number;
}

type AttemptOutcome =
  | { kind: 'answer'; status: number; text: string; retryAfterSeconds: number | undefined }
  | { kind: 'no_answer'; timedOut: boolean; networkErrorCode: string | undefined };

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends one HTTP request with a JSON answer, retrying within bounds, and returns the answer parsed
 * and validated by `schema`.
 *
 * Refuses to run inside a database transaction (`assertNoOpenTransaction`). Retries follow `shouldRetry`: no answer
 * or 5xx for idempotent or retry-safe requests, 429 honouring `Retry-After` up to 30 s; nothing else.
 *
 * @throws PermanentError `<service>_rejected` for a final 3xx/4xx answer, with context `{ service, operation,
 *   status, attempts, providerCode?, providerMessage? }` (`providerMessage` is the answer's `message` field, cut to
 *   200 characters, with every request header value and known secret redacted; the raw body is never kept).
 * @throws TransientError `<service>_unavailable` when no answer came back, or the last answer was 429 or 5xx.
 * @throws TransientError `<service>_bad_response` for a 2xx answer that is not JSON or does not match `schema`.
 * @throws RangeError for a `maxAttempts` or `timeoutMs` out of range (a caller bug; nothing is sent).
 * @throws Error when called inside a database transaction (nothing is sent).
 */
export async function requestJson<T>(options: RequestJsonOptions<T>): Promise<T> {
  const method = options.method.toUpperCase();
  const operation = options.operation ?? method;
  const { service } = options;
  assertNoOpenTransaction(`${service} ${operation}`);

  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // A NaN or fractional bound would quietly turn "bounded" into "forever": refuse it.
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT) {
    throw providerHttpError('invalid_request_options', `requestJson: maxAttempts must be an integer from 1 to ${MAX_ATTEMPTS_LIMIT}, got ${maxAttempts}`);
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw providerHttpError('invalid_request_options', `requestJson: timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? realSleep;
  const clock = options.clock ?? systemClock;
  const log = (options.logger ?? rootLogger).child({ service, operation });
  const headers = buildHeaders(options.headers, options.body !== undefined);
  const body =
    options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const secrets = Object.values(options.headers ?? {}).filter((value) => value.length >= MIN_REDACTED_HEADER_LENGTH);

  for (let attempt = 1; ; attempt += 1) {
    const outcome = await attemptOnce(doFetch, options.url, { method, headers, body }, timeoutMs, clock);

    if (outcome.kind === 'answer' && outcome.status >= 200 && outcome.status < 300) {
      return parseAnswer(outcome.text, outcome.status, options, operation, attempt);
    }

    const decision = shouldRetry({
      attempt,
      maxAttempts,
      method,
      isRetrySafe: options.isRetrySafe,
      random: options.random,
      ...(outcome.kind === 'answer'
        ? { status: outcome.status, retryAfterSeconds: outcome.retryAfterSeconds }
        : { networkError: true }),
    });
    if (!decision.retry) throw toHttpError(outcome, { service, operation, attempts: attempt, secrets });

    log.warn('http.retry', {
      attempt,
      delayMs: decision.delayMs,
      ...(outcome.kind === 'answer'
        ? { status: outcome.status }
        : { timedOut: outcome.timedOut, networkErrorCode: outcome.networkErrorCode }),
    });
    await sleep(decision.delayMs);
  }
}

function buildHeaders(given: Record<string, string> | undefined, hasBody: boolean): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json', ...given };
  const hasContentType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
  if (hasBody && !hasContentType) headers['content-type'] = 'application/json';
  return headers;
}

async function attemptOnce(
  doFetch: typeof fetch,
  url: string,
  init: { method: string; headers: Record<string, string>; body: string | undefined },
  timeoutMs: number,
  clock: Clock,
): Promise<AttemptOutcome> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    // `redirect: 'manual'`: a redirect would resend our API key header to wherever it points.
    const response = await doFetch(url, { ...init, redirect: 'manual', signal: controller.signal });
    const text = await response.text();
    return {
      kind: 'answer',
      status: response.status,
      text,
      retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after'), clock.now()),
    };
  } catch (error) {
    return { kind: 'no_answer', timedOut, networkErrorCode: timedOut ? undefined : networkErrorCode(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** `ECONNREFUSED`, `ECONNRESET`, `UND_ERR_SOCKET`…: the code only, never the message (it may hold the URL). */
function networkErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 3; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function parseAnswer<T>(
  text: string,
  status: number,
  options: RequestJsonOptions<T>,
  operation: string,
  attempts: number,
): T {
  const context: ErrorContext = { service: options.service, operation, status, attempts };
  let value: unknown;
  try {
    value = (options.parseBody ?? JSON.parse)(text);
  } catch {
    throw providerHttpError(
      `${options.service}_bad_response`,
      `${options.service} answered ${operation} with HTTP ${status} and a body that is not JSON; it may be a provider outage page.`,
      context,
    );
  }
  const result = options.schema.safeParse(value);
  if (!result.success) {
    // Paths and issue codes only: values from the body stay out of errors and logs.
    const issues = result.error.issues
      .slice(0, 10)
      .map((issue) => ({ path: issue.path.map(String).join('.'), code: issue.code }));
    const paths = issues.map((issue) => issue.path || '(root)').join(', ');
    throw providerHttpError(
      `${options.service}_bad_response`,
      `${options.service} answered ${operation} with HTTP ${status} and a body we do not recognise (${paths}).`,
      { ...context, issues },
    );
  }
  return result.data;
}

interface ErrorFacts {
  service: ProviderService;
  operation: string;
  attempts: number;
  secrets: string[];
}

function toHttpError(outcome: AttemptOutcome, facts: ErrorFacts): AppError {
  const { service, operation, attempts } = facts;
  if (outcome.kind === 'no_answer') {
    const why = outcome.timedOut ? 'timed out' : `failed (${outcome.networkErrorCode ?? 'network error'})`;
    return providerHttpError(
      `${service}_unavailable`,
      `${service} did not answer ${operation}: the last of ${attempts} attempt(s) ${why}.`,
      {
        service,
        operation,
        attempts,
        timedOut: outcome.timedOut,
        ...(outcome.networkErrorCode === undefined ? {} : { networkErrorCode: outcome.networkErrorCode }),
      },
    );
  }

  const { status } = outcome;
  const provider = providerFields(outcome.text, facts.secrets);
  const context: ErrorContext = { service, operation, status, attempts, ...provider };
  if (status === 429 || status >= 500 || status === 408) {
    return providerHttpError(
      `${service}_unavailable`,
      `${service} answered ${operation} with HTTP ${status} after ${attempts} attempt(s); try again later.`,
      outcome.retryAfterSeconds === undefined ? context : { ...context, retryAfterSeconds: outcome.retryAfterSeconds },
    );
  }
  const hint =
    status === 401 || status === 403
      ? ` Check the API key configured for ${service}.`
      : status >= 300 && status < 400
        ? ` Check the API base URL configured for ${service}: it answered with a redirect.`
        : ' The request was refused as sent; retrying it unchanged cannot help.';
  return providerHttpError(`${service}_rejected`, `${service} refused ${operation} with HTTP ${status}.${hint}`, context);
}

/** `code` and a short, redacted `message` from a JSON error body; nothing else of the body is kept. */
function providerFields(text: string, secrets: string[]): { providerCode?: string; providerMessage?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const { code, message } = parsed as { code?: unknown; message?: unknown };
  const out: { providerCode?: string; providerMessage?: string } = {};
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) out.providerCode = code;
  if (typeof message === 'string' && message !== '') out.providerMessage = redactProviderMessage(message, secrets);
  return out;
}

function redactProviderMessage(message: string, secrets: string[]): string {
  let out = message.slice(0, MAX_PROVIDER_MESSAGE_LENGTH * 4);
  for (const secret of secrets) out = out.split(secret).join('[REDACTED]');
  out = String(redact(out));
  return out.length > MAX_PROVIDER_MESSAGE_LENGTH ? `${out.slice(0, MAX_PROVIDER_MESSAGE_LENGTH)}…` : out;
}
