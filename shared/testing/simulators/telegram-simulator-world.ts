import { randomBytes } from 'node:crypto';
import type { Chat, ChatAdministratorRights, ChatInviteLink, ChatMember, Message, Update, User, UserFromGetMe } from 'grammy/types';
import type { Clock } from '../../clock/index.js';
import type { TelegramWorldState } from './telegram-simulator-state.js';

/**
 * The state of the simulated Telegram behind `telegram-simulator.ts`: users, chats, memberships,
 * invite links and messages, the JSON Telegram shows for them, and what tests set up and users do.
 * The Bot API methods acting on it are in `telegram-simulator-methods.ts`.
 */

export type ChatType = 'private' | 'group' | 'supergroup' | 'channel';
export type MemberStatus = 'creator' | 'administrator' | 'member' | 'restricted' | 'left' | 'kicked';
/** An update before the transport numbers it. */
export type UpdateBody = Omit<Update, 'update_id'>;
export type Payload = Record<string, unknown>;

export interface UserRecord {
  user: User;
  blocked: boolean;
  deactivated: boolean;
  /** Pressed Start (or wrote to the bot): only then may the bot open the conversation. */
  started: boolean;
}

export interface ChatRecord {
  id: number;
  type: ChatType;
  title?: string;
  username?: string;
  nextMessageId: number;
}

export interface Membership {
  status: 'creator' | 'administrator' | 'member' | 'left' | 'kicked';
  rights?: ChatAdministratorRights;
  /** Ban end in Unix seconds; 0 = forever. */
  untilDate?: number;
  /** The invite link the member joined with, for `member_limit`. */
  inviteLink?: string;
}

export interface InviteLinkRecord extends ChatInviteLink {
  chatId: number;
  /** Everyone who ever joined with the link, in order. */
  joinedUserIds: number[];
}

export interface MessageRecord {
  chatId: number;
  messageId: number;
  fromBot: boolean;
  fromUserId: number;
  date: number;
  /** As sent: HTML source when `parseMode` is 'HTML'. */
  text: string;
  /** What Telegram shows: `text` without markup. */
  plainText: string;
  parseMode?: string;
  replyMarkup?: unknown;
  linkPreviewOptions?: unknown;
  entities?: unknown[];
  editDate?: number;
  deleted: boolean;
}

/** Every administrator right, as Telegram lists them for a bot that was given all it can get. */
export const FULL_RIGHTS: ChatAdministratorRights = {
  is_anonymous: false,
  can_manage_chat: true,
  can_delete_messages: true,
  can_manage_video_chats: true,
  can_restrict_members: true,
  can_promote_members: false,
  can_change_info: true,
  can_invite_users: true,
  can_post_stories: true,
  can_edit_stories: true,
  can_delete_stories: true,
  can_post_messages: true,
  can_edit_messages: true,
  can_pin_messages: true,
  can_manage_topics: false,
  can_send_welcome_messages: false,
};

export interface WorldOptions {
  bot: UserFromGetMe;
  clock: Clock;
  /** A world saved by `snapshot()` (a restart); default an empty one. */
  initial?: TelegramWorldState;
}

export type World = ReturnType<typeof createWorld>;

