import * as z from 'zod';
import type { OwnerNotificationRequested } from '../messages/index.js';
import { type BotRightName, type IntruderRemoval, languageOf, translate } from '../texts/index.js';
import { toTelegramError } from '../telegram/index.js';
import type { NotificationDeps } from './owner-notifications.js';
import { ownerNoticeClaimUntil, sendPendingOwnerNotification } from './owner-notification-delivery.js';
import { notificationError } from './errors.js';

/**
 * Alerts about a channel's health, as opposed to payment news: the bot lacks rights it needs
 * (`bot_rights_missing`, subject `<open|closed>:<update date>`), or someone joined the closed chat
 * through another person's invite link (`invite_link_misused`, subject `<invite link id>:<user id>`),
 * a tier or donation post was refused for a missing right (`broadcast_failed`, subject
 * `<open|closed>:<rights>:<ms>`), or tier posts were switched off after repeated failures
 * (`broadcast_disabled`, subject `<ms>`).
 *
 * They reach the owner even with payment notifications off: to the notification chat when
 * notifications are on, else the owner's linked Telegram account, else the configured notification
 * chat. Text is in the owner's language. Each is sent once per dedupe key, like payment news.
 */
export const OWNER_ALERT_KINDS = ['bot_rights_missing', 'invite_link_misused', 'broadcast_failed', 'broadcast_disabled'] as const;
export type OwnerAlertKind = (typeof OWNER_ALERT_KINDS)[number];

export function isOwnerAlertKind(kind: string): kind is OwnerAlertKind {
  return (OWNER_ALERT_KINDS as readonly string[]).includes(kind);
}

const BOT_RIGHT_NAMES = ['membership', 'administrator', 'can_invite_users', 'can_restrict_members', 'can_post_messages', 'can_send_messages'] as const satisfies readonly BotRightName[];
const StoredRightsSchema = z.object({ missing: z.array(z.enum(BOT_RIGHT_NAMES)) });
const RightsSubjectSchema = z.string().regex(/^(open|closed):\d{1,12}$/);
const MisuseSubjectSchema = z.string().regex(/^[0-9a-f-]{36}:\d{1,20}$/);
const BroadcastFailureSubjectSchema = z.string().regex(/^(open|closed):[a-z_,]{1,200}:\d{1,15}$/);
const BROADCAST_RIGHT_NAMES = new Set<string>(['membership', 'administrator', 'can_post_messages']);

export interface ChannelFacts {
  open_title: string;
  closed_title: string;
  closed_chat_id: bigint;
  bot_rights: Record<string, unknown> | null;
  destination: bigint | null;
  language_code: string | null;
  /** The owner's payment-notifications setting (payout and progress news follow it too). */
  notifications_enabled: boolean;
}

interface Composed {
  /** Undefined when the situation resolved itself before we got to tell the owner. */
  text: string | undefined;
  paymentId: string | null;
}

/**
 * The SELECT of `ChannelFacts` for the channel `channelId` (SQL), for a stage that reads them with its
 * other facts in one statement (`LEFT JOIN LATERAL (…) f ON true`). The owner's DM is the destination
 * when notifications are off or no chat is set.
 */
export function channelFactsSql(channelId: string): string {
  return `SELECT c.open_title, c.closed_title, c.closed_chat_id, c.bot_rights, d.destination, u.language_code, c.notifications_enabled
     FROM channels c
     JOIN accounts a ON a.id = c.owner_account_id
     CROSS JOIN LATERAL (SELECT coalesce(CASE WHEN c.notifications_enabled THEN c.notification_chat_id END,
                                         a.telegram_user_id, c.notification_chat_id) AS destination) d
     LEFT JOIN telegram_users u ON u.id = d.destination
     WHERE c.id = ${channelId}`;
}

export async function channelFacts(deps: NotificationDeps, channelId: string): Promise<ChannelFacts> {
  const { rows } = await deps.db.query<ChannelFacts>(channelFactsSql('$1'), [channelId]);
  const channel = rows[0];
  if (!channel) throw notificationError('unknown_channel', 'No channel has this id', { channelId });
  return channel;
}

