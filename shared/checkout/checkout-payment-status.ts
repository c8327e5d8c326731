import type { Queryable } from '../db/index.js';

/** A checkout's state and its most advanced payment, as recorded from NowPayments. */
export interface CheckoutPaymentStatus {
  kind: 'subscription' | 'donation';
  /** Optional so callers building a status by hand may leave it out (not a gift). */
  is_gift?: boolean;
  checkout_status: string;
  checkout_expires_at: Date;
  /** Null when no payment was recorded for the checkout. */
  payment_status: string | null;
  settled_at: Date | null;
}

/**
 * The checkout of this Telegram user with its most advanced payment (settled first, then by status
 * rank, then latest); `undefined` when the checkout is not theirs or does not exist. The bot's "Check payment".
 */
export async function loadCheckoutPaymentStatus(q: Queryable, checkoutId: string, telegramUserId: bigint): Promise<CheckoutPaymentStatus | undefined> {
  const { rows } = await q.query<CheckoutPaymentStatus>(
    `SELECT c.kind, c.is_gift, c.status AS checkout_status, c.expires_at AS checkout_expires_at, p.status AS payment_status, p.settled_at
     FROM checkouts c
     LEFT JOIN LATERAL (
       SELECT status, settled_at FROM payments WHERE checkout_id = c.id
       ORDER BY settled_at IS NOT NULL DESC, status_rank DESC, updated_at DESC LIMIT 1
     ) p ON true
     WHERE c.id = $1 AND c.telegram_user_id = $2`,
    [checkoutId, telegramUserId],
  );
  return rows[0];
}
