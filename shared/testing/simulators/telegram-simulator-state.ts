import * as z from 'zod';
import type { ChatInviteLink, Update, User } from 'grammy/types';
import type { InviteLinkRecord } from './telegram-simulator-world.js';

/**
 * The Telegram simulator's state file: users, chats, memberships, invite links, the messages the
 * sandbox page shows, answered button presses, bot commands, and the update counter with any update
 * still queued, so that a restarted sandbox continues the same conversations. Telegram's own
 * objects (users, invite links, updates) are checked for their keys and kept as they are.
 */
const UserSchema = z.looseObject({ id: z.number().int(), is_bot: z.boolean(), first_name: z.string() }).transform((user) => user as User);
const MembershipSchema = z.object({
  status: z.enum(['creator', 'administrator', 'member', 'left', 'kicked']),
  rights: z.record(z.string(), z.boolean()).optional(),
  untilDate: z.number().int().optional(),
  inviteLink: z.string().optional(),
});
const InviteLinkSchema = z
  .looseObject({ invite_link: z.string(), chatId: z.number().int(), joinedUserIds: z.array(z.number().int()) })
  .transform((link) => link as unknown as InviteLinkRecord & ChatInviteLink);
const MessageSchema = z.object({
  chatId: z.number().int(),
  messageId: z.number().int().positive(),
  fromBot: z.boolean(),
  fromUserId: z.number().int(),
  date: z.number().int(),
  text: z.string(),
  plainText: z.string(),
  parseMode: z.string().optional(),
  replyMarkup: z.unknown().optional(),
  linkPreviewOptions: z.unknown().optional(),
  entities: z.array(z.unknown()).optional(),
  editDate: z.number().int().optional(),
  deleted: z.boolean(),
});

export const TelegramWorldStateSchema = z.object({
  users: z.array(z.object({ user: UserSchema, blocked: z.boolean(), deactivated: z.boolean(), started: z.boolean() })),
  chats: z.array(
    z.object({
      id: z.number().int(),
      type: z.enum(['private', 'group', 'supergroup', 'channel']),
      title: z.string().optional(),
      username: z.string().optional(),
      nextMessageId: z.number().int().positive(),
    }),
  ),
  members: z.array(z.object({ chatId: z.number().int(), userId: z.number().int(), membership: MembershipSchema })),
  links: z.array(InviteLinkSchema),
  messages: z.array(MessageSchema),
  callbackQueries: z.array(z.object({ id: z.string(), answered: z.boolean() })),
  commands: z.array(z.object({ key: z.string(), commands: z.array(z.unknown()) })),
});

export const TelegramSimulatorStateSchema = z.object({
  version: z.literal(1),
  world: TelegramWorldStateSchema,
  /** The update_id the next update gets: Telegram's ids only grow, across restarts too. */
  nextUpdateId: z.number().int().positive(),
  /** Updates queued for getUpdates (no webhook was set). */
  pendingUpdates: z.array(z.looseObject({ update_id: z.number().int() }).transform((update) => update as unknown as Update)),
});

export type TelegramWorldState = z.infer<typeof TelegramWorldStateSchema>;
export type TelegramSimulatorState = z.infer<typeof TelegramSimulatorStateSchema>;