function composeRightsAlert(facts: ChannelFacts, request: OwnerNotificationRequested): Composed {
  const subject = RightsSubjectSchema.safeParse(request.subjectId);
  if (!subject.success) throw notificationError('invalid_notification_subject', 'bot_rights_missing needs <open|closed>:<date>', { subjectId: request.subjectId });
  const role = subject.data.startsWith('closed') ? 'closed' : 'open';
  const stored = StoredRightsSchema.safeParse(facts.bot_rights?.[role]);
  // Re-read now: rights fixed since the warning was queued need no warning.
  if (!stored.success || stored.data.missing.length === 0) return { text: undefined, paymentId: null };
  const title = role === 'closed' ? facts.closed_title : facts.open_title;
  return { text: translate(languageOf(facts.language_code), 'botRightsMissing', role, title, stored.data.missing), paymentId: null };
}

async function composeMisuseAlert(deps: NotificationDeps, facts: ChannelFacts, request: OwnerNotificationRequested): Promise<Composed> {
  const subject = MisuseSubjectSchema.safeParse(request.subjectId);
  if (!subject.success) throw notificationError('invalid_notification_subject', 'invite_link_misused needs <link id>:<user id>', { subjectId: request.subjectId });
  const [linkId, userId] = subject.data.split(':') as [string, string];
  const { rows } = await deps.db.query<{ payment_id: string; username: string | null; first_name: string | null; last_name: string | null }>(
    `SELECT l.payment_id, u.username, u.first_name, u.last_name
     FROM invite_links l LEFT JOIN telegram_users u ON u.id = $2
     WHERE l.id = $1`,
    [linkId, userId],
  );
  const link = rows[0];
  if (!link) throw notificationError('unknown_invite_link', 'No invite link has this id', { linkId });
  const name = [link.first_name, link.last_name].filter(Boolean).join(' ') || 'Unknown user';
  const intruder = link.username ? `@${link.username} (${name}, id ${userId})` : `${name} (id ${userId})`;
  let removal: IntruderRemoval = 'unknown';
  try {
    const member = await deps.telegram.getChatMember(Number(facts.closed_chat_id), Number(userId));
    const isIn = member.status === 'member' || member.status === 'administrator' || member.status === 'creator' || (member.status === 'restricted' && member.is_member);
    removal = isIn ? 'still_member' : 'removed';
  } catch (error) {
    deps.logger.warn('owner_notification.membership_unknown', { channelId: request.channelId, error: toTelegramError(error) });
  }
  return { text: translate(languageOf(facts.language_code), 'inviteLinkMisused', facts.closed_title, intruder, removal), paymentId: link.payment_id };
}

interface BroadcastScheduleFacts {
  is_enabled: boolean;
  disabled_reason: string | null;
  consecutive_failures: number;
  last_error: string | null;
  last_failure_reason: string | null;
}

async function broadcastScheduleFacts(deps: NotificationDeps, channelId: string): Promise<BroadcastScheduleFacts | undefined> {
  const { rows } = await deps.db.query<BroadcastScheduleFacts>(
    'SELECT is_enabled, disabled_reason, consecutive_failures, last_error, last_failure_reason FROM broadcast_schedules WHERE channel_id = $1',
    [channelId],
  );
  return rows[0];
}

/** Re-read now: a post that has gone up since (the owner fixed the right) needs no warning. */
async function composeBroadcastFailure(deps: NotificationDeps, facts: ChannelFacts, request: OwnerNotificationRequested): Promise<Composed> {
  const subject = BroadcastFailureSubjectSchema.safeParse(request.subjectId);
  if (!subject.success) throw notificationError('invalid_notification_subject', 'broadcast_failed needs <open|closed>:<rights>:<ms>', { subjectId: request.subjectId });
  const [role, names] = subject.data.split(':') as ['open' | 'closed', string];
  const missing = names.split(',').filter((name): name is BotRightName => BROADCAST_RIGHT_NAMES.has(name));
  const schedule = await broadcastScheduleFacts(deps, request.channelId);
  if (!schedule?.last_failure_reason) return { text: undefined, paymentId: null };
  const title = role === 'closed' ? facts.closed_title : facts.open_title;
  return { text: translate(languageOf(facts.language_code), 'tierPostRefused', role, title, missing), paymentId: null };
}

async function composeBroadcastDisabled(deps: NotificationDeps, facts: ChannelFacts, request: OwnerNotificationRequested): Promise<Composed> {
  const schedule = await broadcastScheduleFacts(deps, request.channelId);
  if (!schedule || schedule.disabled_reason !== 'too_many_failures') return { text: undefined, paymentId: null };
  return { text: translate(languageOf(facts.language_code), 'broadcastDisabled', facts.open_title, schedule.consecutive_failures, schedule.last_error), paymentId: null };
}

