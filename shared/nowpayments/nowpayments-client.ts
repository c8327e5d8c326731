import * as z from 'zod';
import { type AppError, PermanentError } from '../errors/index.js';
import { type ProviderClientOptions, type ProviderService, requestJson } from '../http/index.js';
import { formatUnits } from '../money/index.js';
import { parseJsonPreservingNumbers } from './json-preserving-numbers.js';
import { parseNowPaymentsPayment, type NowPaymentsPayment } from './nowpayments-payment.js';
import { nowPaymentsError } from './errors.js';

/** An invoice to create; the price is always in US dollars. */
export interface CreateInvoiceInput {
  /** The price in US cents, greater than zero. */
  priceCents: bigint;
  /** Our id for the order (a public checkout id), echoed back in every IPN as `order_id`. */
  orderId: string;
  /** Shown to the payer on the NowPayments page. */
  orderDescription: string;
  /** Where NowPayments POSTs IPNs for payments of this invoice. */
  ipnCallbackUrl: string;
  /** Where the payer goes after paying. */
  successUrl: string;
  /** Where the payer goes after a failed or cancelled payment. */
  cancelUrl: string;
}

export interface NowPaymentsInvoice {
  /** NowPayments' invoice id, decimal digits. */
  invoiceId: string;
  /** The hosted payment page to send the payer to. */
  invoiceUrl: string;
  orderId: string;
  createdAt: Date | null;
}

/** The NowPayments calls we make. */
export interface NowPaymentsClient {
  /**
   * `POST /v1/invoice`: a hosted payment page for `priceCents` US cents, the coin left for the payer to choose.
   * Retried on 5xx and no answer: a duplicate invoice is harmless, since only the one we return is ever shown.
   *
   * @throws PermanentError `invalid_invoice_request` (bad input, nothing sent), `nowpayments_rejected` (4xx: bad key,
   *   invalid field; `context.providerCode` / `providerMessage` say which).
   * @throws TransientError `nowpayments_unavailable` (no answer, 429, 5xx), `nowpayments_bad_response`.
   */
  createInvoice(input: CreateInvoiceInput): Promise<NowPaymentsInvoice>;
  /**
   * `GET /v1/payment/{id}`: the provider's current view of a payment, for reconciling lost or late IPNs.
   *
   * @throws PermanentError `invalid_payment_id` (not decimal digits, nothing sent), `nowpayments_rejected` (4xx,
   *   including an unknown id).
   * @throws TransientError `nowpayments_unavailable`, `nowpayments_bad_response` (a body that is not a payment, or a
   *   different payment than asked for).
   */
  retrievePayment(paymentId: string): Promise<NowPaymentsPayment>;
}

export type NowPaymentsClientOptions = ProviderClientOptions;

const SERVICE: ProviderService = 'nowpayments';
const DIGITS = /^\d{1,30}$/;

