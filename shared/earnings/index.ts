/**
 * What an owner earned, read from the ledger and the payment and payout rows: balances per asset,
 * payments, subscriptions and payouts (cursor-paged, newest first) with the payout breakdown, and
 * CSV exports. Read-only but for the audit entry each export leaves. Every function takes the wire
 * query (strings, as in a URL) and answers resources shaped by the zod schemas here, which the
 * dashboard router and OpenAPI reuse.
 *
 *   const page = await listPayments({ db }, { accountId }, { channelId: 'ch_…', status: 'finished', limit: '20' });
 *   const next = await listPayments({ db }, { accountId }, { cursor: page.nextCursor! });
 *
 * Errors: `validation_failed` (context `fields`), `invalid_cursor`, `channel_not_found`,
 * `payout_not_found`, `export_too_large` — all `PermanentError`s.
 */
export {
  type AmountResource,
  type PaymentResource,
  type SubscriptionResource,
  type PayoutBreakdown,
  type PayoutResource,
  type BalancesResource,
  type PaymentListQuery,
  type SubscriptionListQuery,
  type PayoutListQuery,
  type PaymentExportQuery,
  type PayoutExportQuery,
  type RevenueQuery,
  type RevenueResource,
  type ChannelFiguresResource,
  PaymentListQuerySchema,
  SubscriptionListQuerySchema,
  PayoutListQuerySchema,
  PaymentExportQuerySchema,
  PayoutExportQuerySchema,
  AmountSchema,
  PaymentResourceSchema,
  SubscriptionResourceSchema,
  PayoutBreakdownSchema,
  PayoutResourceSchema,
  BalancesResourceSchema,
  RevenueQuerySchema,
  RevenueResourceSchema,
  ChannelFiguresResourceSchema,
  REVENUE_INTERVALS,
  pageSchema,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
} from './earnings-schemas.js';
// Also the owner webhooks' delivery log pages with these cursors (kind `webhook_deliveries`).
export { type Page, type CursorKind, cursorTimestampSql, decodeCursor, toPage } from './cursor.js';
export { listBalances } from './balances.js';
export { listPayments } from './payments.js';
export { listSubscriptions } from './subscriptions.js';
export { listPayouts, retrievePayout } from './payouts.js';
export { type PayoutFacts, payoutBreakdown } from './payout-breakdown.js';
export { csvCell, toCsv } from './csv.js';
export { MAX_EXPORT_ROWS, exportPaymentsCsv, exportPayoutsCsv } from './exports.js';
export { MAX_REVENUE_POINTS, revenueOverTime } from './revenue.js';
export { listChannelFigures } from './channel-figures.js';
