import type { Tx } from '../db/index.js';

/**
 * Takes back what is left of the access one payment bought (its payment was refunded): the payment's
 * period is cut at `now` (emptied when it had not started) and marked revoked, later periods move
 * earlier by the same amount, and so does the subscription's expiry. When nothing is left the
 * subscription is due at once and the expiry run removes the member. Holds the subscription row lock,
 * as `extendSubscription` does, so periods never overlap. Returns undefined when the payment bought
 * no period; a second call cuts nothing.
 */
export async function revokePaymentPeriod(tx: Tx, input: { paymentId: string; now: Date }): Promise<{ subscriptionId: string; revokedSeconds: number } | undefined> {
  const { rows } = await tx.query<{ id: string; subscription_id: string; starts_at: Date; ends_at: Date }>(
    'SELECT id, subscription_id, starts_at, ends_at FROM subscription_periods WHERE payment_id = $1',
    [input.paymentId],
  );
  const period = rows[0];
  if (!period) return undefined;
  await tx.query('SELECT 1 FROM subscriptions WHERE id = $1 FOR UPDATE', [period.subscription_id]);
  const cutAt = period.starts_at > input.now ? period.starts_at : input.now;
  const cutMs = Math.max(0, period.ends_at.getTime() - cutAt.getTime());
  await tx.query('UPDATE subscription_periods SET ends_at = $2, revoked_at = coalesce(revoked_at, $3) WHERE id = $1', [
    period.id,
    cutMs > 0 ? cutAt : period.ends_at,
    input.now,
  ]);
  if (cutMs === 0) return { subscriptionId: period.subscription_id, revokedSeconds: 0 };
  // One by one, earliest first: each moves into the room the previous one left, never onto another.
  const { rows: later } = await tx.query<{ id: string }>(
    'SELECT id FROM subscription_periods WHERE subscription_id = $1 AND starts_at >= $2 AND id <> $3 ORDER BY starts_at',
    [period.subscription_id, period.ends_at, period.id],
  );
  const shift = `${cutMs} milliseconds`;
  for (const next of later) {
    await tx.query('UPDATE subscription_periods SET starts_at = starts_at - $2::interval, ends_at = ends_at - $2::interval WHERE id = $1', [next.id, shift]);
  }
  await tx.query('UPDATE subscriptions SET expires_at = expires_at - $2::interval, updated_at = $3 WHERE id = $1', [period.subscription_id, shift, input.now]);
  return { subscriptionId: period.subscription_id, revokedSeconds: Math.floor(cutMs / 1000) };
}
