import * as z from 'zod';
import { PermanentError } from '../errors/index.js';
import { formatUnits, parseUnits } from '../money/index.js';
import { nowPaymentsError } from './errors.js';

/**
 * NowPayments payment statuses, in the order a successful payment passes through them, then the other endings.
 * `waiting` (no funds seen) → `confirming` (seen on chain) → `confirmed` → `sending` (to the merchant) → `finished`;
 * `partially_paid` (less than `pay_amount` arrived), `failed`, `refunded`, `expired` (nothing paid in time).
 * Source: NowPayments API docs, "Get payment status" and "Create payment".
 */
export const NOWPAYMENTS_STATUSES = [
  'waiting',
  'confirming',
  'confirmed',
  'sending',
  'partially_paid',
  'finished',
  'failed',
  'refunded',
  'expired',
] as const;

export type NowPaymentsStatus = (typeof NOWPAYMENTS_STATUSES)[number];

export function isNowPaymentsStatus(value: unknown): value is NowPaymentsStatus {
  return typeof value === 'string' && (NOWPAYMENTS_STATUSES as readonly string[]).includes(value);
}

/**
 * A NowPayments payment (IPN body or `GET /v1/payment/{id}` answer) in our vocabulary. Amounts are canonical plain
 * decimal text: no exponent, no trailing fraction zeros, no sign (`'0.0000001'`, `'2.5'`, `'0'`), exactly the value
 * NowPayments sent. Read them with `parseUnits(text, decimals)`.
 */
export interface NowPaymentsPayment {
  /** NowPayments sends a number; kept as its decimal text. */
  paymentId: string;
  invoiceId: string | null;
  /** `'unknown'` for a status this code does not know; `rawStatus` then says what was sent. */
  status: NowPaymentsStatus | 'unknown';
  /** `payment_status` exactly as sent. */
  rawStatus: string;
  orderId: string | null;
  orderDescription: string | null;
  /** The invoice price, in `priceCurrency` (USD for our invoices). */
  priceAmount: string;
  /** Lower-case (`'usd'`). */
  priceCurrency: string;
  /** What the payer was asked to send, in `payCurrency`. */
  payAmount: string | null;
  /** What arrived so far, in `payCurrency`. */
  actuallyPaid: string | null;
  /** NowPayments' fiat value of `actuallyPaid`, in `priceCurrency`; often `'0'` in practice. */
  actuallyPaidAtFiat: string | null;
  /** Lower-case ticker as sent, network suffix included (`'eth'`, `'usdttrc20'`). */
  payCurrency: string | null;
  payAddress: string | null;
  /** What the merchant receives (or will), in `outcomeCurrency`, NowPayments' fee already taken. */
  outcomeAmount: string | null;
  /** Lower-case. */
  outcomeCurrency: string | null;
  /** From `created_at` (ISO text or epoch milliseconds); IPNs often leave it out. */
  createdAt: Date | null;
  /** From `updated_at`: ISO text in API answers, epoch milliseconds in IPNs. */
  updatedAt: Date | null;
}

/** Amounts with more fraction digits than this are refused (no real asset comes near; wei has 18). */
export const MAX_AMOUNT_DECIMALS = 36;

type Ctx = z.RefinementCtx;

function fail(ctx: Ctx, message: string): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

/**
 * A non-negative decimal amount sent as a JSON number, a numeric string (exponent allowed) or a number string kept by
 * `parseJsonPreservingNumbers`, as canonical plain decimal text. Exact: the text is read by `parseUnits`, never by
 * `Number()`.
 */
function toCanonicalAmount(value: unknown, ctx: Ctx): string {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return fail(ctx, 'must be a finite number');
    // Integers past 2^53 were already rounded by JSON.parse; a long fraction may have been too, which we cannot see:
    // callers that care parse with parseJsonPreservingNumbers.
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) return fail(ctx, 'lost precision as a JSON number');
    text = String(value);
  } else {
    return fail(ctx, 'must be a decimal number');
  }
  let units: bigint;
  try {
    units = parseUnits(text, MAX_AMOUNT_DECIMALS);
  } catch (error) {
    const code = error instanceof PermanentError ? error.code : 'invalid_amount';
    return fail(ctx, code === 'too_many_decimals' ? `has more than ${MAX_AMOUNT_DECIMALS} decimals` : 'must be a decimal number');
  }
  if (units < 0n) return fail(ctx, 'must not be negative');
  return formatUnits(units, MAX_AMOUNT_DECIMALS);
}

const Amount = z.unknown().transform((value, ctx) => toCanonicalAmount(value, ctx));
const OptionalAmount = z.unknown().optional().transform((value, ctx) =>
  value === undefined || value === null ? null : toCanonicalAmount(value, ctx),
);

