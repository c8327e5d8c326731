import { type Api, Composer } from 'grammy';
import type { ChatMember, User } from 'grammy/types';
import { enqueueMessage } from '../../bus/index.js';
import { recordBotRights } from '../../channels/chat-rights.js';
import type { Clock } from '../../clock/index.js';
import type { Db } from '../../db/index.js';
import type { Logger } from '../../logging/index.js';
import { findInviteLink, recordInviteJoin, recordInviteRevoked } from '../../subscriptions/index.js';
import { toTelegramError } from '../../telegram/telegram-errors.js';
import { recordDirectMessageReach, upsertTelegramUser } from '../../telegram-users/index.js';
import type { BotContext } from '../context.js';
import { featureBoundary } from './feature-boundary.js';
import { profileOf } from './telegram-user.js';

export interface MembershipDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
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
      await recordDirectMessageReach(ctx.deps.db, BigInt(update.chat.id), update.new_chat_member.status === 'kicked', ctx.deps.clock.now());
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
