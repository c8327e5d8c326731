import type { Clock } from '../clock/index.js';
import { deadLetterAction, enqueueMessage, ID_FILLED_BY_SQL, type InsertedOutboxRow, type OutboxInsert, outboxInsert, outboxMessage, recordDeadLetter } from '../bus/index.js';
import { markCheckoutPaidSql } from '../checkout/index.js';
import type { Queryable, Tx } from '../db/index.js';
import { parsePublicId } from '../ids/index.js';
import type { Logger } from '../logging/index.js';
import { formatUsdCents, isAtLeastFraction, parseUnits, parseUsdCents } from '../money/index.js';
import type { NowPaymentsPayment } from '../nowpayments/index.js';
import { raiseOperatorAlert } from '../watchdog/index.js';
import { outcomeAmountOf } from './outcome-asset.js';
import { notePaymentFailure, type PaymentBurstLimits } from './payment-bursts.js';

/** What applying a provider's view of a payment did. */
export type PaymentUpdateResult =
  | { outcome: 'orphan'; reason: string }
  | { outcome: 'held'; reason: string }
  | { outcome: 'unchanged'; paymentId: string; status: string }
  | { outcome: 'updated'; paymentId: string; status: string; isSettledNow: boolean };

export interface PaymentUpdateDeps {
  clock: Clock;
  logger: Logger;
  /** The failed-payment burst alert's limit (`loadBurstLimits`); its default when unset. */
  bursts?: PaymentBurstLimits;
}

// Precision used to compare two amounts of the same pay currency exactly.
const COMPARISON_DECIMALS = 36;

/**
 * Settled means `finished`, or `partially_paid` with actually_paid / pay_amount at or above the
 * channel's tolerance (basis points, default 9800 = 0.98), both in the pay currency so the
 * processor's fees do not enter the comparison.
 */
export function isSettledStatus(payment: Pick<NowPaymentsPayment, 'status' | 'payAmount' | 'actuallyPaid'>, toleranceBps: number): boolean {
  if (payment.status === 'finished') return true;
  if (payment.status !== 'partially_paid' || payment.payAmount === null || payment.actuallyPaid === null) return false;
  const expected = parseUnits(payment.payAmount, COMPARISON_DECIMALS, 'floor');
  if (expected === 0n) return false;
  return isAtLeastFraction(parseUnits(payment.actuallyPaid, COMPARISON_DECIMALS, 'floor'), expected, toleranceBps);
}

/**
 * The price a report states, in cents, when it is US dollars in whole cents; null otherwise (another
 * currency, a fraction of a cent, an amount no price can be). Our invoices are created in USD from the
 * checkout's `price_cents`, so anything but exactly that price is not a payment of this checkout.
 */
export function reportedPriceCents(payment: Pick<NowPaymentsPayment, 'priceAmount' | 'priceCurrency'>): bigint | null {
  if (payment.priceCurrency !== 'usd') return null;
  try {
    return parseUsdCents(payment.priceAmount);
  } catch {
    return null;
  }
}

const SUBSCRIBER_NOTICE: Partial<Record<string, 'payment_underpaid' | 'payment_expired' | 'payment_failed' | 'payment_refunded'>> = {
  partially_paid: 'payment_underpaid',
  expired: 'payment_expired',
  failed: 'payment_failed',
  refunded: 'payment_refunded',
};

/**
 * Reports that make a payment a failure for the channel's burst alert (`payments.failures_burst`):
 * it failed, expired, or arrived partly paid below the tolerance (the caller checked it did not settle).
 */
const FAILED_STATUSES: ReadonlySet<string> = new Set(['failed', 'expired', 'partially_paid']);

// The payments upsert, shared by the full update (below) and the one-statement progress record:
// parameters $1..$15 are `paymentParams`, $16 the checkout id.
const PAYMENT_COLUMNS = `provider, provider_payment_id, checkout_id, status, pay_currency, pay_amount, actually_paid,
  actually_paid_fiat, pay_address, price_amount_cents, price_currency, outcome_currency, outcome_amount,
  outcome_asset, outcome_units, provider_created_at, provider_updated_at, created_at, updated_at`;