/** A NowPayments id: a JSON number (or its preserved text) of decimal digits, kept as text. */
function toIdText(value: unknown, ctx: Ctx): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) return fail(ctx, 'must be a whole number below 2^53');
    return String(value);
  }
  if (typeof value === 'string' && /^\d{1,30}$/.test(value)) return value;
  return fail(ctx, 'must be a number of decimal digits');
}

const Id = z.unknown().transform((value, ctx) => toIdText(value, ctx));
const OptionalId = z
  .unknown()
  .optional()
  .transform((value, ctx) => (value === undefined || value === null ? null : toIdText(value, ctx)));

const OptionalText = z
  .string()
  .max(4096)
  .nullish()
  .transform((value) => value ?? null);

const CURRENCY = /^[a-z0-9]{1,32}$/;
const Currency = z
  .string()
  .transform((value) => value.toLowerCase())
  .refine((value) => CURRENCY.test(value), { message: 'must be a currency ticker' });
const OptionalCurrency = z
  .string()
  .nullish()
  .transform((value, ctx) => {
    if (value === undefined || value === null) return null;
    const lower = value.toLowerCase();
    return CURRENCY.test(lower) ? lower : fail(ctx, 'must be a currency ticker');
  });

/** ISO-8601 text, or epoch milliseconds as a number or digit string (IPNs send `updated_at: 1719211088600`). */
// `.optional()` before the transform: zod 4 treats a transformed z.unknown() as a required key.
const OptionalTimestamp = z.unknown().optional().transform((value, ctx) => {
  if (value === undefined || value === null) return null;
  let ms: number;
  if (typeof value === 'number' || (typeof value === 'string' && /^\d{1,15}$/.test(value))) {
    ms = Number(value);
  } else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) {
    ms = Date.parse(value);
  } else {
    return fail(ctx, 'must be an ISO-8601 time or epoch milliseconds');
  }
  if (!Number.isSafeInteger(ms) || ms < 0) return fail(ctx, 'must be an ISO-8601 time or epoch milliseconds');
  return new Date(ms);
});

/** The fields of a NowPayments payment we read; others are ignored. */
export const NowPaymentsPaymentSchema = z
  .object({
    payment_id: Id,
    invoice_id: OptionalId,
    payment_status: z.string().min(1).max(64),
    order_id: OptionalText,
    order_description: OptionalText,
    price_amount: Amount,
    price_currency: Currency,
    pay_amount: OptionalAmount,
    actually_paid: OptionalAmount,
    actually_paid_at_fiat: OptionalAmount,
    pay_currency: OptionalCurrency,
    pay_address: OptionalText,
    outcome_amount: OptionalAmount,
    outcome_currency: OptionalCurrency,
    created_at: OptionalTimestamp,
    updated_at: OptionalTimestamp,
  })
  .transform((raw): NowPaymentsPayment => {
    const status = raw.payment_status.toLowerCase();
    return {
      paymentId: raw.payment_id,
      invoiceId: raw.invoice_id,
      status: isNowPaymentsStatus(status) ? status : 'unknown',
      rawStatus: raw.payment_status,
      orderId: raw.order_id,
      orderDescription: raw.order_description,
      priceAmount: raw.price_amount,
      priceCurrency: raw.price_currency,
      payAmount: raw.pay_amount,
      actuallyPaid: raw.actually_paid,
      actuallyPaidAtFiat: raw.actually_paid_at_fiat,
      payCurrency: raw.pay_currency,
      payAddress: raw.pay_address,
      outcomeAmount: raw.outcome_amount,
      outcomeCurrency: raw.outcome_currency,
      createdAt: raw.created_at,
      updatedAt: raw.updated_at,
    };
  });

/**
 * Reads a NowPayments payment from a parsed IPN body or API answer. Best fed by `parseJsonPreservingNumbers` (amounts
 * then arrive exact); `JSON.parse` output works too, with the usual double-rounding caveat for long fractions.
 *
 * @throws PermanentError `invalid_payment_payload` naming every bad field in `context.fields` (with a reason per field
 *   in `context.issues`); values themselves are never copied into the error.
 */
export function parseNowPaymentsPayment(payload: unknown): NowPaymentsPayment {
  const result = NowPaymentsPaymentSchema.safeParse(payload);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || '(root)',
    reason: issue.code === 'custom' ? issue.message : issue.code,
  }));
  const fields = [...new Set(issues.map((issue) => issue.field))];
  throw nowPaymentsError(
    'invalid_payment_payload',
    `The NowPayments payment is missing or has invalid fields: ${fields.join(', ')}.`,
    { fields, issues },
  );
}
