import { type Api, Composer } from 'grammy';
import type { Chat, ChatMember, User } from 'grammy/types';
import { z } from 'zod';
import { enqueueMessage } from '../../bus/index.js';
import { upsertTelegramUser } from '../../checkout/index.js';
import type { Clock } from '../../clock/index.js';
import type { Db } from '../../db/index.js';
import type { Logger } from '../../logging/index.js';
import { findInviteLink, recordInviteJoin, recordInviteRevoked } from '../../subscriptions/index.js';
import { toTelegramError } from '../../telegram/telegram-errors.js';
import type { BotContext } from '../context.js';
import type { BotRightName, ChatRole } from '../../texts/index.js';
import { featureBoundary } from './feature-boundary.js';
import { profileOf } from './telegram-user.js';

export interface MembershipDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

// ---- the bot's own rights (my_chat_member) ----

/** What we keep per chat in `channels.bot_rights` (`{"open": …, "closed": …}`). */
export const StoredChatRightsSchema = z.object({
  status: z.string(),
  chatType: z.string(),
  /** The administrator rights Telegram reported (only `true`/`false` flags). */
  rights: z.record(z.string(), z.boolean()),
  /** What the chat's role needs and the bot lacks; empty when all is well. */
  missing: z.array(z.string()),
  /** Unix seconds of the `my_chat_member` update: an older update never overwrites a newer one. */
  date: z.number().int(),
  /**
   * The update's id, which Telegram increases by one per update: it orders two changes made in the
   * same second, which Telegram may deliver concurrently (webhook max_connections > 1).
   */
  updateId: z.number().int().optional(),
});
export type StoredChatRights = z.infer<typeof StoredChatRightsSchema>;

function isAdministrator(member: ChatMember): member is Extract<ChatMember, { status: 'administrator' }> {
  return member.status === 'administrator';
}

/**
 * The rights a chat's role needs that the bot lacks, in the owner's terms. The closed chat needs an
 * administrator who may invite (one-time links) and ban (expiry, impostors); an open channel needs
 * one who may post; an open group only needs the bot to be able to write.
 */
export function missingBotRights(role: ChatRole, chatType: Chat['type'], member: ChatMember): BotRightName[] {
  const isIn = member.status !== 'left' && member.status !== 'kicked';
  if (role === 'open' && chatType !== 'channel') {
    const canWrite = member.status === 'administrator' || member.status === 'creator' || member.status === 'member' || (member.status === 'restricted' && member.can_send_messages);
    return canWrite ? [] : isIn ? ['can_send_messages'] : ['membership', 'can_send_messages'];
  }
  const needed: readonly BotRightName[] = role === 'closed' ? ['can_invite_users', 'can_restrict_members'] : ['can_post_messages'];
  if (!isAdministrator(member)) return [isIn ? 'administrator' : 'membership', ...needed];
  return needed.filter((right) => !(member as unknown as Record<string, unknown>)[right]);
}