// Typed, because in INSERT … SELECT the parameters have no column to take their type from.
const PAYMENT_VALUES = `$2::text, $3::text, $4::numeric, $5::numeric, $6::numeric, $7::text, $8::bigint, 'usd',
  $9::text, $10::numeric, $11::text, $12::numeric, $13::timestamptz, $14::timestamptz, $15::timestamptz, $15::timestamptz`;
/**
 * The upsert's conflict clause: forward-only. `unsettledOnly`: leaves a settled payment alone (the
 * one-statement record, which hands such a payment to the full update); `settles`: stamps the
 * payment settled as it updates it (the settling report's outcome is what settlement books).
 */
function paymentConflictSql(options: { unsettledOnly?: boolean; settles?: boolean } = {}): string {
  return `ON CONFLICT (provider, provider_payment_id) DO UPDATE SET
       status = EXCLUDED.status,
       pay_currency = coalesce(EXCLUDED.pay_currency, payments.pay_currency),
       pay_amount = coalesce(EXCLUDED.pay_amount, payments.pay_amount),
       actually_paid = coalesce(EXCLUDED.actually_paid, payments.actually_paid),
       actually_paid_fiat = coalesce(EXCLUDED.actually_paid_fiat, payments.actually_paid_fiat),
       pay_address = coalesce(EXCLUDED.pay_address, payments.pay_address),
       outcome_currency = coalesce(EXCLUDED.outcome_currency, payments.outcome_currency),
       outcome_amount = coalesce(EXCLUDED.outcome_amount, payments.outcome_amount),
       outcome_asset = coalesce(EXCLUDED.outcome_asset, payments.outcome_asset),
       outcome_units = coalesce(EXCLUDED.outcome_units, payments.outcome_units),
       provider_updated_at = coalesce(EXCLUDED.provider_updated_at, payments.provider_updated_at),
       updated_at = EXCLUDED.updated_at${
         options.settles
           ? `,
       settled_at = EXCLUDED.settled_at,
       settled_outcome_units = coalesce(EXCLUDED.outcome_units, payments.outcome_units)`
           : ''
       }
     WHERE ${options.unsettledOnly ? 'payments.settled_at IS NULL AND ' : ''}(payment_status_can_advance(payments.status, EXCLUDED.status)
        -- A partial payment topped up: same status, more paid (it may now be within tolerance).
        OR (payments.status = 'partially_paid' AND EXCLUDED.status = 'partially_paid'
            AND EXCLUDED.actually_paid > coalesce(payments.actually_paid, 0)))`;
}

function paymentParams(payment: NowPaymentsPayment, now: Date): unknown[] {
  const outcome = outcomeAmountOf(payment.outcomeCurrency, payment.outcomeAmount);
  return [
    payment.paymentId,
    payment.status,
    payment.payCurrency,
    payment.payAmount,
    payment.actuallyPaid,
    payment.actuallyPaidAtFiat,
    payment.payAddress,
    parseUsdCents(payment.priceAmount, 'half-up'),
    payment.outcomeCurrency,
    payment.outcomeAmount,
    outcome?.asset ?? null,
    outcome?.units ?? null,
    payment.createdAt,
    payment.updatedAt,
    now,
  ];
}

/** Statuses on the way to settlement: recorded, nothing else (no settlement, no notice). */
const PROGRESS_STATUSES: ReadonlySet<string> = new Set(['waiting', 'confirming', 'confirmed', 'sending']);

/** Whether an IPN's `payment_status` (as sent) only says the payment is on its way: `recordPaymentReport` takes it before any other read. */
export function isProgressStatus(rawStatus: unknown): boolean {
  return typeof rawStatus === 'string' && PROGRESS_STATUSES.has(rawStatus);
}

/** The raw IPN as `payment_events` keeps it; `digest` (hex SHA-256 of the body) marks it applied. */
export interface PaymentEventRecord {
  receivedAt: Date;
  headers: string;
  body: string;
  providerPaymentId: string | null;
  orderId: string | null;
  providerStatus: string | null;
  digest: string | null;
}

