import type { Queryable } from '../db/index.js';

/** One subscription of a Telegram user, with its channel's title and the invite link of its last payment. */
export interface SubscriberSubscriptionRow {
  id: string;
  channel_id: string;
  closed_title: string;
  /** The channel is active and not deleted. */
  is_channel_live: boolean;
  status: string;
  expires_at: Date;
  /** An invite link was made for the last payment. */
  has_link: boolean;
  joined_at: Date | null;
  last_payment_id: string | null;
}

/** A Telegram user's subscriptions, active ones first, then latest expiry first; at most 20. The bot's /subscriptions. */
export async function listSubscriberSubscriptions(q: Queryable, telegramUserId: bigint): Promise<SubscriberSubscriptionRow[]> {
  const { rows } = await q.query<SubscriberSubscriptionRow>(
    `SELECT s.id, s.channel_id, c.closed_title, (c.status = 'active' AND c.deleted_at IS NULL) AS is_channel_live,
            s.status, s.expires_at, s.last_payment_id, l.id IS NOT NULL AS has_link, l.joined_at
     FROM subscriptions s
     JOIN channels c ON c.id = s.channel_id
     LEFT JOIN invite_links l ON l.payment_id = s.last_payment_id
     WHERE s.telegram_user_id = $1
     ORDER BY (s.status = 'active') DESC, s.expires_at DESC
     LIMIT 20`,
    [telegramUserId],
  );
  return rows;
}
