import { randomBytes } from 'node:crypto';
import type { ChatAdministratorRights } from 'grammy/types';
import { type ChatRecord, FULL_RIGHTS, type InviteLinkRecord, type Membership, type MessageRecord, type Payload, type UpdateBody, type World } from './telegram-simulator-world.js';

/**
 * The chat-facing Bot API methods of the Telegram simulator (messages, invite links, bans, chat
 * reads, commands), with Telegram's checks in Telegram's order. Error descriptions are Telegram's
 * own where we know them (tdlib/telegram-bot-api `Client.cpp`, TelegramBotAPI/errors, issue
 * reports); the few marked "unverified" are our best guess at the wording, with the right code.
 */

/** A refusal the simulator answers with `{ ok: false, error_code, description, parameters? }`. */
export class TelegramFailure extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly retryAfter?: number,
  ) {
    super(description);
    this.name = 'TelegramFailure';
  }
}

const badRequest = (text: string) => new TelegramFailure(400, `Bad Request: ${text}`);
const forbidden = (text: string) => new TelegramFailure(403, `Forbidden: ${text}`);

const SECONDS_PER_DAY = 86_400;
const MAX_TEXT_LENGTH = 4096;
const MAX_LINK_NAME_LENGTH = 32;
const MAX_CALLBACK_DATA_BYTES = 64;
const QUERY_INVALID = 'query is too old and response timeout expired or query ID is invalid';

// ---- payload readers: JSON bodies carry typed values, form bodies carry strings ----

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

export function readInt(payload: Payload, name: string): number | undefined {
  const value = payload[name];
  if (!isPresent(value)) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw badRequest(`invalid ${name} specified`);
  return n;
}

export function readString(payload: Payload, name: string): string | undefined {
  const value = payload[name];
  if (!isPresent(value)) return undefined;
  return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function readBool(payload: Payload, name: string): boolean {
  const value = payload[name];
  return value === true || value === 'true' || value === 1 || value === '1';
}

export function readJson(payload: Payload, name: string, what: string): unknown {
  const value = payload[name];
  if (!isPresent(value)) return undefined;
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw badRequest(`can't parse ${what} JSON object`);
  }
}

// ---- parse_mode HTML: what Telegram accepts, and the plain text it keeps ----

const HTML_TAGS = new Set([
  'b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji',
]);
const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

function byteOffset(text: string, index: number): number {
  return Buffer.byteLength(text.slice(0, index), 'utf8');
}

/**
 * The text Telegram shows for an HTML message, or the 400 it answers for bad markup (the messages
 * of TDLib's HTML parser). A bare `&` that starts no entity stays as is, like Telegram does.
 */
export function htmlToPlainText(html: string): string {
  const fail = (reason: string) => badRequest(`can't parse entities: ${reason}`);
  const open: string[] = [];
  let out = '';
  let i = 0;
  while (i < html.length) {
    const ch = html[i]!;
    if (ch === '&') {
      const entity = /^&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/.exec(html.slice(i));
      const name = entity?.[1];
      const decoded =
        name === undefined ? undefined
        : name.startsWith('#x') ? String.fromCodePoint(parseInt(name.slice(2), 16))
        : name.startsWith('#') ? String.fromCodePoint(parseInt(name.slice(1), 10))
        : NAMED_ENTITIES[name];
      if (entity && decoded !== undefined) {
        out += decoded;
        i += entity[0].length;
      } else {
        out += ch;
        i += 1;
      }
      continue;
    }
    if (ch !== '<') {
      out += ch;
      i += 1;
      continue;
    }
    // TDLib's order: the tag name runs to a space or '>'; unknown names fail before attributes are read.
    const at = byteOffset(html, i);
    const closing = html[i + 1] === '/';
    const nameStart = i + (closing ? 2 : 1);
    const rawName = /^[^\s>]*/.exec(html.slice(nameStart))?.[0] ?? '';
    const tagName = rawName.toLowerCase();
    const afterName = nameStart + rawName.length;
    if (closing) {
      const expected = open.pop();
      if (expected === undefined) throw fail(`Unexpected end tag at byte offset ${at}`);
      const end = /^\s*>/.exec(html.slice(afterName));
      if (!end) throw fail(`Unclosed end tag at byte offset ${at}`);
      if (tagName !== '' && tagName !== expected) throw fail(`Unmatched end tag at byte offset ${at}, expected "</${expected}>", found "</${tagName}>"`);
      i = afterName + end[0].length;
    } else {
      if (afterName >= html.length) throw fail(`Unclosed start tag at byte offset ${at}`);
      if (!HTML_TAGS.has(tagName)) throw fail(`Unsupported start tag "${tagName}" at byte offset ${at}`);
      const end = html.indexOf('>', afterName);
      if (end === -1) throw fail(`Unclosed start tag at byte offset ${at}`);
      open.push(tagName);
      i = end + 1;
    }
  }
  const unclosed = open.pop();
  if (unclosed !== undefined) throw fail(`Can't find end tag corresponding to start tag "${unclosed}"`);
  return out;
}