/**
 * The INSERT of a signed NowPayments event's row, its 7 parameters numbered from `$firstParam`:
 * received at, headers, body, provider payment id, order id, provider status, body digest (hex, or
 * null: a digest marks the body applied, and only a body that was applied gets one).
 */
export function paymentEventInsertSql(firstParam: number): string {
  const n = firstParam;
  return `INSERT INTO payment_events (provider, received_at, headers, body, signature_valid, provider_payment_id, order_id, provider_status, body_digest)
       VALUES ('nowpayments', $${n}::timestamptz, $${n + 1}::jsonb, $${n + 2}::text, true, $${n + 3}::text, $${n + 4}::text, $${n + 5}::text, decode($${n + 6}::text, 'hex'))`;
}

/** `paymentEventInsertSql`'s parameters for `event`. */
export function paymentEventValues(event: PaymentEventRecord): unknown[] {
  return [event.receivedAt, event.headers, event.body, event.providerPaymentId, event.orderId, event.providerStatus, event.digest];
}

/**
 * The common reports of a payment of a known checkout at its price, recorded in ONE statement with
 * their event, no transaction: one that says the payment is on its way (waiting … sending), which
 * nothing follows; and `finished`, which settles a payment not yet settled (whatever the channel's
 * tolerance: only `partially_paid` is weighed against it), marking the checkout paid and queueing
 * `payment-settled` in the same statement. The upsert is atomic and forward-only on its own, and a
 * payment settled meanwhile is left alone (its conflict clause looks at the row it locked), so the
 * statement settles a payment at most once, like `settlePaymentNow`. The checkout is locked first,
 * as `applyPaymentUpdate` locks it, so the two never wait on each other in opposite orders.
 *
 * Returns undefined, having written nothing, when the IPN needs the full `applyPaymentUpdate`
 * (another status, an unknown checkout, a price other than the checkout's, a settled payment, whose
 * later reports may need booking).
 */
export async function recordPaymentReport(
  db: Queryable,
  deps: PaymentUpdateDeps,
  payment: NowPaymentsPayment,
  event: PaymentEventRecord,
): Promise<PaymentUpdateResult | undefined> {
  const settles = payment.status === 'finished';
  if (!settles && !PROGRESS_STATUSES.has(payment.status)) return undefined;
  let checkoutId: string;
  try {
    checkoutId = parsePublicId('checkout', payment.orderId);
  } catch {
    return undefined;
  }
  const now = deps.clock.now();
  const params = [
    ...paymentParams(payment, now),
    checkoutId,
    event.receivedAt,
    event.headers,
    event.body,
    event.providerPaymentId,
    event.orderId,
    event.providerStatus,
    event.digest,
    reportedPriceCents(payment),
  ];
  const queue = settles ? settledMessage(params.length + 1, now, { from: 'upserted' }) : undefined;
  const { rows } = await db.query<{
    isRecorded: boolean;
    updatedId: string | null;
    currentId: string | null;
    currentStatus: string | null;
    queued: InsertedOutboxRow[] | null;
  }>(queue ? paymentReportSql(queue) : PROGRESS_REPORT_SQL, [...params, ...(queue?.params ?? [])]);
  const row = rows[0];
  if (!row?.isRecorded) return undefined;
  if (row.updatedId) {
    if (queue && row.queued) queue.inserted(db, row.queued);
    deps.logger.info('payment.updated', { paymentId: row.updatedId, providerPaymentId: payment.paymentId, status: payment.status, isSettledNow: settles, source: 'ipn' });
    return { outcome: 'updated', paymentId: row.updatedId, status: payment.status, isSettledNow: settles };
  }
  const paymentId = row.currentId ?? '';
  deps.logger.info('payment.update_ignored', { paymentId, status: row.currentStatus, reported: payment.status, source: 'ipn' });
  return { outcome: 'unchanged', paymentId, status: row.currentStatus ?? payment.status };
}

