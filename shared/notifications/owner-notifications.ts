import type { Api } from 'grammy';
import { type Clock, formatUtc } from '../clock/index.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import type { OwnerNotificationRequested } from '../messages/index.js';
import { type AssetCode, formatUnits, formatUsdCents, getAsset } from '../money/index.js';
import { escapeHtml } from '../telegram/index.js';
import { isOwnerAlertKind, notifyOwnerAlert } from './owner-alerts.js';
import { ownerNoticeClaimUntil, sendPendingOwnerNotification } from './owner-notification-delivery.js';
import { isPayoutNoticeKind, notifyOwnerOfPayout } from './payout-notifications.js';
import { notificationError } from './errors.js';

export interface NotificationDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  telegram: Api;
}

interface PaymentFacts {
  channel_id: string;
  closed_title: string;
  kind: 'subscription' | 'donation';
  tier_number: number | null;
  duration_days: number | null;
  price_amount_cents: bigint;
  pay_amount: string | null;
  actually_paid: string | null;
  pay_currency: string | null;
  outcome_asset: AssetCode | null;
  owner_net: string | null;
  username: string | null;
  first_name: string | null;
  telegram_user_id: bigint;
  expires_at: Date | null;
}

/** What the owner's payment DM says, for the payment `$param` (a CTE of the statement that claims the DM). */
function paymentFactsSql(param: string): string {
  return `SELECT k.channel_id, c.closed_title, k.kind, t.tier_number, k.duration_days, p.price_amount_cents, p.pay_amount::text,
            p.actually_paid::text, p.pay_currency, p.outcome_asset, u.username, u.first_name, u.id AS telegram_user_id,
            sp.ends_at AS expires_at,
            (SELECT (-sum(e.amount))::text FROM ledger_entries e
               JOIN ledger_transactions lt ON lt.id = e.transaction_id
               JOIN ledger_accounts a ON a.id = e.account_id
             WHERE lt.payment_id = p.id AND lt.kind = 'payment_settled' AND a.code = 'owner:' || k.channel_id::text || ':' || lower(p.outcome_asset)) AS owner_net
     FROM payments p
     JOIN checkouts k ON k.id = p.checkout_id
     JOIN channels c ON c.id = k.channel_id
     JOIN telegram_users u ON u.id = k.telegram_user_id
     LEFT JOIN channel_tiers t ON t.id = k.tier_id
     LEFT JOIN subscription_periods sp ON sp.payment_id = p.id
     WHERE p.id = ${param}`;
}

function subscriberName(facts: PaymentFacts): string {
  if (facts.username) return `@${escapeHtml(facts.username)}`;
  return `${escapeHtml(facts.first_name ?? 'Subscriber')} (id ${facts.telegram_user_id})`;
}

export function ownerPaymentText(facts: PaymentFacts): string {
  const paid = facts.actually_paid && facts.pay_currency ? `${facts.actually_paid} ${facts.pay_currency.toUpperCase()}` : '—';
  const net =
    facts.owner_net && facts.outcome_asset
      ? `${formatUnits(BigInt(facts.owner_net), getAsset(facts.outcome_asset).decimals)} ${getAsset(facts.outcome_asset).symbol}`
      : '—';
  const lines =
    facts.kind === 'subscription'
      ? [
          `💰 <b>New subscription</b> to <b>${escapeHtml(facts.closed_title)}</b>`,
          `Tier ${facts.tier_number ?? '?'} · ${facts.duration_days} days · $${formatUsdCents(facts.price_amount_cents)}`,
        ]
      : [`💝 <b>Donation</b> to <b>${escapeHtml(facts.closed_title)}</b>`, `Amount: $${formatUsdCents(facts.price_amount_cents)}`];
  lines.push(`Paid: ${escapeHtml(paid)}`, `Your share after fees: ${escapeHtml(net)}`, `From: ${subscriberName(facts)}`);
  if (facts.expires_at) lines.push(`Access until: ${formatUtc(facts.expires_at)}`);
  return lines.join('\n');
}