function idText(value: unknown, ctx: z.RefinementCtx): string {
  if (typeof value === 'string' && DIGITS.test(value)) return value;
  ctx.addIssue({ code: 'custom', message: 'must be decimal digits' });
  return z.NEVER;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

// Bodies are read with parseJsonPreservingNumbers, so every JSON number arrives here as its source text.
const InvoiceAnswerSchema = z.object({
  id: z.unknown().transform(idText),
  invoice_url: z.string().refine(isHttpUrl, { message: 'must be an http(s) URL' }),
  order_id: z.string().nullish(),
  created_at: z.string().nullish(),
});

const PaymentAnswerSchema = z.unknown().transform((value, ctx) => {
  try {
    return parseNowPaymentsPayment(value);
  } catch (error) {
    const fields = error instanceof PermanentError ? (error.context.fields as string[] | undefined) : undefined;
    for (const field of fields ?? ['(root)']) ctx.addIssue({ code: 'custom', message: 'invalid', path: [field] });
    return z.NEVER;
  }
});

function invalidInput(code: 'invalid_invoice_request' | 'invalid_payment_id', message: string, context: Record<string, unknown>): AppError {
  return nowPaymentsError(code, message, context);
}

/**
 * The NowPayments adapter: invoices and payment lookups over `requestJson` (bounded retries, no call inside a DB
 * transaction, 4xx → `nowpayments_rejected`, no answer / 429 / 5xx → `nowpayments_unavailable`).
 */
export function createNowPaymentsClient(options: NowPaymentsClientOptions): NowPaymentsClient {
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  if (!isHttpUrl(apiUrl)) {
    throw nowPaymentsError('invalid_client_config', 'createNowPaymentsClient: apiUrl must be an http(s) URL such as https://api.nowpayments.io/v1');
  }
  if (options.apiKey === '') throw nowPaymentsError('invalid_client_config', 'createNowPaymentsClient: apiKey is empty; set NOWPAYMENTS_API_KEY');
  const common = {
    service: SERVICE,
    headers: { 'x-api-key': options.apiKey },
    parseBody: parseJsonPreservingNumbers,
    timeoutMs: options.timeoutMs,
    maxAttempts: options.maxAttempts,
    fetch: options.fetch,
    sleep: options.sleep,
    logger: options.logger,
  };

  return {
    async createInvoice(input) {
      if (typeof input.priceCents !== 'bigint' || input.priceCents <= 0n) {
        throw invalidInput('invalid_invoice_request', 'An invoice price must be a positive number of cents.', {
          priceCents: String(input.priceCents),
        });
      }
      for (const field of ['orderId', 'orderDescription', 'ipnCallbackUrl', 'successUrl', 'cancelUrl'] as const) {
        if (typeof input[field] !== 'string' || input[field] === '') {
          throw invalidInput('invalid_invoice_request', `${field} must be a non-empty string.`, { field });
        }
      }
      // The body text is written here, not by JSON.stringify of a number: formatUnits(1999n, 2) is the exact decimal
      // text "19.99", so the JSON number NowPayments reads is exactly the price. A price with 2 decimals is exact in
      // decimal text; only a float on our side could have rounded it, and none is involved.
      const body =
        `{"price_amount":${formatUnits(input.priceCents, 2)},"price_currency":"usd",` +
        `"order_id":${JSON.stringify(input.orderId)},"order_description":${JSON.stringify(input.orderDescription)},` +
        `"ipn_callback_url":${JSON.stringify(input.ipnCallbackUrl)},"success_url":${JSON.stringify(input.successUrl)},` +
        `"cancel_url":${JSON.stringify(input.cancelUrl)},"is_fixed_rate":false,"is_fee_paid_by_user":false}`;
      const answer = await requestJson({
        ...common,
        operation: 'create_invoice',
        method: 'POST',
        url: `${apiUrl}/invoice`,
        body,
        // A repeated POST at worst makes a second invoice that nobody is shown, so nobody pays it.
        isRetrySafe: true,
        schema: InvoiceAnswerSchema.refine((value) => (value.order_id ?? input.orderId) === input.orderId, {
          message: 'order_id differs from the one sent',
          path: ['order_id'],
        }),
      });
      const createdAt = answer.created_at ? new Date(answer.created_at) : null;
      return {
        invoiceId: answer.id,
        invoiceUrl: answer.invoice_url,
        orderId: input.orderId,
        createdAt: createdAt !== null && Number.isFinite(createdAt.getTime()) ? createdAt : null,
      };
    },

    async retrievePayment(paymentId) {
      if (typeof paymentId !== 'string' || !DIGITS.test(paymentId)) {
        throw invalidInput('invalid_payment_id', 'A NowPayments payment id is a string of decimal digits.', {
          length: typeof paymentId === 'string' ? paymentId.length : 0,
        });
      }
      return requestJson({
        ...common,
        operation: 'retrieve_payment',
        method: 'GET',
        url: `${apiUrl}/payment/${paymentId}`,
        schema: PaymentAnswerSchema.refine((payment) => payment.paymentId === paymentId, {
          message: 'payment_id differs from the one asked for',
          path: ['payment_id'],
        }),
      });
    },
  };
}
