import { escapeHtml, isTelegramUserUnreachable, toTelegramError } from '../telegram/index.js';
import { formatUtc } from '../clock/index.js';
import { markDirectMessagesBlocked } from '../telegram-users/index.js';
import { type InviteDeps, sendInvite } from './invites.js';

/**
 * - `sent`: the link (the stored one, or a new one when it had expired or been revoked) was DM'd;
 * - `not_found`: no such subscription for this user (another user's subscription reads the same);
 * - `inactive`: the subscription ended (or has no settled payment yet);
 * - `already_joined`: the subscriber already joined with the link of their last payment;
 * - `unavailable`: the link was used by someone else; only the owner can sort that out.
 */
export type ResendInviteOutcome = 'sent' | 'not_found' | 'inactive' | 'already_joined' | 'unavailable';

interface SubscriptionLink {
  status: string;
  expires_at: Date;
  grant_id: string | null;
  closed_title: string;
  link_id: string | null;
  invite_link: string | null;
  link_expires_at: Date | null;
  created_at: Date | null;
  joined_at: Date | null;
  joined_by_telegram_user_id: bigint | null;
  revoked_at: Date | null;
}

function isJoinedBy(link: SubscriptionLink, telegramUserId: bigint): boolean {
  return link.joined_by_telegram_user_id !== null && BigInt(link.joined_by_telegram_user_id) === telegramUserId;
}

async function loadSubscriptionLink(deps: InviteDeps, subscriptionId: string, telegramUserId: bigint): Promise<SubscriptionLink | undefined> {
  const { rows } = await deps.db.query<SubscriptionLink>(
    `SELECT s.status, s.expires_at, g.grant_id, c.closed_title,
            l.id AS link_id, l.invite_link, l.expires_at AS link_expires_at, l.created_at, l.joined_at, l.joined_by_telegram_user_id, l.revoked_at
     FROM subscriptions s
     JOIN channels c ON c.id = s.channel_id
     LEFT JOIN LATERAL (
       -- The grant whose period ends the subscription now (a payment, a trial or a gift claim); else the last payment.
       SELECT coalesce((SELECT coalesce(p.payment_id, p.trial_id, p.gift_id) FROM subscription_periods p
                         WHERE p.subscription_id = s.id AND p.ends_at = s.expires_at AND p.revoked_at IS NULL LIMIT 1),
                       s.last_payment_id) AS grant_id) g ON true
     LEFT JOIN invite_links l ON l.payment_id = g.grant_id OR l.trial_id = g.grant_id OR l.gift_id = g.grant_id
     WHERE s.id = $1 AND s.telegram_user_id = $2`,
    [subscriptionId, telegramUserId],
  );
  return rows[0];
}

/**
 * "Send my link again" for an active subscription whose subscriber has not joined yet: the
 * one-time link of its current access grant (the payment, trial or gift claim whose period ends the
 * subscription now; else its last payment) is DM'd again while it is still valid; an expired (or revoked)
 * unused link is replaced the way the send-invite stage does it (`sendInvite`), so there is still
 * exactly one live link per payment. Only the subscription's own Telegram user may ask: for anyone
 * else the subscription does not exist.
 *
 * A revoked, unused link is treated as expired at its revocation (its `expires_at` is moved back to
 * then) so `sendInvite` replaces it instead of reporting it as already sent.
 *
 * @throws TransientError / PermanentError from Telegram (`toTelegramError`) when the DM or the new
 *   link cannot be made; a user who blocked the bot is recorded as such first.
 */
export async function resendInvite(deps: InviteDeps, subscriptionId: string, telegramUserId: bigint): Promise<ResendInviteOutcome> {
  const log = { subscriptionId };
  let current = await loadSubscriptionLink(deps, subscriptionId, telegramUserId);
  if (!current) {
    deps.logger.warn('invite.resend_refused', { ...log, reason: 'not_found' });
    return 'not_found';
  }
  const now = deps.clock.now();
  if (current.status !== 'active' || current.expires_at <= now || current.grant_id === null) return 'inactive';
  const paymentId = current.grant_id; // the grant's id: a payment's, a trial's or a gift's
  if (current.joined_at !== null) {
    return isJoinedBy(current, telegramUserId) ? 'already_joined' : 'unavailable';
  }
  if (current.link_id !== null && current.revoked_at !== null && current.link_expires_at !== null && current.link_expires_at > now) {
    await deps.db.query(
      `UPDATE invite_links SET expires_at = greatest(revoked_at, created_at + interval '1 millisecond')
       WHERE id = $1 AND revoked_at IS NOT NULL AND joined_at IS NULL AND expires_at > $2`,
      [current.link_id, now],
    );
  }

  const outcome = await sendInvite(deps, paymentId);
  if (outcome === 'subscription_inactive') return 'inactive';
  if (outcome === 'sent') {
    deps.logger.info('invite.resent', { ...log, paymentId, isNewLink: true });
    return 'sent';
  }

  // 'already_sent': the stored link is still valid and unused, so send that one again ourselves.
  current = await loadSubscriptionLink(deps, subscriptionId, telegramUserId);
  if (!current?.invite_link || !current.link_expires_at) return 'unavailable';
  if (current.joined_at !== null) return isJoinedBy(current, telegramUserId) ? 'already_joined' : 'unavailable';
  const text = [
    `🔗 Your invite link to <b>${escapeHtml(current.closed_title)}</b> again.`,
    '',
    `Join with this one-time link (valid until ${formatUtc(current.link_expires_at)}):`,
    current.invite_link,
    '',
    `Your subscription runs until ${formatUtc(current.expires_at)}.`,
  ].join('\n');
  try {
    await deps.telegram.sendMessage(Number(telegramUserId), text, { parse_mode: 'HTML', link_preview_options: { is_disabled: true } });
  } catch (error) {
    if (isTelegramUserUnreachable(error)) {
      await markDirectMessagesBlocked(deps.db, telegramUserId, deps.clock.now());
    }
    throw toTelegramError(error, { subscriptionId, operation: 'sendMessage' });
  }
  deps.logger.info('invite.resent', { ...log, paymentId, isNewLink: false });
  return 'sent';
}
