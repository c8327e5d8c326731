import type { Chat, ChatMember } from 'grammy/types';
import * as z from 'zod';
import { requestTierPostRebuild } from '../broadcasts/schedules.js';
import { enqueueMessage } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import type { BotRightName, ChatRole } from '../texts/index.js';

/**
 * What the bot may do in a channel's two chats (`channels.bot_rights`): what each role needs, what
 * Telegram last reported, and the owner told when something goes missing. Registration checks the
 * rights with the Bot API (chat-ownership.ts); afterwards the bot's `my_chat_member` updates keep
 * them current (`recordBotRights`).
 */

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

/** The administrator flags (`can_…`) Telegram reports for the bot; none when it is no administrator. */
export function rightsOf(member: ChatMember): Record<string, boolean> {
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
export async function recordBotRights(deps: { db: Db; clock: Clock }, input: { chat: Chat; member: ChatMember; date: number; updateId?: number }): Promise<RecordedRights[]> {
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
        await requestTierPostRebuild(tx, channel.id);
      }
      recorded.push({ channelId: channel.id, role: channel.role, missing, isOwnerAlerted });
    }
    return recorded;
  });
}

/** True when the stored rights come from a later update than `input` (update ids order same-second changes). */
function isNewerThan(stored: { date: number; updateId?: number }, input: { date: number; updateId?: number }): boolean {
  if (stored.date !== input.date) return stored.date > input.date;
  return stored.updateId !== undefined && input.updateId !== undefined && stored.updateId > input.updateId;
}
