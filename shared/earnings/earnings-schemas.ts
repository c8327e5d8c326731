import * as z from 'zod';
import { PAYOUT_STATES } from '../payouts/index.js';

/**
 * Query strings and answers of the earnings endpoints. Queries arrive as strings (URL query), so
 * the schemas check text and the list functions convert; answers carry money as
 * `{ asset, amount }` with `amount` an exact decimal string in whole units.
 */

export const PAYMENT_STATUSES = ['waiting', 'confirming', 'confirmed', 'sending', 'partially_paid', 'finished', 'failed', 'refunded', 'expired'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];
export const SUBSCRIPTION_STATUSES = ['active', 'expired'] as const;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

const listOf = (values: readonly string[], what: string) =>
  z
    .string()
    .refine((text) => text.split(',').every((value) => values.includes(value)), `must be one or more of ${values.join(', ')}, comma-separated`)
    .meta({ description: `${what}, comma-separated` });

const TIMESTAMP_MESSAGE = 'must be an ISO-8601 time with a zone, e.g. 2026-03-01T00:00:00Z';

/**
 * The text goes to PostgreSQL as given, and it reads less than ISO-8601 allows: years from 1 (there
 * is no year 0) and zone offsets up to ±15:59 (real ones stay within −12:00…+14:00).
 */
function isReadableByPostgres(text: string): boolean {
  const offsetHours = /([+-])(\d{2}):?\d{2}$/.exec(text)?.[2];
  return !text.startsWith('0000') && (offsetHours === undefined || Number(offsetHours) <= 15);
}

const Timestamp = z.iso.datetime({ offset: true, message: TIMESTAMP_MESSAGE }).refine(isReadableByPostgres, TIMESTAMP_MESSAGE);

const PageQuery = {
  /** From the previous page's `nextCursor`. */
  cursor: z.string().max(400).optional(),
  limit: z
    .string()
    .regex(/^[1-9]\d{0,2}$/, `must be a whole number 1..${MAX_PAGE_SIZE}`)
    .refine((text) => Number(text) <= MAX_PAGE_SIZE, `must be a whole number 1..${MAX_PAGE_SIZE}`)
    .optional()
    .meta({ description: `Items per page, 1..${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE}` }),
};

const TimeRange = {
  /** Inclusive lower bound on created_at. */
  from: Timestamp.optional(),
  /** Exclusive upper bound on created_at. */
  to: Timestamp.optional(),
};

const ChannelFilter = { channelId: z.string().max(64).optional().meta({ description: 'Only this channel (ch_…)' }) };

export const PaymentListQuerySchema = z.object({ ...ChannelFilter, status: listOf(PAYMENT_STATUSES, 'Payment statuses').optional(), ...TimeRange, ...PageQuery });
export type PaymentListQuery = z.infer<typeof PaymentListQuerySchema>;

export const SubscriptionListQuerySchema = z.object({ ...ChannelFilter, status: listOf(SUBSCRIPTION_STATUSES, 'Subscription statuses').optional(), ...PageQuery });
export type SubscriptionListQuery = z.infer<typeof SubscriptionListQuerySchema>;

export const PayoutListQuerySchema = z.object({ ...ChannelFilter, state: listOf(PAYOUT_STATES, 'Payout states').optional(), ...TimeRange, ...PageQuery });
export type PayoutListQuery = z.infer<typeof PayoutListQuerySchema>;

/** Filters of the CSV exports: the list filters without paging. */
export const PaymentExportQuerySchema = PaymentListQuerySchema.omit({ cursor: true, limit: true });
export type PaymentExportQuery = z.infer<typeof PaymentExportQuerySchema>;
export const PayoutExportQuerySchema = PayoutListQuerySchema.omit({ cursor: true, limit: true });
export type PayoutExportQuery = z.infer<typeof PayoutExportQuerySchema>;

// ---- answers ----

export const AmountSchema = z.object({
  asset: z.string().meta({ example: 'ETH' }),
  amount: z.string().meta({ description: 'Exact decimal string in whole units', example: '0.0029' }),
});
export type AmountResource = z.infer<typeof AmountSchema>;

const SubscriberSchema = z.object({ telegramUserId: z.string(), username: z.string().nullable() });

export const PaymentResourceSchema = z.object({
  id: z.string().meta({ example: 'pay_Ehz5dX8hQSeMc0Q8m0Q2Xw' }),
  channelId: z.string(),
  kind: z.enum(['subscription', 'donation']),
  status: z.enum(PAYMENT_STATUSES),
  /** True once the payment counted as paid (finished, or partially paid within the tolerance). */
  isSettled: z.boolean(),
  priceUsd: z.string(),
  durationDays: z.int().nullable(),
  subscriber: SubscriberSchema,
  /** What the subscriber paid, as the processor reports it (its lower-case ticker). */
  paid: z.object({ currency: z.string().nullable(), amount: z.string().nullable(), actuallyPaid: z.string().nullable() }),
  /** What reached us after the processor's fee, then the platform fee and the owner's share of it. */
  outcome: AmountSchema.nullable(),
  platformFee: AmountSchema.nullable(),
  ownerNet: AmountSchema.nullable(),
  createdAt: z.string(),
  settledAt: z.string().nullable(),
});
export type PaymentResource = z.infer<typeof PaymentResourceSchema>;

export const SubscriptionResourceSchema = z.object({
  id: z.string().meta({ example: 'sub_Ehz5dX8hQSeMc0Q8m0Q2Xw' }),
  channelId: z.string(),
  subscriber: SubscriberSchema,
  status: z.enum(SUBSCRIPTION_STATUSES),
  expiresAt: z.string(),
  /** Settled payments that extended it. */
  periodCount: z.int(),
  createdAt: z.string(),
  expiredAt: z.string().nullable(),
  removedAt: z.string().nullable(),
});
export type SubscriptionResource = z.infer<typeof SubscriptionResourceSchema>;

