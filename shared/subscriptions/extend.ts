import type { Tx } from '../db/index.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * What grants a period of access: a settled payment, a free trial or a claimed gift. Each grants
 * once (subscription_periods has a unique column per kind, exactly one set) and gets one invite.
 */
export type AccessGrant = { kind: 'payment' | 'trial' | 'gift'; id: string };

/** The grant a period or invite link row names, from its three columns. */
export function grantColumn(grant: AccessGrant): 'payment_id' | 'trial_id' | 'gift_id' {
  return `${grant.kind}_id` as const;
}

export interface SubscriptionExtension {
  subscriptionId: string;
  startsAt: Date;
  expiresAt: Date;
  /** True when the subscription was active (or in its grace period) and the new period stacks on its expiry. */
  isRenewal: boolean;
}

/**
 * Grants `durationDays` of access for one access grant (a settled payment, a trial, a gift claim). A renewal while the subscription is
 * still running stacks on its current expiry, and so does one in the channel's grace period (the
 * member was never removed: the new period continues the lapsed one); otherwise the period starts
 * now. Runs in the settlement transaction, holding the subscription row lock; the payment's period
 * is recorded once (subscription_periods.payment_id is unique), so a repeated settlement cannot
 * extend twice.
 */
export async function extendSubscription(
  tx: Tx,
  input: { telegramUserId: bigint; channelId: string; durationDays: number; now: Date } & ({ paymentId: string } | { grant: AccessGrant }),
): Promise<SubscriptionExtension> {
  const grant: AccessGrant = 'grant' in input ? input.grant : { kind: 'payment', id: input.paymentId };
  // A trial or a gift claim is not a payment: last_payment_id (the tier Renew offers) stays as it was.
  const paymentId = grant.kind === 'payment' ? grant.id : null;
  // Created on first payment; either way returned locked (the no-op update takes the row lock that
  // serializes two settlements of one subscriber), in one statement.
  const { rows } = await tx.query<{ id: string; status: string; expires_at: Date; grace_period_hours: number }>(
    `INSERT INTO subscriptions (telegram_user_id, channel_id, status, expires_at, created_at, updated_at, expired_at)
     VALUES ($1, $2, 'expired', $3, $3, $3, $3)
     ON CONFLICT (telegram_user_id, channel_id) DO UPDATE SET updated_at = EXCLUDED.updated_at
     RETURNING id, status, expires_at, (SELECT grace_period_hours FROM channels WHERE id = $2) AS grace_period_hours`,
    [input.telegramUserId, input.channelId, input.now],
  );
  const current = rows[0] as { id: string; status: string; expires_at: Date; grace_period_hours: number };
  // Access runs until expires_at plus the grace period. Past that (or with no grace period) an active
  // row is only awaiting removal and the period starts now, as before. A stacked period that would
  // already be over (1 day bought late in a 72-hour grace) starts now as well.
  const now = input.now.getTime();
  const durationMs = input.durationDays * DAY_MS;
  const expiresMs = current.expires_at.getTime();
  const isRenewal = current.status === 'active' && expiresMs + Number(current.grace_period_hours) * HOUR_MS > now && expiresMs + durationMs > now;
  const startsAt = isRenewal ? current.expires_at : input.now;
  const expiresAt = new Date(startsAt.getTime() + durationMs);
  await tx.query(
    `WITH period AS (
       INSERT INTO subscription_periods (subscription_id, ${grantColumn(grant)}, starts_at, ends_at, duration_days, created_at)
       VALUES ($1, $7, $5, $2, $6, $4)
       RETURNING subscription_id)
     UPDATE subscriptions SET status = 'active', expires_at = $2, last_payment_id = coalesce($3, last_payment_id), expired_at = NULL, removed_at = NULL,
       removal_attempts = 0, last_removal_error = NULL, next_removal_attempt_at = NULL, updated_at = $4
     WHERE id = (SELECT subscription_id FROM period)`,
    [current.id, expiresAt, paymentId, input.now, startsAt, input.durationDays, grant.id],
  );
  return { subscriptionId: current.id, startsAt, expiresAt, isRenewal };
}