/**
 * `payment-settled` for the payment that the statement's CTE `from` returns, written only if it
 * returned one; its id, when the caller has not read it, filled in by SQL. Parameters from `firstParam`.
 */
function settledMessage(firstParam: number, at: Date, settled: { from: string; paymentId?: string }): OutboxInsert {
  const id = settled.paymentId ?? ID_FILLED_BY_SQL;
  const message = outboxMessage('payment-settled', { paymentId: id }, { at, dedupeKey: `payment-settled:${id}` });
  const when = `EXISTS (SELECT 1 FROM ${settled.from})`;
  return outboxInsert([message], firstParam, settled.paymentId ? { when } : { when, fillId: `(SELECT id::text FROM ${settled.from})` });
}

/**
 * `recordPaymentReport`'s statement, parameters `$1`…`$15` (`paymentParams`), the checkout `$16`, the
 * event `$17`…`$23`, the reported price `$24`; settling, `payment-settled`'s from `$25`.
 */
function paymentReportSql(queue?: OutboxInsert): string {
  const settledAt = queue ? '$15::timestamptz' : 'NULL::timestamptz';
  return `WITH current AS (
       SELECT id, status, settled_at FROM payments WHERE provider = 'nowpayments' AND provider_payment_id = $1),
     eligible AS (
       SELECT id FROM checkouts WHERE id = $16::uuid AND price_cents = $24::bigint
         AND NOT EXISTS (SELECT 1 FROM current WHERE settled_at IS NOT NULL)
       FOR UPDATE),
     upserted AS (
       INSERT INTO payments (${PAYMENT_COLUMNS}, settled_at, settled_outcome_units)
       SELECT 'nowpayments', $1, eligible.id, ${PAYMENT_VALUES}, ${settledAt}, ${queue ? '$12::numeric' : 'NULL::numeric'} FROM eligible
       ${paymentConflictSql({ unsettledOnly: true, settles: queue !== undefined })}
       RETURNING id),
     recorded AS (
       INSERT INTO payment_events (provider, received_at, headers, body, signature_valid, provider_payment_id, order_id, provider_status, body_digest)
       SELECT 'nowpayments', $17::timestamptz, $18::jsonb, $19::text, true, $20::text, $21::text, $22::text, decode($23::text, 'hex') FROM eligible)${
         queue
           ? `,
     paid AS (${markCheckoutPaidSql('$16::uuid', '$15::timestamptz')} AND EXISTS (SELECT 1 FROM upserted)),
     queued AS (${queue.sql})`
           : ''
       }
     SELECT EXISTS (SELECT 1 FROM eligible) AS "isRecorded", (SELECT id FROM upserted) AS "updatedId",
            (SELECT id FROM current) AS "currentId", (SELECT status FROM current) AS "currentStatus"${
              queue ? `,
            (SELECT jsonb_agg(jsonb_build_object('id', id::text, 'message_id', message_id, 'payload', payload)) FROM queued) AS queued` : ''
            }`;
}
const PROGRESS_REPORT_SQL = paymentReportSql();

/**
 * The first settling report, in ONE statement: the payment is stamped settled (the settling report's
 * outcome is what settlement books; later increases are booked apart), and only if this statement
 * stamped it, the checkout is marked paid and `payment-settled` queued. Returns whether it settled
 * the payment now.
 */
async function settlePaymentNow(tx: Tx, paymentId: string, checkoutId: string, now: Date): Promise<boolean> {
  const queue = settledMessage(4, now, { from: 'settled', paymentId });
  const { rows } = await tx.query<{ id: bigint | null; message_id: string | null }>(
    `WITH settled AS (
       UPDATE payments SET settled_at = $2, settled_outcome_units = outcome_units WHERE id = $1 AND settled_at IS NULL RETURNING id),
     paid AS (${markCheckoutPaidSql('$3', '$2')} AND EXISTS (SELECT 1 FROM settled)),
     queued AS (${queue.sql})
     SELECT queued.id, queued.message_id FROM settled LEFT JOIN queued ON true`,
    [paymentId, now, checkoutId, ...queue.params],
  );
  const settled = rows[0];
  if (!settled) return false;
  if (settled.id !== null && settled.message_id !== null) queue.inserted(tx, [{ id: settled.id, message_id: settled.message_id }]);
  return true;
}

