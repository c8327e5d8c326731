import type { Queryable } from '../db/index.js';

/** One subscription of a Telegram user, with its channel's title and the invite link of its current access grant. */
export interface SubscriberSubscriptionRow {
  id: string;
  channel_id: string;
  closed_title: string;
  /** The channel is active and not deleted. */
  is_channel_live: boolean;
  status: string;
  expires_at: Date;
  /** An invite link was made for the current grant. */
  has_link: boolean;
  joined_at: Date | null;
  /** The access grant whose period ends the subscription now (payment, trial or gift), else its last payment. */
  grant_id: string | null;
}

/** A Telegram user's subscriptions, active ones first, then latest expiry first; at most 20. The bot's /subscriptions. */
export async function listSubscriberSubscriptions(q: Queryable, telegramUserId: bigint): Promise<SubscriberSubscriptionRow[]> {
  const { rows } = await q.query<SubscriberSubscriptionRow>(
    `SELECT s.id, s.channel_id, c.closed_title, (c.status = 'active' AND c.deleted_at IS NULL) AS is_channel_live,
            s.status, s.expires_at, g.grant_id, l.id IS NOT NULL AS has_link, l.joined_at
     FROM subscriptions s
     JOIN channels c ON c.id = s.channel_id
     LEFT JOIN LATERAL (
       -- The grant whose period ends the subscription now (a payment, a trial or a gift claim); else the last payment.
       SELECT coalesce((SELECT coalesce(p.payment_id, p.trial_id, p.gift_id) FROM subscription_periods p
                         WHERE p.subscription_id = s.id AND p.ends_at = s.expires_at AND p.revoked_at IS NULL LIMIT 1),
                       s.last_payment_id) AS grant_id) g ON true
     LEFT JOIN invite_links l ON l.payment_id = g.grant_id OR l.trial_id = g.grant_id OR l.gift_id = g.grant_id
     WHERE s.telegram_user_id = $1
     ORDER BY (s.status = 'active') DESC, s.expires_at DESC
     LIMIT 20`,
    [telegramUserId],
  );
  return rows;
}