function rightsOf(member: ChatMember): Record<string, boolean> {
  if (!isAdministrator(member)) return {};
  const flags: Record<string, boolean> = {};
  for (const [key, value] of Object.entries(member)) if (key.startsWith('can_') && typeof value === 'boolean') flags[key] = value;
  return flags;
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((item) => b.includes(item));

export interface RecordedRights {
  channelId: string;
  role: ChatRole;
  missing: BotRightName[];
  /** True when the owner is being told (the missing set is new). */
  isOwnerAlerted: boolean;
}

/**
 * Records what the bot may do in a chat on every channel that uses it (open or closed), and when
 * the bot now lacks something the role needs that it did not lack before, asks notify-owner to tell
 * the owner (kind `bot_rights_missing`, through the outbox in the same transaction). Stale updates
 * (older than the stored one) change nothing.
 */
export async function recordBotRights(deps: MembershipDeps, input: { chat: Chat; member: ChatMember; date: number; updateId?: number }): Promise<RecordedRights[]> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const { rows } = await tx.query<{ id: string; role: ChatRole; bot_rights: Record<string, unknown> | null }>(
      `SELECT id, CASE WHEN closed_chat_id = $1 THEN 'closed' ELSE 'open' END AS role, bot_rights
       FROM channels WHERE deleted_at IS NULL AND (open_chat_id = $1 OR closed_chat_id = $1)
       ORDER BY id FOR UPDATE`,
      [input.chat.id],
    );
    const recorded: RecordedRights[] = [];
    for (const channel of rows) {
      const previous = StoredChatRightsSchema.safeParse(channel.bot_rights?.[channel.role]);
      if (previous.success && isNewerThan(previous.data, input)) continue;
      const missing = missingBotRights(channel.role, input.chat.type, input.member);
      const stored: StoredChatRights = {
        status: input.member.status,
        chatType: input.chat.type,
        rights: rightsOf(input.member),
        missing,
        date: input.date,
        ...(input.updateId === undefined ? {} : { updateId: input.updateId }),
      };
      await tx.query(
        `UPDATE channels SET bot_rights = coalesce(bot_rights, '{}'::jsonb) || jsonb_build_object($2::text, $3::jsonb),
           bot_rights_checked_at = $4, updated_at = $4
         WHERE id = $1`,
        [channel.id, channel.role, JSON.stringify(stored), now],
      );
      const isOwnerAlerted = missing.length > 0 && !(previous.success && sameSet(previous.data.missing, missing));
      if (isOwnerAlerted) {
        await enqueueMessage(
          tx,
          'owner-notification-requested',
          { kind: 'bot_rights_missing', channelId: channel.id, subjectId: `${channel.role}:${input.date}` },
          { at: now, dedupeKey: `bot_rights_missing:${channel.id}:${channel.role}:${input.date}` },
        );
      }
      if (channel.role === 'open' && missing.length === 0 && previous.success && previous.data.missing.length > 0) {
        // The owner gave the bot back what posting needs: the tier post goes up at the next tick, not the next retry.
        await tx.query('UPDATE broadcast_schedules SET rebuild_requested = true WHERE channel_id = $1', [channel.id]);
      }
      recorded.push({ channelId: channel.id, role: channel.role, missing, isOwnerAlerted });
    }
    return recorded;
  });
}

/**
 * A user blocked (`kicked`) or unblocked the bot in their private chat: DM stages (invites,
 * reminders) skip a blocked user and try again once they are back. A user we never stored is left
 * alone: they are recorded when they first use the bot.
 */
export async function recordDirectMessageReach(deps: MembershipDeps, telegramUserId: bigint, isBlocked: boolean): Promise<void> {
  const now = deps.clock.now();
  await deps.db.query(
    `UPDATE telegram_users SET dm_blocked_at = CASE WHEN $2 THEN coalesce(dm_blocked_at, $3) END, updated_at = $3
      WHERE id = $1 AND (dm_blocked_at IS NULL) = $2`,
    [telegramUserId, isBlocked, now],
  );
}

/** True when the stored rights come from a later update than `input` (update ids order same-second changes). */
function isNewerThan(stored: { date: number; updateId?: number }, input: { date: number; updateId?: number }): boolean {
  if (stored.date !== input.date) return stored.date > input.date;
  return stored.updateId !== undefined && input.updateId !== undefined && stored.updateId > input.updateId;
}

// ---- the leak guard (chat_member) ----

const isInChat = (member: ChatMember) =>
  member.status === 'member' || member.status === 'administrator' || member.status === 'creator' || (member.status === 'restricted' && member.is_member);

/** True when the update moves a user from outside the chat to inside it. */
export function isJoin(before: ChatMember, after: ChatMember): boolean {
  return !isInChat(before) && (after.status === 'member' || (after.status === 'restricted' && after.is_member));
}

// Telegram treats a ban shorter than 30 s as permanent; the unban follows at once anyway.
const BAN_SECONDS = 60;

export type JoinVerdict = 'unknown_link' | 'subscriber_joined' | 'intruder_removed' | 'intruder_not_removed';

/**
 * Runs a Telegram call; a refusal (bad request, missing rights) is logged and reported as false, a
 * transient failure (429 beyond the auto-retry, 5xx, network) is thrown so the update is redelivered.
 */
async function attempt(logger: Logger, operation: string, context: Record<string, unknown>, call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    const failure = toTelegramError(error, { ...context, operation });
    if (failure.isRetryable) throw failure;
    logger.warn('invite_guard.call_refused', { ...context, operation, error: failure });
    return false;
  }
}

