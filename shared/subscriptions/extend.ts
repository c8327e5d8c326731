import type { Tx } from '../db/index.js';
import { ledgerPosting, type PostingColumns, type PostLedgerTransactionInput, runWithLedgerPosting } from '../ledger/index.js';
import { subscriptionError } from './errors.js';

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
 * Grants `durationDays` of access for one access grant (a settled payment, a trial, a gift claim), in
 * ONE statement of the settlement transaction. A renewal while the subscription is still running
 * stacks on its current expiry, and so does one in the channel's grace period (the member was never
 * removed: the new period continues the lapsed one), unless the stacked period would already be over
 * (1 day bought late in a 72-hour grace); otherwise the period starts now. The upsert decides that on
 * the row it holds locked (`subscriptions` as the conflict left it: a concurrent first payment of the
 * same subscriber is stacked on, not overwritten), so two settlements of one subscriber serialize on
 * it. The grant's period is recorded once (subscription_periods has a unique column per grant), so a
 * repeated settlement cannot extend twice. `isRenewal`: the period starts at the earlier expiry, not
 * now (a lapsed period ending exactly now gives the same period either way and reads as a start).
 *
 * `booking`: the ledger transaction of what bought the grant (a settlement's `payment_settled`),
 * posted by the same statement: nothing is decided between the two, so they need no second round
 * trip under the settlement's locks. Only a posting that lowers no owner balance (one that does locks
 * it first, which an upsert cannot promise: `ledgerPosting`). On an account's first use the statement
 * writes nothing, the accounts are created and it runs again (`runWithLedgerPosting`).
 */
export async function extendSubscription(
  tx: Tx,
  input: { telegramUserId: bigint; channelId: string; durationDays: number; now: Date; booking?: PostLedgerTransactionInput } & ({ paymentId: string } | { grant: AccessGrant }),
): Promise<SubscriptionExtension> {
  const grant: AccessGrant = 'grant' in input ? input.grant : { kind: 'payment', id: input.paymentId };
  // A trial or a gift claim is not a payment: last_payment_id (the tier Renew offers) stays as it was.
  const paymentId = grant.kind === 'payment' ? grant.id : null;
  // Days of 86,400 s, as everywhere else (an interval of days would follow the session's time zone).
  const duration = 'make_interval(secs => $5::int * 86400)';
  const params = [input.telegramUserId, input.channelId, input.now, paymentId, input.durationDays, grant.id];
  const posting = input.booking ? ledgerPosting(input.booking, params.length + 1) : undefined;
  // Typed parameters: a SELECT (gated on the posting's accounts) does not take its types from the columns as VALUES does.
  const sql = `WITH ${posting ? `${posting.checks},` : ''}
     extended AS (
       INSERT INTO subscriptions AS s (telegram_user_id, channel_id, status, expires_at, last_payment_id, created_at, updated_at)
       SELECT $1::bigint, $2::uuid, 'active', $3::timestamptz + ${duration}, $4::uuid, $3, $3${posting ? ` WHERE ${posting.ready}` : ''}
       ON CONFLICT (telegram_user_id, channel_id) DO UPDATE SET
         status = 'active',
         expires_at = CASE
           WHEN s.status = 'active'
            AND s.expires_at + make_interval(hours => (SELECT grace_period_hours FROM channels WHERE id = $2)) > $3
            AND s.expires_at + ${duration} > $3
           THEN s.expires_at ELSE $3 END + ${duration},
         last_payment_id = coalesce($4, s.last_payment_id), expired_at = NULL, removed_at = NULL,
         removal_attempts = 0, last_removal_error = NULL, next_removal_attempt_at = NULL, updated_at = $3
       RETURNING id, expires_at - ${duration} AS starts_at, expires_at),
     period AS (
       INSERT INTO subscription_periods (subscription_id, ${grantColumn(grant)}, starts_at, ends_at, duration_days, created_at)
       SELECT id, $6::uuid, starts_at, expires_at, $5::int, $3 FROM extended)${posting ? `, ${posting.writes}` : ''}
     SELECT id, starts_at, expires_at, starts_at <> $3 AS is_renewal${posting ? `, ${posting.columns}` : ''}
       FROM (VALUES (1)) AS one (x) LEFT JOIN extended ON true`;
  type Extended = { id: string | null; starts_at: Date; expires_at: Date; is_renewal: boolean };
  const rows = posting
    ? [await runWithLedgerPosting<Extended & PostingColumns>(tx, posting, sql, [...params, ...posting.params])]
    : (await tx.query<Extended>(sql, params)).rows;
  const extended = rows[0];
  if (!extended?.id) throw subscriptionError('subscription_invariant_broken', 'extendSubscription wrote no subscription row', { grantKind: grant.kind, grantId: grant.id });
  return { subscriptionId: extended.id, startsAt: extended.starts_at, expiresAt: extended.expires_at, isRenewal: extended.is_renewal };
}