/** The notify-owner stage for alert kinds; same outcomes as `notifyOwner`. */
export async function notifyOwnerAlert(deps: NotificationDeps, request: OwnerNotificationRequested & { kind: OwnerAlertKind }): Promise<'sent' | 'skipped' | 'already_done'> {
  const dedupeKey = `${request.kind}:${request.channelId}:${request.subjectId}`;
  const done = await finishedOutcome(deps, dedupeKey);
  if (done) return done;
  const facts = await channelFacts(deps, request.channelId);
  if (!facts.destination) {
    deps.logger.warn('owner_notification.no_chat', { channelId: request.channelId, kind: request.kind });
    return 'skipped';
  }
  const composed =
    request.kind === 'bot_rights_missing'
      ? composeRightsAlert(facts, request)
      : request.kind === 'invite_link_misused'
        ? await composeMisuseAlert(deps, facts, request)
        : request.kind === 'broadcast_failed'
          ? await composeBroadcastFailure(deps, facts, request)
          : await composeBroadcastDisabled(deps, facts, request);
  return deliverOwnerMessage(deps, request, { dedupeKey, chatId: facts.destination, text: composed.text, paymentId: composed.paymentId });
}

/** The outcome of a notification already sent or given up on; undefined while it is still to do. */
export async function finishedOutcome(deps: NotificationDeps, dedupeKey: string): Promise<'skipped' | 'already_done' | undefined> {
  const { rows } = await deps.db.query<{ status: string }>('SELECT status FROM owner_notifications WHERE dedupe_key = $1', [dedupeKey]);
  return outcomeOfStatus(rows[0]?.status ?? null);
}

/** `finishedOutcome` of a notification's stored status (null: no row yet). */
export function outcomeOfStatus(status: string | null): 'skipped' | 'already_done' | undefined {
  if (status === null || status === 'pending') return undefined;
  return status === 'skipped' ? 'skipped' : 'already_done';
}

/**
 * Records the notification under its dedupe key (once) and sends it, unless it was sent already.
 * `text` undefined records it as skipped (the situation resolved itself). A user who blocked the bot,
 * or any permanent Telegram refusal, ends it as failed; a transient one is thrown for a retry.
 */
export async function deliverOwnerMessage(
  deps: NotificationDeps,
  request: OwnerNotificationRequested,
  message: { dedupeKey: string; chatId: bigint; text: string | undefined; paymentId?: string | null; payoutId?: string | null },
): Promise<'sent' | 'skipped' | 'already_done'> {
  const now = deps.clock.now();
  // One statement: this notification's row, created (pending, or skipped without a text) or as an
  // earlier delivery left it.
  const { rows } = await deps.db.query<{ id: string; status: string; chat_id: bigint; isClaimed: boolean }>(
    `WITH inserted AS (
       INSERT INTO owner_notifications (channel_id, kind, dedupe_key, chat_id, payment_id, payout_id, status, created_at, updated_at, claimed_until)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, CASE WHEN $7 = 'pending' THEN $9::timestamptz END) ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id, status, chat_id)
     SELECT id, status, chat_id, true AS "isClaimed" FROM inserted
     UNION ALL
     SELECT id, status, chat_id, false FROM owner_notifications WHERE dedupe_key = $3 AND NOT EXISTS (SELECT 1 FROM inserted)`,
    [
      request.channelId,
      request.kind,
      message.dedupeKey,
      message.chatId,
      message.paymentId ?? null,
      message.payoutId ?? null,
      message.text === undefined ? 'skipped' : 'pending',
      now,
      ownerNoticeClaimUntil(now),
    ],
  );
  const notification = rows[0];
  if (!notification) {
    // A concurrent delivery inserted the row while this statement ran: its answer decides.
    throw notificationError('owner_notification_in_progress', 'Another delivery of this notification is running', { dedupeKey: message.dedupeKey });
  }
  if (notification.status !== 'pending' || message.text === undefined) return notification.status === 'skipped' ? 'skipped' : 'already_done';

  return sendPendingOwnerNotification(deps, request, { id: notification.id, chatId: notification.chat_id, isClaimed: notification.isClaimed }, message.text, {
    isLinkPreviewShown: false,
  });
}
