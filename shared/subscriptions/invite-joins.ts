import type { Queryable } from '../db/index.js';

/** One of our invite links, as the bot's join guard needs it. */
export interface InviteLinkHolder {
  id: string;
  chat_id: bigint;
  /** The subscriber the link was made for. */
  subscriber_id: bigint;
  channel_id: string;
}

/** The invite link with this URL and whom it was made for; undefined for a link we never made. */
export async function findInviteLink(q: Queryable, inviteLink: string): Promise<InviteLinkHolder | undefined> {
  const { rows } = await q.query<InviteLinkHolder>(
    `SELECT l.id, l.chat_id, s.telegram_user_id AS subscriber_id, s.channel_id
     FROM invite_links l JOIN subscriptions s ON s.id = l.subscription_id
     WHERE l.invite_link = $1`,
    [inviteLink],
  );
  return rows[0];
}

/** The rightful subscriber joined through their link (kept from the first join); `isRevoked` when Telegram revoked it. */
export async function recordInviteJoin(q: Queryable, input: { linkId: string; telegramUserId: number; isRevoked: boolean; at: Date }): Promise<void> {
  await q.query(
    `UPDATE invite_links SET joined_at = coalesce(joined_at, $2),
       joined_by_telegram_user_id = coalesce(joined_by_telegram_user_id, $3),
       revoked_at = CASE WHEN $4::boolean THEN coalesce(revoked_at, $2) ELSE revoked_at END
     WHERE id = $1`,
    [input.linkId, input.at, input.telegramUserId, input.isRevoked],
  );
}

/** Telegram revoked the link (someone else used it): it admits nobody any more. */
export async function recordInviteRevoked(q: Queryable, linkId: string, at: Date): Promise<void> {
  await q.query('UPDATE invite_links SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1', [linkId, at]);
}
