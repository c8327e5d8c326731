import * as z from 'zod';
import {
  BalancesResourceSchema,
  ChannelFiguresResourceSchema,
  PaymentExportQuerySchema,
  PaymentListQuerySchema,
  PaymentResourceSchema,
  PayoutExportQuerySchema,
  PayoutListQuerySchema,
  PayoutResourceSchema,
  RevenueQuerySchema,
  RevenueResourceSchema,
  SubscriptionListQuerySchema,
  SubscriptionResourceSchema,
  exportPaymentsCsv,
  exportPayoutsCsv,
  listBalances,
  listChannelFigures,
  listPayments,
  listPayouts,
  listSubscriptions,
  pageSchema,
  retrievePayout,
  revenueOverTime,
} from '../earnings/index.js';
import { defineRoute, type RouteDefinition } from './route-definition.js';

const HOUR = 3600;

/**
 * A CSV file inside JSON: the SPA fetches with the bearer token and saves `csv` as `filename`
 * (a plain link could not carry the token). `csv` is RFC 4180 text with CRLF line ends.
 */
const CsvExportSchema = z.object({
  filename: z.string().meta({ example: 'payments-2026-03-01.csv' }),
  contentType: z.literal('text/csv; charset=utf-8'),
  csv: z.string(),
});

const exportLimits = [{ name: 'earnings-export-account', key: 'account' as const, limit: 30, windowSeconds: HOUR }];

const csvFile = (kind: string, now: Date, csv: string) => ({ filename: `${kind}-${now.toISOString().slice(0, 10)}.csv`, contentType: 'text/csv; charset=utf-8' as const, csv });

/** Earnings: balances, payments, subscriptions, payouts with their breakdown, CSV exports (each audited). Read-only otherwise. */
export const earningsRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/balances',
    operationId: 'listBalances',
    summary: 'What you are owed per asset, per channel and in total',
    tags: ['earnings'],
    auth: 'bearer',
    response: { status: 200, description: 'Balances', schema: BalancesResourceSchema },
    handler: async ({ auth, deps }) => ({ body: await listBalances(deps, { accountId: auth.accountId }) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/revenue',
    operationId: 'retrieveRevenue',
    summary: 'What subscribers paid over time, in USD buckets (day, week or month, UTC)',
    description:
      'The checkout price of every payment settled in each bucket (refunds left out, donations in, before fees), every bucket from `from` to `to` present (empty ones as 0.00). Defaults: `interval=day`, `to` now, `from` so that the last 30 days, 26 weeks or 12 months are shown.',
    tags: ['earnings'],
    auth: 'bearer',
    query: RevenueQuerySchema,
    response: { status: 200, description: 'The series', schema: RevenueResourceSchema },
    errors: { 400: 'validation_failed (an inverted range, or more than 732 buckets)', 404: 'channel_not_found (channelId filter)' },
    handler: async ({ auth, query, deps }) => ({ body: await revenueOverTime(deps, { accountId: auth.accountId }, query) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/channel-figures',
    operationId: 'listChannelFigures',
    summary: 'Per live channel: subscribers now, revenue over 30 days, where the next payout stands',
    tags: ['earnings'],
    auth: 'bearer',
    response: { status: 200, description: 'One entry per live channel, oldest first', schema: ChannelFiguresResourceSchema },
    handler: async ({ auth, deps }) => ({ body: await listChannelFigures(deps, { accountId: auth.accountId }) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/payments',
    operationId: 'listPayments',
    summary: 'Payments to your channels, newest first (cursor pages)',
    tags: ['earnings'],
    auth: 'bearer',
    query: PaymentListQuerySchema,
    response: { status: 200, description: 'One page; pass nextCursor as cursor for the next', schema: pageSchema(PaymentResourceSchema) },
    errors: { 404: 'channel_not_found (channelId filter)' },
    handler: async ({ auth, query, deps }) => ({ body: await listPayments(deps, { accountId: auth.accountId }, query) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/subscriptions',
    operationId: 'listSubscriptions',
    summary: 'Subscriptions to your channels, newest first (cursor pages)',
    tags: ['earnings'],
    auth: 'bearer',
    query: SubscriptionListQuerySchema,
    response: { status: 200, description: 'One page', schema: pageSchema(SubscriptionResourceSchema) },
    errors: { 404: 'channel_not_found (channelId filter)' },
    handler: async ({ auth, query, deps }) => ({ body: await listSubscriptions(deps, { accountId: auth.accountId }, query) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/payouts',
    operationId: 'listPayouts',
    summary: 'Payouts to you with their breakdown, newest first (cursor pages)',
    tags: ['earnings'],
    auth: 'bearer',
    query: PayoutListQuerySchema,
    response: { status: 200, description: 'One page', schema: pageSchema(PayoutResourceSchema) },
    errors: { 404: 'channel_not_found (channelId filter)' },
    handler: async ({ auth, query, deps }) => ({ body: await listPayouts(deps, { accountId: auth.accountId }, query) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/payouts/{payoutId}',
    operationId: 'retrievePayout',
    summary: 'One payout with its breakdown and transaction hashes',
    tags: ['earnings'],
    auth: 'bearer',
    params: z.object({ payoutId: z.string().max(64).meta({ description: 'The payout id (po_…)' }) }),
    response: { status: 200, description: 'The payout', schema: PayoutResourceSchema },
    errors: { 404: 'payout_not_found (also for another account’s payout)' },
    handler: async ({ auth, params, deps }) => ({ body: await retrievePayout(deps, { accountId: auth.accountId }, params.payoutId) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/exports/payments',
    operationId: 'exportPayments',
    summary: 'Payments as a CSV file, with the list filters',
    tags: ['earnings'],
    auth: 'bearer',
    query: PaymentExportQuerySchema,
    response: { status: 200, description: 'The CSV file', schema: CsvExportSchema },
    errors: { 404: 'channel_not_found', 422: 'export_too_large: choose a shorter date range' },
    rateLimits: exportLimits,
    handler: async ({ auth, query, deps, request }) => ({ body: csvFile('payments', deps.clock.now(), await exportPaymentsCsv(deps, { accountId: auth.accountId, requestId: request.requestId, ip: request.ip }, query)) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/exports/payouts',
    operationId: 'exportPayouts',
    summary: 'Payouts with their breakdown as a CSV file, with the list filters',
    tags: ['earnings'],
    auth: 'bearer',
    query: PayoutExportQuerySchema,
    response: { status: 200, description: 'The CSV file', schema: CsvExportSchema },
    errors: { 404: 'channel_not_found', 422: 'export_too_large: choose a shorter date range' },
    rateLimits: exportLimits,
    handler: async ({ auth, query, deps, request }) => ({ body: csvFile('payouts', deps.clock.now(), await exportPayoutsCsv(deps, { accountId: auth.accountId, requestId: request.requestId, ip: request.ip }, query)) }),
  }),
];
