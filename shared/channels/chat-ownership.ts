import type { Chat, ChatMember } from 'grammy/types';
import { PermanentError } from '../errors/index.js';
import type { BotRightName, ChatRole } from '../texts/index.js';
import { type OnDemandBotApi, isGrammyError, toTelegramError } from '../telegram/index.js';
import { fieldsRecord } from './channel-rules.js';
import { channelError } from './errors.js';
import { missingBotRights, rightsOf, type StoredChatRights } from './chat-rights.js';

/** The bot as the dashboard knows it from configuration (`botInfoFromConfig`): no getMe call. */
export interface BotIdentity {
  id: number;
  username: string;
}

export interface OwnershipDeps {
  /** The Bot API calls ownership checks make (`createOnDemandBotApi`); called outside any transaction. */
  telegram: OnDemandBotApi;
  bot: BotIdentity;
}

/** One reason ownership could not be verified. */
export interface ChatProblem {
  role: ChatRole;
  chatId: string;
  /** `bot`: the bot lacks something; `owner`: the linked Telegram user is no administrator. */
  who: 'bot' | 'owner';
  /** For the bot: rights it lacks (`membership`, `administrator`, `can_invite_users`, …). For the owner: `administrator`. */
  missing: BotRightName[];
}

/** Telegram's own labels, so the owner finds the switch in the chat's administrator settings. */
const RIGHT_LABELS: Partial<Record<BotRightName, string>> = {
  can_invite_users: 'the right "Invite users via link"',
  can_restrict_members: 'the right "Ban users"',
  can_post_messages: 'the right "Post messages"',
  can_send_messages: 'the right "Send messages"',
};

function describe(problem: ChatProblem, bot: BotIdentity): string {
  const chat = `the ${problem.role} chat ${problem.chatId}`;
  if (problem.who === 'owner') return `your linked Telegram account is not an administrator or the creator of ${chat}`;
  const rights = problem.missing.flatMap((right) => RIGHT_LABELS[right] ?? []);
  const withRights = rights.length > 0 ? ` with ${rights.join(' and ')}` : '';
  if (problem.missing.includes('membership')) return `the bot @${bot.username} is not in ${chat}: add it as an administrator${withRights}`;
  if (problem.missing.includes('administrator')) return `the bot @${bot.username} is not an administrator of ${chat}: make it one${withRights}`;
  return `the bot @${bot.username} lacks ${rights.join(' and ')} in ${chat}`;
}

/** The refusal: one sentence per problem, and per-field entries for the form (`openChat.id`, `closedChat.id`). */
export function ownershipError(problems: ChatProblem[], bot: BotIdentity): PermanentError {
  const sentences = problems.map((problem) => describe(problem, bot));
  const fields = fieldsRecord(problems.map((problem, index) => ({ path: `${problem.role}Chat.id`, message: sentences[index]! })));
  return channelError(
    'channel_ownership_unverified',
    `Cannot register these chats: ${sentences.join('; ')}. Fix this in Telegram (chat settings → Administrators), then try again.`,
    { fields, problems },
  );
}

function isAbsent(error: unknown): boolean {
  // 400 "chat not found" / "user not found", 403 "bot is not a member" / "bot was kicked".
  return isGrammyError(error) && (error.error_code === 400 || error.error_code === 403);
}

function outside(bot: BotIdentity): ChatMember {
  return { status: 'left', user: { id: bot.id, is_bot: true, first_name: bot.username } };
}

async function inspectChat(
  deps: OwnershipDeps,
  role: ChatRole,
  chatId: bigint,
  ownerTelegramUserId: bigint,
  date: number,
): Promise<{ problems: ChatProblem[]; rights: StoredChatRights | null }> {
  const id = Number(chatId); // below 2^52: exact
  const base = { role, chatId: chatId.toString() };
  let chat: Chat;
  try {
    chat = await deps.telegram.getChat(id);
  } catch (error) {
    // Telegram hides chats the bot is not in: we cannot tell a wrong id from a missing bot.
    if (isAbsent(error)) return { problems: [{ ...base, who: 'bot', missing: missingBotRights(role, 'channel', outside(deps.bot)) }], rights: null };
    throw toTelegramError(error, { chatId: base.chatId, role });
  }
  const [botMember, ownerMember] = await Promise.all([
    deps.telegram.getChatMember(id, deps.bot.id).catch((error: unknown) => {
      if (isAbsent(error)) return null;
      throw toTelegramError(error, { chatId: base.chatId, role });
    }),
    deps.telegram.getChatMember(id, Number(ownerTelegramUserId)).catch((error: unknown) => {
      if (isAbsent(error)) return null;
      throw toTelegramError(error, { chatId: base.chatId, role });
    }),
  ]);
  const problems: ChatProblem[] = [];
  const missing = missingBotRights(role, chat.type, botMember ?? outside(deps.bot));
  if (missing.length > 0) problems.push({ ...base, who: 'bot', missing });
  if (!ownerMember || (ownerMember.status !== 'creator' && ownerMember.status !== 'administrator')) {
    problems.push({ ...base, who: 'owner', missing: ['administrator'] });
  }
  const rights: StoredChatRights = { status: botMember?.status ?? 'left', chatType: chat.type, rights: botMember ? rightsOf(botMember) : {}, missing, date };
  return { problems, rights };
}

/**
 * Proves the account may sell access to these chats, with the Bot API (never inside a transaction):
 * the bot is an administrator of both with the rights each role needs (open channel: post messages;
 * closed chat: invite users via link and ban users), and the owner's linked Telegram user is an
 * administrator or the creator of both. Returns what the bot may do in each chat, in the
 * `channels.bot_rights` form, so a later `my_chat_member` update supersedes it.
 *
 * @throws PermanentError `channel_ownership_unverified` naming each missing right and chat.
 * @throws TransientError when Telegram cannot be reached or rate-limits us.
 */
export async function verifyChatOwnership(
  deps: OwnershipDeps,
  input: { openChatId: bigint; closedChatId: bigint; ownerTelegramUserId: bigint; at: Date },
): Promise<{ open: StoredChatRights; closed: StoredChatRights }> {
  const date = Math.floor(input.at.getTime() / 1000);
  const open = await inspectChat(deps, 'open', input.openChatId, input.ownerTelegramUserId, date);
  const closed = await inspectChat(deps, 'closed', input.closedChatId, input.ownerTelegramUserId, date);
  const problems = [...open.problems, ...closed.problems];
  if (problems.length > 0 || !open.rights || !closed.rights) throw ownershipError(problems, deps.bot);
  return { open: open.rights, closed: closed.rights };
}