/**
 * Applies one authentic report of a NowPayments payment (an IPN, or a reconciliation read) inside
 * the caller's transaction: upserts the payment with a forward-only status (an older status that
 * arrives late changes nothing), and on the first transition to settled stamps `settled_at`, marks
 * the checkout paid and writes `payment-settled` to the outbox. Problems the subscriber should hear
 * about (underpaid below tolerance, expired, failed, refunded) are queued as notifications. An
 * unknown `order_id` is recorded as an orphan dead letter for an operator. A report whose price is
 * not exactly the checkout's in USD (`reportedPriceCents`) is **held**: the payment is neither
 * written nor settled, and an operator alert is raised once per provider payment (`holdPayment`).
 */
export async function applyPaymentUpdate(
  tx: Tx,
  deps: PaymentUpdateDeps,
  payment: NowPaymentsPayment,
  source: string,
  event?: PaymentEventRecord,
): Promise<PaymentUpdateResult> {
  const now = deps.clock.now();
  let checkoutId: string | undefined;
  try {
    checkoutId = parsePublicId('checkout', payment.orderId);
  } catch {
    checkoutId = undefined;
  }
  // The report's event (an IPN's), stored with the checkout's read when there is one to read.
  const eventValues = event ? paymentEventValues(event) : [];
  if (event && !checkoutId) await tx.query(paymentEventInsertSql(1), eventValues);
  const checkout = checkoutId
    ? (
        await tx.query<{ id: string; channel_id: string; telegram_user_id: bigint; price_cents: bigint; tolerance_bps: number }>(
          `${event ? `WITH recorded AS (${paymentEventInsertSql(2)})` : ''}
           SELECT k.id, k.channel_id, k.telegram_user_id, k.price_cents, c.underpayment_tolerance_bps AS tolerance_bps
           FROM checkouts k JOIN channels c ON c.id = k.channel_id WHERE k.id = $1 FOR UPDATE OF k`,
          [checkoutId, ...eventValues],
        )
      ).rows[0]
    : undefined;
  if (!payment.status || payment.status === 'unknown' || !checkout) {
    const reason = checkout ? `unknown payment status "${payment.rawStatus}"` : 'no checkout has this order_id';
    const deadLetter = await recordDeadLetter(tx, {
      source: `nowpayments-${source}`,
      messageId: `nowpayments:${payment.paymentId}:${payment.rawStatus}`,
      reasonCode: checkout ? 'unknown_payment_status' : 'orphan_payment',
      reason,
      data: JSON.stringify({ paymentId: payment.paymentId, orderId: payment.orderId, status: payment.rawStatus }),
      at: now,
    });
    deps.logger.critical('payment.orphan', {
      providerPaymentId: payment.paymentId,
      orderId: payment.orderId,
      status: payment.rawStatus,
      reason,
      deadLetterId: String(deadLetter.id),
      action: deadLetterAction(deadLetter.id),
    });
    return { outcome: 'orphan', reason };
  }
  if (reportedPriceCents(payment) !== checkout.price_cents) return holdPayment(tx, deps, payment, checkout, source, now);

  const { rows } = await tx.query<{ id: string; status: string; settled_at: Date | null; outcome_units: string | null; booked_or_settled_units: string | null }>(
    `INSERT INTO payments (${PAYMENT_COLUMNS})
     VALUES ('nowpayments', $1, $16, ${PAYMENT_VALUES})
     ${paymentConflictSql()}
     RETURNING id, status, settled_at, outcome_units::text AS outcome_units,
               coalesce(booked_outcome_units, settled_outcome_units)::text AS booked_or_settled_units`,
    [...paymentParams(payment, now), checkout.id],
  );
  const row = rows[0];
  if (!row) {
    const current = await tx.query<{ id: string; status: string }>(
      `SELECT id, status FROM payments WHERE provider = 'nowpayments' AND provider_payment_id = $1`,
      [payment.paymentId],
    );
    const existing = current.rows[0] as { id: string; status: string };
    deps.logger.info('payment.update_ignored', { paymentId: existing.id, status: existing.status, reported: payment.status, source });
    return { outcome: 'unchanged', paymentId: existing.id, status: existing.status };
  }

  let isSettledNow = false;
  if (row.settled_at !== null) {
    await queueBookingAfterSettlement(tx, row, now);
  } else if (isSettledStatus(payment, checkout.tolerance_bps)) {
    isSettledNow = await settlePaymentNow(tx, row.id, checkout.id, now);
  }
  if (row.settled_at === null && !isSettledNow && FAILED_STATUSES.has(payment.status)) {
    await notePaymentFailure(tx, deps, { channelId: checkout.channel_id, paymentId: row.id, at: now });
  }
  if (!isSettledStatus(payment, checkout.tolerance_bps)) {
    const notice = SUBSCRIBER_NOTICE[payment.status];
    if (notice) {
      await enqueueMessage(tx, 'subscriber-notification-requested', { kind: notice, subjectId: row.id }, { at: now, dedupeKey: `${notice}:${row.id}` });
    }
  }
  deps.logger.info('payment.updated', { paymentId: row.id, providerPaymentId: payment.paymentId, status: row.status, isSettledNow, source });
  return { outcome: 'updated', paymentId: row.id, status: row.status, isSettledNow };
}

