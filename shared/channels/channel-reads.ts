import type { Queryable } from '../db/index.js';

/** One active tier of a channel's subscribe offer. */
export interface OfferTier {
  tier_number: number;
  price_cents: bigint;
  duration_days: number;
  /** Days of the tier's free trial; 0 = none. */
  trial_days: number;
}

/** What a subscriber is offered: the channel's closed title and description and its active tiers. */
export interface SubscribeOffer {
  title: string;
  description: string;
  tiers: OfferTier[];
}

/**
 * The subscribe offer of a channel that takes subscribers (active, not deleted), tiers by number;
 * `undefined` otherwise. The bot's offer and tier buttons.
 */
export async function loadSubscribeOffer(q: Queryable, channelId: string): Promise<SubscribeOffer | undefined> {
  const { rows } = await q.query<{ closed_title: string; closed_description: string }>(
    `SELECT closed_title, closed_description FROM channels WHERE id = $1 AND status = 'active' AND deleted_at IS NULL`,
    [channelId],
  );
  const channel = rows[0];
  if (!channel) return undefined;
  const tiers = await q.query<OfferTier>(
    'SELECT tier_number, price_cents, duration_days, trial_days FROM channel_tiers WHERE channel_id = $1 AND is_active ORDER BY tier_number',
    [channelId],
  );
  return { title: channel.closed_title, description: channel.closed_description, tiers: tiers.rows };
}

/** The closed chat's title of a channel, whatever its status; `undefined` when there is no such channel. */
export async function channelTitle(q: Queryable, channelId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ closed_title: string }>('SELECT closed_title FROM channels WHERE id = $1', [channelId]);
  return rows[0]?.closed_title;
}

/** What the donation keypad shows: the channel's title, the owner's appeal and the bounds. */
export interface DonationSettings {
  title: string;
  appeal: string | null;
  minCents: bigint;
  maxCents: bigint;
}

/** The donation settings of a live channel that takes donations with both bounds set; `undefined` otherwise. */
export async function loadDonationSettings(q: Queryable, channelId: string): Promise<DonationSettings | undefined> {
  const { rows } = await q.query<{ closed_title: string; donation_message: string | null; donation_min_cents: bigint | null; donation_max_cents: bigint | null }>(
    `SELECT closed_title, donation_message, donation_min_cents, donation_max_cents FROM channels
     WHERE id = $1 AND status = 'active' AND deleted_at IS NULL AND donations_enabled`,
    [channelId],
  );
  const row = rows[0];
  if (!row || row.donation_min_cents === null || row.donation_max_cents === null) return undefined;
  return { title: row.closed_title, appeal: row.donation_message, minCents: BigInt(row.donation_min_cents), maxCents: BigInt(row.donation_max_cents) };
}

/** One live channel of an owner as /channels counts it. */
export interface OwnerChannelFigures {
  channelId: string;
  title: string;
  isNotifying: boolean;
  /** Subscriptions active and unexpired at `now`. */
  activeSubscribers: number;
  /** USD cents of payments settled in (`since`, `now`], refunded ones left out (subscriptions and donations). */
  revenueCents: bigint;
}

/** The account's live channels, oldest first, with their active subscribers and revenue in (`since`, `now`]. */
export async function listOwnerChannelFigures(q: Queryable, accountId: string, window: { now: Date; since: Date }): Promise<OwnerChannelFigures[]> {
  const { rows } = await q.query<{ id: string; closed_title: string; notifications_enabled: boolean; active_subscribers: number; revenue_cents: string }>(
    `SELECT c.id, c.closed_title, c.notifications_enabled,
            (SELECT count(*) FROM subscriptions s
              WHERE s.channel_id = c.id AND s.status = 'active' AND s.expires_at > $2)::int AS active_subscribers,
            (SELECT coalesce(sum(p.price_amount_cents), 0) FROM payments p JOIN checkouts k ON k.id = p.checkout_id
              WHERE k.channel_id = c.id AND p.settled_at > $3 AND p.settled_at <= $2 AND p.status <> 'refunded')::text AS revenue_cents
     FROM channels c
     WHERE c.owner_account_id = $1 AND c.deleted_at IS NULL
     ORDER BY c.created_at, c.id`,
    [accountId, window.now, window.since],
  );
  return rows.map((row) => ({
    channelId: row.id,
    title: row.closed_title,
    isNotifying: row.notifications_enabled,
    activeSubscribers: Number(row.active_subscribers),
    revenueCents: BigInt(row.revenue_cents),
  }));
}
