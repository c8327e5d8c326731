import * as z from 'zod';
import { PermanentError } from '../errors/index.js';
import { type ProviderClientOptions, type ProviderService, requestJson } from '../http/index.js';
import { parseJsonPreservingNumbers } from '../nowpayments/index.js';
import { canonicalAmount, isEchoedAmount } from './decimal-amount.js';
import { toChangeNowError, withChangeNowErrorShape } from './changenow-error.js';
import { parseChangeNowStatus, type ChangeNowStatus } from './changenow-status.js';
import { changeNowError } from './errors.js';

/** A swap direction as ChangeNow names it: lower-case tickers and networks (`eth`/`eth` → `usdt`/`trx`). */
export interface SwapPair {
  fromCurrency: string;
  fromNetwork: string;
  toCurrency: string;
  toNetwork: string;
}

/** `standard`: floating rate, the owner gets what the market gives. `fixed-rate`: needs a `rateId` from an estimate. */
export type ChangeNowFlow = 'standard' | 'fixed-rate';

export interface ChangeNowMinAmount {
  pair: SwapPair;
  flow: ChangeNowFlow;
  /** Smallest `fromAmount` ChangeNow accepts for the pair, canonical decimal text in whole `fromCurrency` units. */
  minAmount: string;
}

export interface ChangeNowEstimate {
  pair: SwapPair;
  flow: ChangeNowFlow;
  /** Canonical decimal text, whole units of `fromCurrency`. */
  fromAmount: string;
  /** What the payout address would receive, after ChangeNow's fees; canonical decimal text. */
  toAmount: string;
  /** For `fixed-rate` only; null for `standard`. */
  rateId: string | null;
  validUntil: Date | null;
}

export interface CreateExchangeInput {
  pair: SwapPair;
  /** Canonical decimal text, whole units of `fromCurrency` (e.g. `'0.0097'` ETH). Never a token count read as USD. */
  fromAmount: string;
  /** The owner's payout wallet on `toNetwork`. */
  address: string;
  /** Where ChangeNow returns the deposit if the swap fails: our host wallet on `fromNetwork`. Required. */
  refundAddress: string;
  /** Memo / destination tag for `address` on chains that need one (XRP, XLM, TON…). */
  extraId?: string;
  flow?: ChangeNowFlow;
  /** Required with `flow: 'fixed-rate'`. */
  rateId?: string;
  /**
   * Default false: after a 5xx or no answer the request is NOT repeated in-process, because ChangeNow may have
   * created the exchange already and has no idempotency key. Set true only when a second, unfunded exchange is
   * harmless to you (see `createExchange`). 429 is always retried (refused before any work).
   */
  isRetrySafe?: boolean;
}

export interface ChangeNowExchange {
  /** ChangeNow's exchange id, exactly as sent (never truncated). */
  id: string;
  pair: SwapPair;
  flow: ChangeNowFlow;
  /** Where to send `fromAmount` of `fromCurrency`. */
  payinAddress: string;
  payinExtraId: string | null;
  payoutAddress: string;
  refundAddress: string | null;
  /** Canonical decimal text. */
  fromAmount: string;
  /** ChangeNow's expected payout at creation; null when it did not say. Not what the owner finally gets. */
  toAmount: string | null;
}

export interface ChangeNowExchangeStatus {
  id: string;
  /** ChangeNow's `status` as sent, or `'unknown'` for a value this code does not know (`providerStatus` says which). */
  status: ChangeNowStatus | 'unknown';
  /** ChangeNow's `status` text exactly as sent, e.g. `'waiting'`. */
  providerStatus: string;
  pair: SwapPair;
  payinAddress: string;
  payoutAddress: string;
  refundAddress: string | null;
  /** Amounts are canonical decimal text; null means "not known yet" (ChangeNow sends null until it knows). */
  expectedAmountFrom: string | null;
  expectedAmountTo: string | null;
  /** What ChangeNow received; null until the deposit is seen. */
  amountFrom: string | null;
  /** What the owner received; null while the swap runs. Final only when `status` is `finished`. */
  amountTo: string | null;
  payinHash: string | null;
  payoutHash: string | null;
  refundHash: string | null;
  refundAmount: string | null;
  depositReceivedAt: Date | null;
  updatedAt: Date | null;
}