/**
 * The leak guard for a join through an invite link. A link we did not make is ignored. The
 * subscriber the link was made for: the join is recorded on the link and the link revoked. Anyone
 * else: removed (ban with a short until_date, then unban so the removal is not permanent), the link
 * revoked, and the owner told (kind `invite_link_misused`, through the outbox). Telegram calls
 * happen outside any transaction; every step is safe to repeat on redelivery.
 */
export async function guardInviteJoin(
  deps: MembershipDeps & { telegram: Api },
  input: { chatId: number; user: User; inviteLink: string },
): Promise<JoinVerdict> {
  const link = await findInviteLink(deps.db, input.inviteLink);
  if (!link || String(link.chat_id) !== String(input.chatId)) return 'unknown_link';
  const context = { inviteLinkId: link.id, channelId: link.channel_id, userId: input.user.id };

  const revoke = () => attempt(deps.logger, 'revokeChatInviteLink', context, () => deps.telegram.revokeChatInviteLink(input.chatId, input.inviteLink));

  if (String(link.subscriber_id) === String(input.user.id)) {
    const isRevoked = await revoke();
    const now = deps.clock.now();
    await recordInviteJoin(deps.db, { linkId: link.id, telegramUserId: input.user.id, isRevoked, at: now });
    deps.logger.info('invite_guard.subscriber_joined', { ...context, isRevoked });
    return 'subscriber_joined';
  }

  const untilDate = Math.floor(deps.clock.now().getTime() / 1000) + BAN_SECONDS;
  const isBanned = await attempt(deps.logger, 'banChatMember', context, () => deps.telegram.banChatMember(input.chatId, input.user.id, { until_date: untilDate }));
  if (isBanned) {
    await attempt(deps.logger, 'unbanChatMember', context, () => deps.telegram.unbanChatMember(input.chatId, input.user.id, { only_if_banned: true }));
  }
  const isRevoked = await revoke();
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    await upsertTelegramUser(tx, profileOf(input.user));
    if (isRevoked) await recordInviteRevoked(tx, link.id, now);
    await enqueueMessage(
      tx,
      'owner-notification-requested',
      { kind: 'invite_link_misused', channelId: link.channel_id, subjectId: `${link.id}:${input.user.id}` },
      { at: now, dedupeKey: `invite_link_misused:${link.id}:${input.user.id}` },
    );
  });
  deps.logger.warn('invite_guard.intruder', { ...context, isBanned, isRevoked });
  return isBanned ? 'intruder_removed' : 'intruder_not_removed';
}

/**
 * Chat membership: records the bot's rights when it is added, promoted, demoted or removed
 * (`my_chat_member` in groups and channels), and guards joins through our invite links
 * (`chat_member`). Private-chat `my_chat_member` (a user blocking or unblocking the bot) is
 * recorded for the DM stages, then passes on.
 */
export function membershipFeature(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const guarded = composer.errorBoundary(featureBoundary('membership'));

  guarded.on('my_chat_member', async (ctx, next) => {
    const update = ctx.myChatMember;
    if (update.chat.type === 'private') {
      await recordDirectMessageReach(ctx.deps, BigInt(update.chat.id), update.new_chat_member.status === 'kicked');
      return next();
    }
    const recorded = await recordBotRights(ctx.deps, { chat: update.chat, member: update.new_chat_member, date: update.date, updateId: ctx.update.update_id });
    if (recorded.length === 0) ctx.deps.logger.info('bot_rights.unknown_chat', { chatId: update.chat.id, status: update.new_chat_member.status });
    for (const entry of recorded) ctx.deps.logger.info('bot_rights.recorded', { chatId: update.chat.id, ...entry });
  });

  guarded.on('chat_member', async (ctx) => {
    const update = ctx.chatMember;
    if (!update.invite_link || !isJoin(update.old_chat_member, update.new_chat_member)) return;
    await guardInviteJoin(
      { ...ctx.deps, telegram: ctx.api },
      { chatId: update.chat.id, user: update.new_chat_member.user, inviteLink: update.invite_link.invite_link },
    );
  });

  return composer;
}
