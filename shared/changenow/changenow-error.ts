import { AppError, PermanentError, TransientError, withContext } from '../errors/index.js';
import { changeNowError } from './errors.js';

/**
 * Our codes for ChangeNow's refusals. Each is a `PermanentError`: the same request gets the same answer.
 *
 * - `changenow_invalid_address`: the payout `address` is not valid for `toCurrency`/`toNetwork`.
 * - `changenow_invalid_refund_address`: `refundAddress` is not valid for `fromCurrency`/`fromNetwork`.
 * - `changenow_amount_out_of_range`: below the pair's minimum or above its maximum.
 * - `changenow_pair_inactive`: ChangeNow does not trade the pair now (it also says this for some tiny amounts).
 * - `changenow_rate_expired`: the fixed-rate `rateId` is unknown or expired.
 * - `changenow_exchange_not_found`: no exchange with that id.
 * - `changenow_unauthorized`: the API key is missing, wrong or not allowed this call.
 * - `changenow_invalid_request`: malformed or missing parameters (a bug on our side).
 * - `changenow_rejected`: any other refusal; `context.providerCode` names it when ChangeNow did.
 */
export type ChangeNowRejectionCode =
  | 'changenow_invalid_address'
  | 'changenow_invalid_refund_address'
  | 'changenow_amount_out_of_range'
  | 'changenow_pair_inactive'
  | 'changenow_rate_expired'
  | 'changenow_exchange_not_found'
  | 'changenow_unauthorized'
  | 'changenow_invalid_request'
  | 'changenow_rejected';

/** ChangeNow's `error` values (API v2 error body `{ error, message }`) we tell apart. */
export const CHANGENOW_ERROR_CODES: Readonly<Record<string, ChangeNowRejectionCode>> = {
  not_valid_address: 'changenow_invalid_address',
  not_valid_refund_address: 'changenow_invalid_refund_address',
  deposit_too_small: 'changenow_amount_out_of_range',
  out_of_range: 'changenow_amount_out_of_range',
  less_min_amount: 'changenow_amount_out_of_range',
  max_amount_exceeded: 'changenow_amount_out_of_range',
  pair_is_inactive: 'changenow_pair_inactive',
  fixed_rate_not_enabled: 'changenow_pair_inactive',
  rate_id_not_found_or_expired: 'changenow_rate_expired',
  not_found: 'changenow_exchange_not_found',
  transaction_not_found: 'changenow_exchange_not_found',
  unauthorized: 'changenow_unauthorized',
  invalid_api_key: 'changenow_unauthorized',
  not_valid_params: 'changenow_invalid_request',
};

const MESSAGES: Record<ChangeNowRejectionCode, string> = {
  changenow_invalid_address:
    'ChangeNow refused the payout address for this currency and network; ask the owner for a valid wallet address.',
  changenow_invalid_refund_address:
    'ChangeNow refused the refund address; check the host wallet address configured for the from-network.',
  changenow_amount_out_of_range:
    'ChangeNow refused the amount as outside the pair\'s range; check minAmount before creating the exchange.',
  changenow_pair_inactive: 'ChangeNow does not trade this pair right now; defer the payout and try later.',
  changenow_rate_expired: 'The fixed-rate quote expired; ask for a new estimate.',
  changenow_exchange_not_found: 'ChangeNow has no exchange with this id; check the stored exchange id.',
  changenow_unauthorized: 'ChangeNow refused the API key; check CHANGENOW_API_KEY.',
  changenow_invalid_request: 'ChangeNow refused the request parameters as malformed.',
  changenow_rejected: 'ChangeNow refused the request; retrying it unchanged cannot help.',
};

/**
 * Turns what `requestJson` threw for a ChangeNow call into our error: `changenow_rejected` becomes the specific
 * code from the provider's `error` (or the HTTP status), transient errors pass through with `extra` added to the
 * context. The context never holds the API key or a raw body: `requestJson` keeps only status, attempts, and a
 * redacted, shortened provider message.
 */
export function toChangeNowError(error: unknown, extra: Record<string, unknown> = {}): unknown {
  if (!(error instanceof AppError)) return error;
  if (error instanceof PermanentError && error.code === 'changenow_rejected') {
    const code = rejectionCode(error.context.providerCode, error.context.status);
    return changeNowError(code, MESSAGES[code], { ...error.context, ...extra }, error);
  }
  if (error instanceof TransientError && Object.keys(extra).length > 0) {
    return withContext(error, extra);
  }
  return error;
}

function rejectionCode(providerCode: unknown, status: unknown): ChangeNowRejectionCode {
  if (typeof providerCode === 'string' && Object.hasOwn(CHANGENOW_ERROR_CODES, providerCode)) {
    return CHANGENOW_ERROR_CODES[providerCode] as ChangeNowRejectionCode;
  }
  if (status === 401 || status === 403) return 'changenow_unauthorized';
  if (status === 404) return 'changenow_exchange_not_found';
  return 'changenow_rejected';
}

/**
 * Wraps `fetch` so a ChangeNow error body `{ "error": "...", "message": "..." }` reaches `requestJson` as
 * `{ "code": "...", "message": "..." }`, the shape it copies into `context.providerCode`. Only non-2xx answers are
 * touched; the status and headers are kept.
 */
export function withChangeNowErrorShape(doFetch: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await doFetch(input, init);
    if (response.ok) return response;
    const text = await response.text();
    let body = text;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        const { error, message, code } = parsed as { error?: unknown; message?: unknown; code?: unknown };
        if (code === undefined && typeof error === 'string') {
          body = JSON.stringify({ code: error, ...(typeof message === 'string' ? { message } : {}) });
        }
      }
    } catch {
      // Not JSON (an outage page): pass it on unchanged; requestJson keeps nothing of it.
    }
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
