/**
 * The checkout lifecycle, the same graph as `checkout_status_can_advance` in SQL (sql/023; a test
 * walks both). A checkout is `open` until it is paid, expires (past `expires_at`, or replaced by a
 * new checkout) or is cancelled. A payment that arrives late still pays it: the subscriber's money
 * was received, so `expired` and `cancelled` may become `paid`. Nothing leaves `paid`.
 */
export const CHECKOUT_STATUSES = ['open', 'paid', 'expired', 'cancelled'] as const;
export type CheckoutStatus = (typeof CHECKOUT_STATUSES)[number];

export const CHECKOUT_TRANSITIONS = {
  open: ['paid', 'expired', 'cancelled'],
  paid: [],
  expired: ['paid'],
  cancelled: ['paid'],
} as const satisfies Record<CheckoutStatus, readonly CheckoutStatus[]>;

export function canTransitionCheckout(from: CheckoutStatus, to: CheckoutStatus): boolean {
  return (CHECKOUT_TRANSITIONS[from] as readonly CheckoutStatus[]).includes(to);
}

/** The statuses a checkout may move to `to` from: what a conditional UPDATE to `to` matches (`status = ANY(…)`). */
export function checkoutStatusesBefore(to: CheckoutStatus): CheckoutStatus[] {
  return CHECKOUT_STATUSES.filter((from) => canTransitionCheckout(from, to));
}