/** The ChangeNow calls the payout pipeline makes. */
export interface ChangeNowClient {
  /**
   * `GET /exchange/min-amount`: the smallest deposit ChangeNow accepts for the pair.
   * @throws PermanentError `changenow_pair_inactive`, `changenow_unauthorized`, `changenow_rejected`, …
   * @throws TransientError `changenow_unavailable` (no answer after retries, 429, 5xx), `changenow_bad_response`.
   */
  minAmount(pair: SwapPair, options?: { flow?: ChangeNowFlow }): Promise<ChangeNowMinAmount>;
  /**
   * `GET /exchange/estimated-amount` (type `direct`): what `fromAmount` would pay out. An answer without a
   * `toAmount` is `changenow_bad_response`: an estimate that does not estimate is of no use.
   * @throws PermanentError `changenow_amount_out_of_range`, `changenow_pair_inactive`, `invalid_amount`, …
   */
  estimate(pair: SwapPair, fromAmount: string, options?: { flow?: ChangeNowFlow }): Promise<ChangeNowEstimate>;
  /**
   * `POST /exchange`: creates an exchange and returns its deposit address.
   *
   * Not idempotent, and ChangeNow offers no idempotency key. After a 5xx or no answer the exchange may or may not
   * exist: the error is `changenow_unavailable` with `context.mayHaveCreated: true`, and nothing is repeated
   * in-process unless `isRetrySafe`. How a caller stays safe: an exchange only moves money when we fund it, so
   * persist the returned `id` and `payinAddress` once (a conditional update of the payout row) and fund only the
   * stored one. A retry after a lost answer then creates a second exchange that nobody funds; ChangeNow lets it
   * expire. Limitation: the orphan cannot be found by our payout id (the partner fields `userId`/`payload` that
   * could carry it must be enabled by ChangeNow, and listing exchanges needs a private key), so it is only visible
   * in ChangeNow's dashboard.
   *
   * @throws PermanentError `changenow_invalid_address`, `changenow_invalid_refund_address`,
   *   `changenow_amount_out_of_range`, `changenow_pair_inactive`, `changenow_rate_expired`, `invalid_exchange_request`
   *   (bad input, nothing sent), `changenow_exchange_mismatch` (the answer names another payout address, memo
   *   (`payoutExtraId`), currency or amount than asked: do not fund it; `context.exchangeId` names it). Amounts are
   *   compared as amounts (`isEchoedAmount`: ChangeNow writes them as JSON numbers, possibly with fewer decimals).
   */
  createExchange(input: CreateExchangeInput): Promise<ChangeNowExchange>;
  /**
   * `GET /exchange/by-id?id=…`: the exchange's current state. Safe to call any number of times.
   * @throws PermanentError `changenow_exchange_not_found`, `invalid_exchange_id` (nothing sent).
   * @throws TransientError `changenow_unavailable`, `changenow_bad_response` (including an answer for another id).
   */
  retrieveExchange(id: string): Promise<ChangeNowExchangeStatus>;
}

export type ChangeNowClientOptions = ProviderClientOptions;

const SERVICE: ProviderService = 'changenow';
/** ChangeNow ids are short alphanumeric strings (14 characters today); we keep them whole. */
const EXCHANGE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const TICKER = /^[a-z0-9]{1,20}$/;