/**
 * The notify-owner stage: one DM per event to the channel's notification chat, when the owner has
 * notifications on. The owner_notifications row (unique dedupe key) makes a redelivery a no-op once
 * sent; an owner who blocked the bot is recorded as failed, not retried. Alert kinds
 * (`bot_rights_missing`, `invite_link_misused`) go to `notifyOwnerAlert`, payout news
 * (`payout_completed`, `payout_failed`, `payout_held`, `balance_parked`, and `threshold_progress`
 * for a threshold owner's balance at 50 % and 100 % of the threshold) to `notifyOwnerOfPayout`.
 */
export async function notifyOwner(deps: NotificationDeps, request: OwnerNotificationRequested): Promise<'sent' | 'skipped' | 'already_done'> {
  // Channel-health alerts (bot rights, misused invite links) have their own reading and destination.
  if (isOwnerAlertKind(request.kind)) return notifyOwnerAlert(deps, { ...request, kind: request.kind });
  if (isPayoutNoticeKind(request.kind)) return notifyOwnerOfPayout(deps, { ...request, kind: request.kind });
  if (request.kind !== 'payment_received' && request.kind !== 'donation_received') {
    throw notificationError('unsupported_notification', `No owner notification is defined for ${request.kind}`, { kind: request.kind });
  }
  const now = deps.clock.now();
  const dedupeKey = `${request.kind}:${request.subjectId}`;
  // One statement: the channel's notification chat, this event's row (created pending, or skipped
  // when the owner turned notifications off; a redelivery finds the row already there), and what the
  // DM will say (read with the claim: the settlement that queued this committed before it).
  const { rows: found } = await deps.db.query<
    { isChannel: boolean; chatId: bigint | null; id: string | null; status: string | null; isClaimed: boolean } & ({ isPayment: true } & PaymentFacts | { isPayment: false })
  >(
    `WITH channel AS (
       SELECT notifications_enabled, notification_chat_id FROM channels WHERE id = $1),
     facts AS (${paymentFactsSql('$4::uuid')}),
     inserted AS (
       INSERT INTO owner_notifications (channel_id, kind, dedupe_key, chat_id, payment_id, status, created_at, updated_at, claimed_until)
       SELECT $1, $2, $3, notification_chat_id, $4, CASE WHEN notifications_enabled THEN 'pending' ELSE 'skipped' END, $5, $5,
              CASE WHEN notifications_enabled THEN $6::timestamptz END
         FROM channel WHERE notification_chat_id IS NOT NULL
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id, status)
     SELECT EXISTS (SELECT 1 FROM channel) AS "isChannel", (SELECT notification_chat_id FROM channel) AS "chatId",
            coalesce((SELECT id FROM inserted), (SELECT id FROM owner_notifications WHERE dedupe_key = $3)) AS id,
            coalesce((SELECT status FROM inserted), (SELECT status FROM owner_notifications WHERE dedupe_key = $3)) AS status,
            EXISTS (SELECT 1 FROM inserted) AS "isClaimed", facts.channel_id IS NOT NULL AS "isPayment", facts.*
       FROM (VALUES (1)) AS one (x) LEFT JOIN facts ON true`,
    [request.channelId, request.kind, dedupeKey, request.subjectId, now, ownerNoticeClaimUntil(now)],
  );
  const channel = found[0];
  if (!channel?.isChannel) throw notificationError('unknown_channel', 'No channel has this id', { channelId: request.channelId });
  if (channel.chatId === null) {
    deps.logger.info('owner_notification.no_chat', { channelId: request.channelId, kind: request.kind });
    return 'skipped';
  }
  if (channel.id === null || channel.status === null) {
    // A concurrent delivery inserted the row while this statement ran: its answer decides.
    throw notificationError('owner_notification_in_progress', 'Another delivery of this notification is running', { dedupeKey });
  }
  const notification = { id: channel.id, status: channel.status, chat_id: channel.chatId, isClaimed: channel.isClaimed };
  if (notification.status !== 'pending') return notification.status === 'skipped' ? 'skipped' : 'already_done';

  if (!channel.isPayment) throw notificationError('unknown_payment', 'No payment has this id', { paymentId: request.subjectId });
  return sendPendingOwnerNotification(deps, request, { id: notification.id, chatId: notification.chat_id, isClaimed: notification.isClaimed }, ownerPaymentText(channel), {
    isLinkPreviewShown: true,
  });
}