export function createWorld({ bot, clock, initial }: WorldOptions) {
  const messageKey = (chatId: number, messageId: number) => `${chatId}/${messageId}`;
  const users = new Map<number, UserRecord>(initial?.users.map((record) => [record.user.id, record]));
  const chats = new Map<number, ChatRecord>(initial?.chats.map((chat) => [chat.id, chat]));
  const members = new Map<number, Map<number, Membership>>();
  for (const { chatId, userId, membership } of initial?.members ?? []) {
    const chatMembers = members.get(chatId) ?? new Map<number, Membership>();
    chatMembers.set(userId, membership as Membership);
    members.set(chatId, chatMembers);
  }
  const links = new Map<string, InviteLinkRecord>(initial?.links.map((link) => [link.invite_link, link]));
  const messages = new Map<string, MessageRecord>(initial?.messages.map((message) => [messageKey(message.chatId, message.messageId), message]));
  const callbackQueries = new Map<string, { answered: boolean }>(initial?.callbackQueries.map(({ id, answered }) => [id, { answered }]));
  const commands = new Map<string, unknown[]>(initial?.commands.map(({ key, commands: list }) => [key, list]));
  const botUser: User = { id: bot.id, is_bot: true, first_name: bot.first_name, username: bot.username };

  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

  function userRecord(userId: number): UserRecord {
    const record = users.get(userId);
    if (!record) throw new Error(`Telegram simulator: unknown user ${userId}; call addUser first`);
    return record;
  }

  function chatRecord(chatId: number): ChatRecord {
    const chat = chats.get(chatId);
    if (!chat) throw new Error(`Telegram simulator: unknown chat ${chatId}; call addChat (or addUser for a private chat) first`);
    return chat;
  }

  function userJson(userId: number): User {
    if (userId === bot.id) return botUser;
    return users.get(userId)?.user ?? { id: userId, is_bot: false, first_name: '' };
  }

  function chatJson(chat: ChatRecord): Chat {
    if (chat.type === 'private') {
      const user = userJson(chat.id);
      return { id: chat.id, type: 'private', first_name: user.first_name, ...(user.last_name && { last_name: user.last_name }), ...(user.username && { username: user.username }) };
    }
    const username = chat.username && chat.type !== 'group' ? { username: chat.username } : {};
    return { id: chat.id, type: chat.type, title: chat.title ?? '', ...username } as Chat;
  }

  /** The membership in force now: a temporary ban whose `until_date` has passed reads as `left`. */
  function membershipOf(chatId: number, userId: number): Membership {
    const membership = members.get(chatId)?.get(userId);
    if (!membership) return { status: 'left' };
    if (membership.status === 'kicked' && membership.untilDate && membership.untilDate <= nowSeconds()) return { status: 'left' };
    return membership;
  }

  function setMembership(chatId: number, userId: number, membership: Membership): void {
    let chatMembers = members.get(chatId);
    if (!chatMembers) members.set(chatId, (chatMembers = new Map()));
    chatMembers.set(userId, membership);
  }

  function chatMemberJson(chatId: number, userId: number): ChatMember {
    const user = userJson(userId);
    const membership = membershipOf(chatId, userId);
    switch (membership.status) {
      case 'creator':
        return { status: 'creator', user, is_anonymous: false };
      case 'administrator':
        return { status: 'administrator', user, can_be_edited: false, ...(membership.rights ?? FULL_RIGHTS) };
      case 'member':
        return { status: 'member', user };
      case 'kicked':
        return { status: 'kicked', user, until_date: membership.untilDate ?? 0 };
      case 'left':
        return { status: 'left', user };
    }
  }

  function linkJson(link: InviteLinkRecord): ChatInviteLink {
    const { chatId: _chatId, joinedUserIds: _joined, ...json } = link;
    return { ...json };
  }

  /** Members who joined with `link` and are still in the chat; `member_limit` counts these. */
  function currentMembersVia(link: InviteLinkRecord): number {
    const chatMembers = members.get(link.chatId);
    if (!chatMembers) return 0;
    let count = 0;
    for (const [userId, membership] of chatMembers) {
      if (membership.inviteLink === link.invite_link && membershipOf(link.chatId, userId).status === 'member') count += 1;
    }
    return count;
  }

  /**
   * Sets a membership and returns the update Telegram would send about it: `my_chat_member` for the
   * bot itself, `chat_member` for others only while the bot is an administrator there (Telegram sends
   * member updates to admin bots only). Undefined when nothing visible changed.
   */
  function changeMembership(chatId: number, userId: number, next: Membership, from: User, inviteLink?: InviteLinkRecord): UpdateBody | undefined {
    const chat = chatRecord(chatId);
    const before = chatMemberJson(chatId, userId);
    setMembership(chatId, userId, next);
    const after = chatMemberJson(chatId, userId);
    if (JSON.stringify(before) === JSON.stringify(after)) return undefined;
    const change = { chat: chatJson(chat), from, date: nowSeconds(), old_chat_member: before, new_chat_member: after };
    if (userId === bot.id) return { my_chat_member: change } as UpdateBody;
    if (membershipOf(chatId, bot.id).status !== 'administrator') return undefined;
    return { chat_member: { ...change, ...(inviteLink && { invite_link: linkJson(inviteLink) }) } } as UpdateBody;
  }

  function messageJson(record: MessageRecord): Message {
    const chat = chatRecord(record.chatId);
    const sender = chat.type === 'channel' ? { sender_chat: chatJson(chat) } : { from: record.fromBot ? botUser : userJson(record.fromUserId) };
    const markup = record.replyMarkup as { inline_keyboard?: unknown } | undefined;
    return {
      message_id: record.messageId,
      ...sender,
      chat: chatJson(chat),
      date: record.date,
      ...(record.editDate !== undefined && { edit_date: record.editDate }),
      text: record.plainText,
      ...(record.entities && { entities: record.entities }),
      ...(record.linkPreviewOptions !== undefined && { link_preview_options: record.linkPreviewOptions }),
      ...(markup?.inline_keyboard !== undefined && { reply_markup: markup }),
    } as Message;
  }

  function addMessage(chat: ChatRecord, fields: Omit<MessageRecord, 'chatId' | 'messageId' | 'date' | 'deleted'>): MessageRecord {
    const record: MessageRecord = { chatId: chat.id, messageId: chat.nextMessageId++, date: nowSeconds(), deleted: false, ...fields };
    messages.set(messageKey(chat.id, record.messageId), record);
    return record;
  }

  // ---- what tests set up and what users do ----

  return {
    bot,
    botUser,
    users,
    chats,
    members,
    links,
    callbackQueries,
    commands,
    nowSeconds,
    findMessage: (chatId: number, messageId: number) => messages.get(messageKey(chatId, messageId)),
    userRecord,
    chatRecord,
    userJson,
    chatJson,
    membershipOf,
    chatMemberJson,
    linkJson,
    changeMembership,
    messageJson,
    addMessage,

    /** Everything above as plain data, for the state file; `initial` takes it back. */
    snapshot(): TelegramWorldState {
      return {
        users: [...users.values()],
        chats: [...chats.values()],
        members: [...members].flatMap(([chatId, chatMembers]) => [...chatMembers].map(([userId, membership]) => ({ chatId, userId, membership: membership as TelegramWorldState['members'][number]['membership'] }))),
        links: [...links.values()],
        messages: [...messages.values()],
        callbackQueries: [...callbackQueries].map(([id, { answered }]) => ({ id, answered })),
        commands: [...commands].map(([key, list]) => ({ key, commands: list })),
      };
    },

    addUser(user: User, options: { startedBot?: boolean } = {}): void {
      if (chats.has(user.id) && chats.get(user.id)!.type !== 'private') throw new Error(`Telegram simulator: id ${user.id} is a group or channel`);
      users.set(user.id, { user: { ...user }, blocked: false, deactivated: false, started: options.startedBot ?? true });
      if (!chats.has(user.id)) chats.set(user.id, { id: user.id, type: 'private', nextMessageId: 1 });
    },

    addChat(chat: { id: number; type: ChatType; title?: string; username?: string }): void {
      if (chats.has(chat.id)) throw new Error(`Telegram simulator: chat ${chat.id} already exists`);
      if (chat.type === 'private' ? chat.id <= 0 : chat.id >= 0) throw new Error(`Telegram simulator: a ${chat.type} chat id must be ${chat.type === 'private' ? 'positive' : 'negative'}`);
      if (chat.type === 'private') userRecord(chat.id);
      chats.set(chat.id, { ...chat, title: chat.title ?? (chat.type === 'private' ? undefined : `Test ${chat.type} ${chat.id}`), nextMessageId: 1 });
    },

    /** Changes the bot's own membership; returns the `my_chat_member` update. */
    setBotMembership(chatId: number, status: 'administrator' | 'member' | 'left' | 'kicked', rights?: Partial<ChatAdministratorRights>): UpdateBody | undefined {
      const chat = chatRecord(chatId);
      if (chat.type === 'private') throw new Error('Telegram simulator: use blockBot for the bot in a private chat');
      const creatorId = [...(members.get(chatId) ?? [])].find(([, m]) => m.status === 'creator')?.[0];
      const membership: Membership =
        status === 'administrator' ? { status, rights: { ...FULL_RIGHTS, ...rights, can_manage_chat: true } }
        : status === 'kicked' ? { status, untilDate: 0 }
        : { status };
      return changeMembership(chatId, bot.id, membership, creatorId === undefined ? botUser : userJson(creatorId));
    },

    addMember(chatId: number, userId: number, status: 'member' | 'administrator' | 'creator'): void {
      if (chatRecord(chatId).type === 'private') throw new Error('Telegram simulator: private chats have no members to add');
      userRecord(userId);
      if (status === 'creator' && [...(members.get(chatId)?.values() ?? [])].some((m) => m.status === 'creator')) {
        throw new Error(`Telegram simulator: chat ${chatId} already has a creator`);
      }
      setMembership(chatId, userId, status === 'administrator' ? { status, rights: FULL_RIGHTS } : { status });
    },

    memberStatus(chatId: number, userId: number): MemberStatus {
      return membershipOf(chatId, userId).status;
    },

    inviteLinks(chatId?: number): { link: InviteLinkRecord; currentMemberCount: number }[] {
      return [...links.values()].filter((link) => chatId === undefined || link.chatId === chatId).map((link) => ({ link, currentMemberCount: currentMembersVia(link) }));
    },

    botMessages(chatId: number): MessageRecord[] {
      return [...messages.values()].filter((m) => m.chatId === chatId && m.fromBot && !m.deleted).sort((a, b) => a.messageId - b.messageId);
    },

    /** Marks the bot blocked (or unblocked); returns the private-chat `my_chat_member` update. */
    setBlocked(userId: number, blocked: boolean): UpdateBody | undefined {
      const record = userRecord(userId);
      if (record.blocked === blocked) return undefined;
      record.blocked = blocked;
      const status = (isBlocked: boolean): ChatMember => (isBlocked ? { status: 'kicked', user: botUser, until_date: 0 } : { status: 'member', user: botUser });
      const chat = chatJson(chatRecord(userId));
      return { my_chat_member: { chat, from: record.user, date: nowSeconds(), old_chat_member: status(!blocked), new_chat_member: status(blocked) } } as UpdateBody;
    },

    deactivate(userId: number): void {
      userRecord(userId).deactivated = true;
    },

    /** A user joins with a link; the reason says why Telegram would not let them in. */
    join(userId: number, inviteLink: string): { joined: boolean; reason?: string; update?: UpdateBody } {
      const record = userRecord(userId);
      const link = links.get(inviteLink);
      if (!link) return { joined: false, reason: 'invalid_link' };
      if (link.is_revoked) return { joined: false, reason: 'link_revoked' };
      if (link.expire_date !== undefined && link.expire_date <= nowSeconds()) return { joined: false, reason: 'link_expired' };
      const status = membershipOf(link.chatId, userId).status;
      if (status === 'kicked') return { joined: false, reason: 'banned' };
      if (status !== 'left') return { joined: false, reason: 'already_member' };
      if (link.creates_join_request) return { joined: false, reason: 'join_request_required' };
      if (link.member_limit !== undefined && currentMembersVia(link) >= link.member_limit) return { joined: false, reason: 'member_limit_reached' };
      link.joinedUserIds.push(userId);
      const update = changeMembership(link.chatId, userId, { status: 'member', inviteLink }, record.user, link);
      return { joined: true, ...(update && { update }) };
    },

    /** A member leaves on their own. */
    leave(userId: number, chatId: number): UpdateBody | undefined {
      const record = userRecord(userId);
      const status = membershipOf(chatId, userId).status;
      if (status !== 'member' && status !== 'administrator') throw new Error(`Telegram simulator: user ${userId} is ${status} in chat ${chatId}, not a member`);
      return changeMembership(chatId, userId, { status: 'left' }, record.user);
    },

    /** A user writes to the bot in private: starts it, and unblocks it (Telegram's "Restart"). */
    userMessage(userId: number, text: string): MessageRecord {
      const record = userRecord(userId);
      record.started = true;
      const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text)?.[0];
      const entities = command ? [{ type: 'bot_command', offset: 0, length: command.length }] : undefined;
      return addMessage(chatRecord(userId), { fromBot: false, fromUserId: userId, text, plainText: text, ...(entities && { entities }) });
    },

    /** A user presses an inline button under one of the bot's messages in their private chat. */
    pressButton(userId: number, messageId: number, data: string): { id: string; message: Message } {
      userRecord(userId);
      const record = messages.get(messageKey(userId, messageId));
      if (!record || record.deleted || !record.fromBot) throw new Error(`Telegram simulator: no bot message ${messageId} in the private chat with ${userId}`);
      const rows = (record.replyMarkup as { inline_keyboard?: { callback_data?: string }[][] } | undefined)?.inline_keyboard ?? [];
      if (!rows.flat().some((button) => button.callback_data === data)) {
        throw new Error(`Telegram simulator: message ${messageId} has no button with callback_data ${JSON.stringify(data)}`);
      }
      const id = BigInt(`0x${randomBytes(8).toString('hex')}`).toString();
      callbackQueries.set(id, { answered: false });
      return { id, message: messageJson(record) };
    },
  };
}