/**
 * A report that does not pay its checkout's price (a forged or mistaken invoice with our order id, a
 * price in another currency): nothing is written to `payments`, so nothing settles, books or grants
 * access; the raw event the caller stored is the evidence. An operator alert (CRITICAL log, once per
 * provider payment) says what to compare and what to do.
 */
async function holdPayment(
  tx: Tx,
  deps: PaymentUpdateDeps,
  payment: NowPaymentsPayment,
  checkout: { id: string; price_cents: bigint },
  source: string,
  now: Date,
): Promise<PaymentUpdateResult> {
  const reason = `the report's price ${payment.priceAmount} ${payment.priceCurrency} is not the checkout's ${formatUsdCents(checkout.price_cents)} usd`;
  const details = {
    providerPaymentId: payment.paymentId,
    orderId: payment.orderId,
    status: payment.rawStatus,
    reportedPrice: payment.priceAmount,
    reportedCurrency: payment.priceCurrency,
    expectedPriceCents: checkout.price_cents.toString(),
    source,
  };
  const isRaised = await raiseOperatorAlert(tx, deps.logger, {
    kind: 'payment.price_mismatch',
    subjectType: 'checkout',
    subjectId: checkout.id,
    episode: `nowpayments:${payment.paymentId}`,
    message:
      'A NowPayments payment reports a price or currency other than its checkout\'s: it is held (not settled, no access, nothing booked). ' +
      'Compare it with the invoice in the NowPayments dashboard; refund it there, or have the subscriber pay a new checkout.',
    details,
    at: now,
  });
  if (!isRaised) deps.logger.warn('payment.held', details);
  return { outcome: 'held', reason };
}

/**
 * A settled payment moved on: more arrived (a top-up, `finished` after an accepted `partially_paid`)
 * or it was refunded. settle-payment books it, under the payment's lock, from what the row says; the
 * message key names the reported total (or the refund), so each change is queued once.
 */
async function queueBookingAfterSettlement(
  tx: Tx,
  row: { id: string; status: string; outcome_units: string | null; booked_or_settled_units: string | null },
  now: Date,
): Promise<void> {
  if (row.status === 'refunded') {
    await enqueueMessage(tx, 'payment-settled', { paymentId: row.id }, { at: now, dedupeKey: `payment-refunded:${row.id}` });
    return;
  }
  if (row.outcome_units === null || row.booked_or_settled_units === null) return;
  if (BigInt(row.outcome_units) > BigInt(row.booked_or_settled_units)) {
    await enqueueMessage(tx, 'payment-settled', { paymentId: row.id }, { at: now, dedupeKey: `payment-topped-up:${row.id}:${row.outcome_units}` });
  }
}