// ---- the methods ----

/**
 * The methods keyed by lower-case name (Telegram ignores case). `emit` receives the updates a call
 * causes (a ban's `chat_member`); the transport delivers them after the response, as Telegram does.
 */
export function createChatMethods(world: World, emit: (update: UpdateBody) => void): Record<string, (payload: Payload) => unknown> {
  const { bot, botUser, users, chats, members, links, callbackQueries, commands, nowSeconds } = world;
  const { membershipOf, chatMemberJson, linkJson, changeMembership, messageJson, addMessage, userJson, chatJson, userRecord } = world;

  function resolveChat(payload: Payload): ChatRecord {
    const raw = payload.chat_id;
    if (!isPresent(raw)) throw badRequest('chat_id is empty');
    if (typeof raw === 'string' && raw.startsWith('@')) {
      const username = raw.slice(1).toLowerCase();
      const chat = [...chats.values()].find((c) => c.type !== 'private' && c.username?.toLowerCase() === username);
      if (!chat) throw badRequest('chat not found');
      return chat;
    }
    const id = typeof raw === 'number' ? raw : Number(raw);
    const chat = Number.isSafeInteger(id) ? chats.get(id) : undefined;
    if (!chat) throw badRequest('chat not found');
    return chat;
  }

  function requireUserId(payload: Payload): number {
    const userId = readInt(payload, 'user_id');
    if (userId === undefined || userId <= 0) throw badRequest('invalid user_id specified');
    return userId;
  }

  function requireKnownUser(chatId: number, userId: number): void {
    if (userId !== bot.id && !users.has(userId) && !members.get(chatId)?.has(userId)) throw badRequest('user not found');
  }

  function chatKind(chat: ChatRecord): string {
    return chat.type === 'channel' ? 'channel' : chat.type === 'supergroup' ? 'supergroup' : 'group';
  }

  function requireBotIn(chat: ChatRecord): Membership {
    const membership = membershipOf(chat.id, bot.id);
    if (membership.status === 'kicked') throw forbidden(`bot was kicked from the ${chatKind(chat)} chat`);
    if (membership.status === 'left') throw forbidden(`bot is not a member of the ${chatKind(chat)} chat`);
    return membership;
  }

  function requireBotRight(chat: ChatRecord, right: keyof ChatAdministratorRights, refusal: string): void {
    const membership = requireBotIn(chat);
    const rights = membership.rights ?? FULL_RIGHTS;
    if (membership.status !== 'administrator' || rights[right] !== true) throw badRequest(refusal);
  }

  /** Who can be written to: the order follows what Telegram checks first. */
  function requireCanWrite(chat: ChatRecord): void {
    if (chat.type === 'private') {
      const record = userRecord(chat.id);
      if (record.deactivated) throw forbidden('user is deactivated');
      if (record.user.is_bot) throw forbidden("bot can't send messages to bots");
      if (record.blocked) throw forbidden('bot was blocked by the user');
      if (!record.started) throw forbidden("bot can't initiate conversation with a user");
      return;
    }
    const membership = requireBotIn(chat);
    if (chat.type === 'channel' && (membership.status !== 'administrator' || (membership.rights ?? FULL_RIGHTS).can_post_messages !== true)) {
      throw badRequest('need administrator rights in the channel chat');
    }
  }

  /** The message text and the plain text Telegram will show, or the 400 for empty, too long or bad markup. */
  function readText(payload: Payload): { text: string; plainText: string; parseMode?: string } {
    const text = readString(payload, 'text');
    if (text === undefined || text.trim() === '') throw badRequest('message text is empty');
    const parseMode = readString(payload, 'parse_mode');
    if (parseMode !== undefined && !['HTML', 'MarkdownV2', 'Markdown'].includes(parseMode)) throw badRequest('unsupported parse_mode');
    const plain = parseMode === 'HTML' ? htmlToPlainText(text) : text;
    if (plain.trim() === '') throw badRequest('message text is empty');
    if ([...plain].length > MAX_TEXT_LENGTH) throw badRequest('message is too long');
    return { text, plainText: plain, ...(parseMode !== undefined && { parseMode }) };
  }

  function readReplyMarkup(payload: Payload): unknown {
    const markup = readJson(payload, 'reply_markup', 'reply keyboard markup');
    if (markup === undefined) return undefined;
    if (typeof markup !== 'object' || markup === null) throw badRequest("can't parse reply keyboard markup JSON object");
    const rows = (markup as { inline_keyboard?: unknown }).inline_keyboard;
    if (Array.isArray(rows)) {
      for (const button of rows.flat() as { callback_data?: unknown }[]) {
        if (typeof button?.callback_data === 'string' && Buffer.byteLength(button.callback_data) > MAX_CALLBACK_DATA_BYTES) {
          throw badRequest('BUTTON_DATA_INVALID');
        }
      }
    }
    return markup;
  }

  function botMessage(chat: ChatRecord, payload: Payload, verb: 'edit' | 'delete'): MessageRecord {
    const messageId = readInt(payload, 'message_id');
    if (messageId === undefined) throw badRequest('message identifier is not specified');
    const record = world.findMessage(chat.id, messageId);
    if (!record || record.deleted) throw badRequest(`message to ${verb} not found`);
    if (verb === 'edit' && !record.fromBot) throw badRequest("message can't be edited");
    return record;
  }

  function editTarget(payload: Payload): MessageRecord {
    if (isPresent(payload.inline_message_id)) throw badRequest('inline messages are not simulated; pass chat_id and message_id');
    const chat = resolveChat(payload);
    const record = botMessage(chat, payload, 'edit');
    requireCanWrite(chat);
    return record;
  }

  function notModified(record: MessageRecord, text: string, parseMode: string | undefined, replyMarkup: unknown): boolean {
    return record.text === text && record.parseMode === parseMode && JSON.stringify(record.replyMarkup) === JSON.stringify(replyMarkup);
  }

  const notModifiedError = () =>
    badRequest('message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');

  function commandKey(payload: Payload): string {
    return JSON.stringify([readJson(payload, 'scope', 'scope') ?? { type: 'default' }, readString(payload, 'language_code') ?? '']);
  }

  return {
    getme: () => bot,

    sendmessage(payload) {
      const chat = resolveChat(payload);
      const { text, plainText, parseMode } = readText(payload);
      const replyMarkup = readReplyMarkup(payload);
      const linkPreviewOptions = readJson(payload, 'link_preview_options', 'link preview options');
      requireCanWrite(chat);
      const record = addMessage(chat, { fromBot: true, fromUserId: bot.id, text, plainText, parseMode, replyMarkup, linkPreviewOptions });
      return messageJson(record);
    },

    editmessagetext(payload) {
      const record = editTarget(payload);
      const { text, plainText, parseMode } = readText(payload);
      const replyMarkup = readReplyMarkup(payload);
      if (notModified(record, text, parseMode, replyMarkup)) throw notModifiedError();
      Object.assign(record, { text, plainText, parseMode, replyMarkup, editDate: nowSeconds() });
      const linkPreviewOptions = readJson(payload, 'link_preview_options', 'link preview options');
      if (linkPreviewOptions !== undefined) record.linkPreviewOptions = linkPreviewOptions;
      return messageJson(record);
    },

    editmessagereplymarkup(payload) {
      const record = editTarget(payload);
      const replyMarkup = readReplyMarkup(payload);
      if (notModified(record, record.text, record.parseMode, replyMarkup)) throw notModifiedError();
      Object.assign(record, { replyMarkup, editDate: nowSeconds() });
      return messageJson(record);
    },

    deletemessage(payload) {
      const chat = resolveChat(payload);
      if (chat.type !== 'private') requireBotIn(chat);
      botMessage(chat, payload, 'delete').deleted = true;
      return true;
    },

    answercallbackquery(payload) {
      const id = readString(payload, 'callback_query_id');
      const query = id === undefined ? undefined : callbackQueries.get(id);
      if (!query || query.answered) throw badRequest(QUERY_INVALID);
      query.answered = true;
      return true;
    },

    createchatinvitelink(payload) {
      const chat = resolveChat(payload);
      if (chat.type === 'private') throw badRequest("can't create invite links for private chats"); // unverified wording
      requireBotRight(chat, 'can_invite_users', 'not enough rights to manage chat invite link');
      const name = readString(payload, 'name');
      if (name !== undefined && [...name].length > MAX_LINK_NAME_LENGTH) throw badRequest('invite link name is too long'); // unverified wording
      const expireDate = readInt(payload, 'expire_date');
      if (expireDate !== undefined && expireDate !== 0 && expireDate <= nowSeconds()) throw badRequest('EXPIRE_DATE_INVALID'); // unverified wording
      const memberLimit = readInt(payload, 'member_limit');
      if (memberLimit !== undefined && (memberLimit < 0 || memberLimit > 99_999)) throw badRequest('USAGE_LIMIT_INVALID'); // unverified wording
      const createsJoinRequest = readBool(payload, 'creates_join_request');
      if (createsJoinRequest && memberLimit) throw badRequest("member_limit can't be specified for links requiring administrator approval"); // unverified wording
      let inviteLink: string;
      do inviteLink = `https://t.me/+${randomBytes(12).toString('base64url')}`;
      while (links.has(inviteLink));
      const link: InviteLinkRecord = {
        chatId: chat.id,
        joinedUserIds: [],
        invite_link: inviteLink,
        creator: botUser,
        creates_join_request: createsJoinRequest,
        is_primary: false,
        is_revoked: false,
        ...(name !== undefined && { name }),
        ...(expireDate ? { expire_date: expireDate } : {}),
        ...(memberLimit ? { member_limit: memberLimit } : {}),
      };
      links.set(inviteLink, link);
      return linkJson(link);
    },

    revokechatinvitelink(payload) {
      const chat = resolveChat(payload);
      const inviteLink = readString(payload, 'invite_link');
      if (inviteLink === undefined) throw badRequest('invite_link is empty');
      requireBotRight(chat, 'can_invite_users', 'not enough rights to manage chat invite link');
      const link = links.get(inviteLink);
      if (!link || link.chatId !== chat.id) throw badRequest('INVITE_HASH_EXPIRED'); // unverified wording
      link.is_revoked = true;
      return linkJson(link);
    },

    banchatmember(payload) {
      const chat = resolveChat(payload);
      const userId = requireUserId(payload);
      if (chat.type === 'private') throw badRequest("can't ban members in private chats"); // unverified wording
      requireBotRight(chat, 'can_restrict_members', 'not enough rights to restrict/unrestrict chat member');
      requireKnownUser(chat.id, userId);
      const status = membershipOf(chat.id, userId).status;
      if (status === 'creator') throw badRequest("can't remove chat owner");
      if (status === 'administrator') throw badRequest('user is an administrator of the chat');
      // Telegram: banned for more than 366 days or less than 30 seconds from now means banned forever.
      const until = readInt(payload, 'until_date') ?? 0;
      const secondsLeft = until - nowSeconds();
      const untilDate = secondsLeft < 30 || secondsLeft > 366 * SECONDS_PER_DAY ? 0 : until;
      const update = changeMembership(chat.id, userId, { status: 'kicked', untilDate }, botUser);
      if (update) emit(update);
      return true;
    },

    unbanchatmember(payload) {
      const chat = resolveChat(payload);
      const userId = requireUserId(payload);
      if (chat.type === 'private') throw badRequest("can't unban members in private chats"); // unverified wording
      requireBotRight(chat, 'can_restrict_members', 'not enough rights to restrict/unrestrict chat member');
      requireKnownUser(chat.id, userId);
      const status = membershipOf(chat.id, userId).status;
      if (readBool(payload, 'only_if_banned') && status !== 'kicked') return true;
      if (status === 'creator') throw badRequest("can't remove chat owner");
      if (status === 'administrator') throw badRequest('user is an administrator of the chat');
      // Without only_if_banned, Telegram also removes a current member: afterwards the user is out but may rejoin.
      if (status === 'kicked' || status === 'member') {
        const update = changeMembership(chat.id, userId, { status: 'left' }, botUser);
        if (update) emit(update);
      }
      return true;
    },

    getchat(payload) {
      const chat = resolveChat(payload);
      if (chat.type !== 'private') requireBotIn(chat);
      return {
        ...chatJson(chat),
        accent_color_id: 0,
        max_reaction_count: 11,
        accepted_gift_types: { unlimited_gifts: false, limited_gifts: false, unique_gifts: false, premium_subscription: false, gifts_from_channels: false },
      };
    },

    getchatmember(payload) {
      const chat = resolveChat(payload);
      const userId = requireUserId(payload);
      if (chat.type !== 'private') requireBotIn(chat);
      requireKnownUser(chat.id, userId);
      if (chat.type === 'private') {
        if (userId !== chat.id && userId !== bot.id) throw badRequest('user not found');
        return { status: 'member', user: userJson(userId) };
      }
      return chatMemberJson(chat.id, userId);
    },

    getchatadministrators(payload) {
      const chat = resolveChat(payload);
      if (chat.type === 'private') throw badRequest('there are no administrators in the private chat');
      requireBotIn(chat);
      // Telegram leaves out other bots.
      return [...(members.get(chat.id)?.keys() ?? [])]
        .filter((userId) => ['creator', 'administrator'].includes(membershipOf(chat.id, userId).status))
        .filter((userId) => userId === bot.id || !userJson(userId).is_bot)
        .map((userId) => chatMemberJson(chat.id, userId));
    },

    getchatmembercount(payload) {
      const chat = resolveChat(payload);
      if (chat.type === 'private') return 2;
      requireBotIn(chat);
      return [...(members.get(chat.id)?.keys() ?? [])].filter((userId) => ['creator', 'administrator', 'member'].includes(membershipOf(chat.id, userId).status)).length;
    },

    setmycommands(payload) {
      const list = readJson(payload, 'commands', 'bot commands');
      if (!Array.isArray(list)) throw badRequest('parameter "commands" is required'); // unverified wording
      for (const command of list as { command?: unknown; description?: unknown }[]) {
        const valid =
          typeof command?.command === 'string' && /^[a-z0-9_]{1,32}$/.test(command.command) &&
          typeof command.description === 'string' && command.description.length >= 1 && command.description.length <= 256;
        if (!valid) throw badRequest('BOT_COMMAND_INVALID');
      }
      commands.set(commandKey(payload), list);
      return true;
    },

    getmycommands: (payload) => commands.get(commandKey(payload)) ?? [],

    deletemycommands(payload) {
      commands.delete(commandKey(payload));
      return true;
    },
  };
}