// Bodies are read with parseJsonPreservingNumbers: every JSON number arrives as its exact source text.
const amountText = z.string().transform((text, ctx) => {
  try {
    return canonicalAmount(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a non-negative decimal amount' });
    return z.NEVER;
  }
});
const optionalAmount = amountText.nullish().transform((value) => value ?? null);
const optionalText = z.string().nullish().transform((value) => (value === '' || value === undefined ? null : value));
const optionalDate = z
  .string()
  .nullish()
  .transform((value) => {
    if (!value) return null;
    const date = new Date(value);
    return Number.isFinite(date.getTime()) ? date : null;
  });
const idSchema = z.string().regex(EXCHANGE_ID);

const MinAmountAnswerSchema = z.object({ minAmount: amountText });
const EstimateAnswerSchema = z.object({
  fromAmount: amountText,
  toAmount: amountText,
  rateId: optionalText,
  validUntil: optionalDate,
});
const CreateAnswerSchema = z.object({
  id: idSchema,
  payinAddress: z.string().min(1),
  payinExtraId: optionalText,
  payoutAddress: z.string().min(1),
  payoutExtraId: optionalText,
  refundAddress: optionalText,
  fromAmount: amountText,
  toAmount: optionalAmount,
  fromCurrency: z.string().optional(),
  toCurrency: z.string().optional(),
});
const StatusAnswerSchema = z.object({
  id: idSchema,
  status: z.string().min(1),
  fromCurrency: z.string(),
  fromNetwork: z.string(),
  toCurrency: z.string(),
  toNetwork: z.string(),
  payinAddress: z.string(),
  payoutAddress: z.string(),
  refundAddress: optionalText,
  expectedAmountFrom: optionalAmount,
  expectedAmountTo: optionalAmount,
  amountFrom: optionalAmount,
  amountTo: optionalAmount,
  payinHash: optionalText,
  payoutHash: optionalText,
  refundHash: optionalText,
  refundAmount: optionalAmount,
  depositReceivedAt: optionalDate,
  updatedAt: optionalDate,
});

/**
 * The ChangeNow API v2 adapter over `requestJson` (bounded retries, no call inside a DB transaction). Refusals
 * become specific `PermanentError` codes (see `ChangeNowRejectionCode`); no answer, 429 and 5xx become
 * `TransientError('changenow_unavailable')`. Amounts go out and come back as exact decimal text.
 */
export function createChangeNowClient(options: ChangeNowClientOptions): ChangeNowClient {
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  if (!/^https?:\/\//.test(apiUrl)) {
    throw changeNowError('invalid_client_config', 'createChangeNowClient: apiUrl must be an http(s) URL such as https://api.changenow.io/v2');
  }
  if (options.apiKey === '') throw changeNowError('invalid_client_config', 'createChangeNowClient: apiKey is empty; set CHANGENOW_API_KEY');
  const common = {
    service: SERVICE,
    headers: { 'x-changenow-api-key': options.apiKey },
    parseBody: parseJsonPreservingNumbers,
    timeoutMs: options.timeoutMs,
    maxAttempts: options.maxAttempts,
    fetch: withChangeNowErrorShape(options.fetch ?? fetch),
    sleep: options.sleep,
    logger: options.logger,
  };
  const get = async <T>(operation: string, path: string, query: Record<string, string>, schema: z.ZodType<T>) => {
    try {
      return await requestJson({ ...common, operation, method: 'GET', url: `${apiUrl}${path}?${new URLSearchParams(query)}`, schema });
    } catch (error) {
      throw toChangeNowError(error);
    }
  };

  return {
    async minAmount(pair, { flow = 'standard' } = {}) {
      checkPair(pair);
      const answer = await get('min_amount', '/exchange/min-amount', { ...pairQuery(pair), flow }, MinAmountAnswerSchema);
      return { pair: { ...pair }, flow, minAmount: answer.minAmount };
    },

    async estimate(pair, fromAmount, { flow = 'standard' } = {}) {
      checkPair(pair);
      const amount = requestAmount(fromAmount);
      const answer = await get(
        'estimate',
        '/exchange/estimated-amount',
        { ...pairQuery(pair), fromAmount: amount, flow, type: 'direct' },
        EstimateAnswerSchema,
      );
      return { pair: { ...pair }, flow, fromAmount: answer.fromAmount, toAmount: answer.toAmount, rateId: answer.rateId, validUntil: answer.validUntil };
    },

    async createExchange(input) {
      checkPair(input.pair);
      const fromAmount = requestAmount(input.fromAmount);
      const flow = input.flow ?? 'standard';
      for (const field of ['address', 'refundAddress'] as const) {
        if (typeof input[field] !== 'string' || input[field].trim() === '' || input[field] !== input[field].trim()) {
          throw invalidRequest(`${field} must be a non-empty address without surrounding spaces.`, { field });
        }
      }
      if (flow === 'fixed-rate' && !input.rateId) throw invalidRequest('A fixed-rate exchange needs the rateId of an estimate.', { field: 'rateId' });
      // Amounts go out as decimal strings written by us, never a float's text.
      const body = JSON.stringify({
        ...pairQuery(input.pair),
        fromAmount,
        toAmount: '',
        address: input.address,
        extraId: input.extraId ?? '',
        refundAddress: input.refundAddress,
        refundExtraId: '',
        flow,
        type: 'direct',
        rateId: input.rateId ?? '',
      });
      let answer: z.infer<typeof CreateAnswerSchema>;
      try {
        answer = await requestJson({
          ...common,
          operation: 'create_exchange',
          method: 'POST',
          url: `${apiUrl}/exchange`,
          body,
          schema: CreateAnswerSchema,
          isRetrySafe: input.isRetrySafe ?? false,
        });
      } catch (error) {
        // Only "no answer" or a 5xx leaves the outcome open; a 429 was refused before any work.
        const status = error instanceof Error ? (error as { context?: { status?: unknown } }).context?.status : undefined;
        throw toChangeNowError(error, status === 429 ? {} : { mayHaveCreated: true });
      }
      // The memo is compared exactly: a deposit without the right one may never reach the owner.
      const mismatch = [
        !sameAddress(answer.payoutAddress, input.address) && 'payoutAddress',
        (answer.payoutExtraId ?? '') !== (input.extraId ?? '') && 'payoutExtraId',
        flow === 'standard' && !isEchoedAmount(answer.fromAmount, fromAmount) && 'fromAmount',
        answer.fromCurrency !== undefined && answer.fromCurrency.toLowerCase() !== input.pair.fromCurrency && 'fromCurrency',
        answer.toCurrency !== undefined && answer.toCurrency.toLowerCase() !== input.pair.toCurrency && 'toCurrency',
      ].filter((field): field is string => typeof field === 'string');
      if (mismatch.length > 0) {
        throw changeNowError(
          'changenow_exchange_mismatch',
          `ChangeNow created exchange ${answer.id} with another ${mismatch.join(', ')} than requested; do not fund it.`,
          { exchangeId: answer.id, fields: mismatch },
        );
      }
      return {
        id: answer.id,
        pair: { ...input.pair },
        flow,
        payinAddress: answer.payinAddress,
        payinExtraId: answer.payinExtraId,
        payoutAddress: answer.payoutAddress,
        refundAddress: answer.refundAddress,
        fromAmount: answer.fromAmount,
        toAmount: answer.toAmount,
      };
    },

    async retrieveExchange(id) {
      if (typeof id !== 'string' || !EXCHANGE_ID.test(id)) {
        throw changeNowError('invalid_exchange_id', 'A ChangeNow exchange id is 1–64 letters, digits, - or _.', {
          length: typeof id === 'string' ? id.length : 0,
        });
      }
      const answer = await get(
        'retrieve_exchange',
        '/exchange/by-id',
        { id },
        StatusAnswerSchema.refine((value) => value.id === id, { message: 'id differs from the one asked for', path: ['id'] }),
      );
      return {
        id: answer.id,
        status: parseChangeNowStatus(answer.status),
        providerStatus: answer.status,
        pair: { fromCurrency: answer.fromCurrency, fromNetwork: answer.fromNetwork, toCurrency: answer.toCurrency, toNetwork: answer.toNetwork },
        payinAddress: answer.payinAddress,
        payoutAddress: answer.payoutAddress,
        refundAddress: answer.refundAddress,
        expectedAmountFrom: answer.expectedAmountFrom,
        expectedAmountTo: answer.expectedAmountTo,
        amountFrom: answer.amountFrom,
        amountTo: answer.amountTo,
        payinHash: answer.payinHash,
        payoutHash: answer.payoutHash,
        refundHash: answer.refundHash,
        refundAmount: answer.refundAmount,
        depositReceivedAt: answer.depositReceivedAt,
        updatedAt: answer.updatedAt,
      };
    },
  };
}

function pairQuery(pair: SwapPair): Record<keyof SwapPair, string> {
  return { fromCurrency: pair.fromCurrency, toCurrency: pair.toCurrency, fromNetwork: pair.fromNetwork, toNetwork: pair.toNetwork };
}

function checkPair(pair: SwapPair): void {
  for (const field of ['fromCurrency', 'fromNetwork', 'toCurrency', 'toNetwork'] as const) {
    if (typeof pair?.[field] !== 'string' || !TICKER.test(pair[field])) {
      throw invalidRequest(`${field} must be a lower-case ChangeNow ticker such as 'eth' or 'usdt'.`, { field });
    }
  }
}

/** The amount as it goes on the wire: canonical, and greater than zero. */
function requestAmount(text: string): string {
  let amount: string;
  try {
    amount = canonicalAmount(text);
  } catch {
    throw invalidRequest('fromAmount must be a decimal string such as "0.0097".', { field: 'fromAmount' });
  }
  if (amount === '0') throw invalidRequest('fromAmount must be greater than zero.', { field: 'fromAmount' });
  return amount;
}

function invalidRequest(message: string, context: Record<string, unknown>): PermanentError {
  return changeNowError('invalid_exchange_request', message, context);
}

/** EVM addresses may come back re-checksummed or lower-cased; every other format is compared exactly. */
function sameAddress(a: string, b: string): boolean {
  return /^0x[0-9a-fA-F]{40}$/.test(a) && /^0x[0-9a-fA-F]{40}$/.test(b) ? a.toLowerCase() === b.toLowerCase() : a === b;
}