export const PayoutBreakdownSchema = z
  .object({
    /** The asset the payout left the hot wallet in; every amount below is in it. */
    asset: z.string(),
    /** `payment`: an instant payout of one payment, fees its own. `balance`: a claim of the accumulated balance; fees were taken per payment. */
    basis: z.enum(['payment', 'balance']),
    gross: z.string(),
    processorFee: z.string(),
    platformFee: z.string(),
    /** What left the hot wallet for the owner: gross − processorFee − platformFee. */
    sent: z.string(),
    /** Value the exchange kept against its own estimate, in the sent asset at the estimate's rate; null until the exchange finished. */
    swapSpread: z.string().nullable(),
    /** Network fee charged to the owner (the platform pays gas today: always 0). */
    networkFee: z.string(),
    /** Gas the platform paid for the transfer (in ETH, whatever the payout asset); not deducted from the owner. Null until the transfer confirmed. */
    platformPaidNetworkFee: AmountSchema.nullable(),
    /** gross − processorFee − platformFee − swapSpread − networkFee; null until known. */
    net: z.string().nullable(),
  })
  .meta({ description: 'All amounts in `asset`: net = gross − processorFee − platformFee − swapSpread − networkFee' });
export type PayoutBreakdown = z.infer<typeof PayoutBreakdownSchema>;

export const PayoutResourceSchema = z.object({
  id: z.string().meta({ example: 'po_Ehz5dX8hQSeMc0Q8m0Q2Xw' }),
  channelId: z.string(),
  /** instant: one payment's net; threshold: parked USDT at the owner's threshold; balance: what an instant channel's owner had on their balance (returned payouts, top-ups, a strategy switch). */
  kind: z.enum(['instant', 'threshold', 'balance']),
  state: z.enum(PAYOUT_STATES),
  /** The payment an instant payout pays out. */
  paymentId: z.string().nullable(),
  /** Where it goes: a copy taken when the payout was created, never changed by later channel edits. */
  destination: z.object({ currency: z.string(), network: z.string(), wallet: z.string(), extraId: z.string().nullable() }),
  breakdown: PayoutBreakdownSchema,
  /** What the owner receives in the destination currency, as the exchange reports it. */
  delivered: z.object({ estimated: z.string().nullable(), received: z.string().nullable() }),
  transactionHashes: z.object({
    /** Our transfer out of the hot wallet. */
    transfer: z.string().nullable(),
    /** The exchange's transaction to the owner's wallet (or our transfer when no swap was needed). */
    payout: z.string().nullable(),
  }),
  failureCode: z.string().nullable(),
  requestedAt: z.string(),
  completedAt: z.string().nullable(),
});
export type PayoutResource = z.infer<typeof PayoutResourceSchema>;

export const BalancesResourceSchema = z.object({
  /** Per asset, over all the account's channels (deleted ones included: their balance is still owed). */
  totals: z.array(z.object({ asset: z.string(), available: z.string(), inPayouts: z.string() })),
  channels: z.array(
    z.object({
      channelId: z.string(),
      /** `available`: owed and not yet claimed. `inPayouts`: claimed by payouts (or a conversion batch) still on their way. */
      balances: z.array(z.object({ asset: z.string(), available: z.string(), inPayouts: z.string() })),
    }),
  ),
});
export type BalancesResource = z.infer<typeof BalancesResourceSchema>;

export const REVENUE_INTERVALS = ['day', 'week', 'month'] as const;
export type RevenueInterval = (typeof REVENUE_INTERVALS)[number];

export const RevenueQuerySchema = z.object({
  ...ChannelFilter,
  interval: z.enum(REVENUE_INTERVALS).optional().meta({ description: 'Bucket size, UTC (weeks start on Monday). Default day' }),
  /** Inclusive; default: 30 days, 26 weeks or 12 months before `to`. */
  from: Timestamp.optional(),
  /** Exclusive; default now. */
  to: Timestamp.optional(),
});
export type RevenueQuery = z.infer<typeof RevenueQuerySchema>;

export const RevenueResourceSchema = z.object({
  interval: z.enum(REVENUE_INTERVALS),
  from: z.string(),
  to: z.string(),
  /** What subscribers paid (the checkout price in USD) for payments settled in each bucket, refunds left out; before fees. */
  points: z.array(z.object({ start: z.string(), revenueUsd: z.string(), payments: z.int() })),
  totalUsd: z.string(),
  payments: z.int(),
});
export type RevenueResource = z.infer<typeof RevenueResourceSchema>;

export const ChannelFiguresResourceSchema = z.object({
  channels: z.array(
    z.object({
      channelId: z.string(),
      /** Subscriptions active and unexpired now. */
      activeSubscribers: z.int(),
      /** USD paid for payments settled in the last 30 days, refunds left out, before fees. */
      revenue30DaysUsd: z.string(),
      nextPayout: z.discriminatedUnion('strategy', [
        z.object({
          strategy: z.literal('instant'),
          /** Payouts of this channel on their way (created, converting, sending or held). */
          inFlight: z.int(),
        }),
        z.object({
          strategy: z.literal('threshold'),
          thresholdUsd: z.string(),
          /** What the hourly run would pay from now, in USD (parked USDT plus ETH still to park at its invoice rate), rounded down. */
          balanceUsd: z.string(),
          /** Whole percent of the threshold, rounded down. */
          percent: z.int(),
          inFlight: z.int(),
        }),
      ]),
    }),
  ),
});
export type ChannelFiguresResource = z.infer<typeof ChannelFiguresResourceSchema>;

export const pageSchema = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
