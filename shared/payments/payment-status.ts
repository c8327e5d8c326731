import { NOWPAYMENTS_STATUSES, type NowPaymentsStatus } from '../nowpayments/index.js';

/**
 * The payment lifecycle, the same graph as `payment_status_can_advance` in SQL (sql/005; a test
 * walks both). `payments.status` is NowPayments' own `payment_status`, stored as sent. IPNs arrive
 * out of order, so a status may replace any earlier one on the way
 * (waiting → confirming → confirmed → sending → partially_paid → finished); `failed`, `expired` and
 * `refunded` end it, and a `finished` payment can only become `refunded`.
 *
 * The payments upsert learns the current status only inside its statement, so it asks the SQL
 * function in its `WHERE` (0 rows = a stale report). Not an edge here: `partially_paid` reported
 * again with more paid (a top-up) updates the row without changing its status.
 */
export const PAYMENT_STATUSES = NOWPAYMENTS_STATUSES;
export type PaymentStatus = NowPaymentsStatus;

export const PAYMENT_TRANSITIONS = {
  waiting: ['confirming', 'confirmed', 'sending', 'partially_paid', 'finished', 'failed', 'refunded', 'expired'],
  confirming: ['confirmed', 'sending', 'partially_paid', 'finished', 'failed', 'refunded', 'expired'],
  confirmed: ['sending', 'partially_paid', 'finished', 'failed', 'refunded', 'expired'],
  sending: ['partially_paid', 'finished', 'failed', 'refunded', 'expired'],
  partially_paid: ['finished', 'failed', 'refunded', 'expired'],
  finished: ['refunded'],
  failed: [],
  refunded: [],
  expired: [],
} as const satisfies Record<PaymentStatus, readonly PaymentStatus[]>;

export function canTransitionPayment(from: PaymentStatus, to: PaymentStatus): boolean {
  return (PAYMENT_TRANSITIONS[from] as readonly PaymentStatus[]).includes(to);
}
