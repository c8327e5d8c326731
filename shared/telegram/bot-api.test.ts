import { createServer } from 'node:net';
import { type Api, GrammyError, HttpError } from 'grammy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../errors/index.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase } from '../testing/database.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import { createBotApi } from './bot-api.js';
import { createOnDemandBotApi } from './on-demand-bot-api.js';
import { escapeHtml } from './html.js';
import { isGrammyError, toTelegramError } from './telegram-errors.js';

const OWNER = 1001;
const SUBSCRIBER = 2001;
const CHANNEL = -1001234567890;
const BARE_CHANNEL = -1009999999999;

let clock: FakeClock;
let telegram: TelegramSimulator;
let api: Api;
let nextUser = 5000;

/** The refusal a call ends with; fails the test when the call succeeds. */
async function refusalOf(call: Promise<unknown>): Promise<GrammyError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof GrammyError)) throw new Error(`expected a GrammyError, got ${String(error)}`);
  return error;
}

/** A fresh subscriber, so tests do not share membership state. */
function newUser(): number {
  const id = nextUser++;
  telegram.addUser({ id, first_name: `User ${id}` });
  return id;
}

const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

beforeAll(async () => {
  clock = createFakeClock('2026-01-01T00:00:00Z');
  telegram = await startTelegramSimulator({ clock });
  api = createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot });
  telegram.addUser({ id: OWNER, first_name: 'Olga', username: 'olga_owner' });
  telegram.addUser({ id: SUBSCRIBER, first_name: 'Sam', language_code: 'en' });
  telegram.addChat({ id: CHANNEL, type: 'channel', title: 'Alpha Signals', username: 'alpha_signals' });
  telegram.addMember(CHANNEL, OWNER, 'creator');
  telegram.setBotMembership(CHANNEL, 'administrator');
  telegram.addChat({ id: BARE_CHANNEL, type: 'channel', title: 'Bot not here' });
  await telegram.flush();
});

afterAll(async () => {
  await telegram.close();
});

beforeEach(() => {
  clock.set('2026-01-01T00:00:00Z');
});

describe('getMe', () => {
  it('returns the simulated bot', async () => {
    expect(await api.getMe()).toEqual(telegram.botInfo);
  });
});

describe('sendMessage', () => {
  it('returns a Message from the bot with per-chat ids and a date in seconds', async () => {
    const first = await api.sendMessage(OWNER, 'first');
    clock.advance(5_000);
    const second = await api.sendMessage(OWNER, 'second');
    expect(second.message_id).toBe(first.message_id + 1);
    expect(second.date).toBe(nowSeconds());
    expect(second.from).toMatchObject({ id: telegram.botInfo.id, is_bot: true });
    expect(second.chat).toEqual({ id: OWNER, type: 'private', first_name: 'Olga', username: 'olga_owner' });
    expect(second.text).toBe('second');
  });

  it('parses HTML, keeps the keyboard and link preview options, and shows the plain text', async () => {
    const user = newUser();
    const title = 'Tom & Jerry <VIP>';
    const sent = await api.sendMessage(user, `Join <b>${escapeHtml(title)}</b>`, {
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      reply_markup: { inline_keyboard: [[{ text: 'Pay', callback_data: 'pay:t_1' }]] },
    });
    expect(sent.text).toBe('Join Tom & Jerry <VIP>');
    expect(sent.reply_markup?.inline_keyboard[0]?.[0]).toEqual({ text: 'Pay', callback_data: 'pay:t_1' });
    expect(telegram.messagesTo(user)).toEqual([
      {
        messageId: sent.message_id,
        text: 'Join <b>Tom &amp; Jerry &lt;VIP&gt;</b>',
        parseMode: 'HTML',
        replyMarkup: { inline_keyboard: [[{ text: 'Pay', callback_data: 'pay:t_1' }]] },
        linkPreviewOptions: { is_disabled: true },
      },
    ]);
  });

  it('refuses unescaped HTML the way Telegram does', async () => {
    const error = await refusalOf(api.sendMessage(SUBSCRIBER, 'Price <5 USDT', { parse_mode: 'HTML' }));
    expect(error.error_code).toBe(400);
    expect(error.description).toBe('Bad Request: can\'t parse entities: Unsupported start tag "5" at byte offset 6');
  });

  it('answers 400 chat not found for an unknown chat', async () => {
    const error = await refusalOf(api.sendMessage(777, 'hello'));
    expect(error.description).toBe('Bad Request: chat not found');
    expect(toTelegramError(error)).toMatchObject({ code: 'telegram_bad_request', context: { description: 'Bad Request: chat not found' } });
  });

  it('answers 403 when the user blocked the bot, which translates to telegram_user_unreachable', async () => {
    const user = newUser();
    telegram.blockBot(user);
    const error = await refusalOf(api.sendMessage(user, 'Your invite'));
    expect(error.error_code).toBe(403);
    expect(error.description).toBe('Forbidden: bot was blocked by the user');
    const translated = toTelegramError(error, { userId: user });
    expect(translated).toBeInstanceOf(PermanentError);
    expect(translated.code).toBe('telegram_user_unreachable');
  });

  it('answers 403 to an owner who never started the bot, and works once they write', async () => {
    const owner = nextUser++;
    telegram.addUser({ id: owner, first_name: 'New owner' }, { startedBot: false });
    expect((await refusalOf(api.sendMessage(owner, 'Sale!'))).description).toBe("Forbidden: bot can't initiate conversation with a user");
    await telegram.sendText(owner, '/start');
    await expect(api.sendMessage(owner, 'Sale!')).resolves.toMatchObject({ text: 'Sale!' });
  });

  it('posts to a channel where the bot is an administrator', async () => {
    const post = await api.sendMessage(CHANNEL, 'New signal');
    expect(post.chat).toMatchObject({ id: CHANNEL, type: 'channel', title: 'Alpha Signals' });
    expect(post.sender_chat).toMatchObject({ id: CHANNEL });
  });

  it('answers 400 for an empty text', async () => {
    expect((await refusalOf(api.sendMessage(OWNER, ' '))).description).toBe('Bad Request: message text is empty');
  });
});

describe('editMessageText', () => {
  it('edits the text, drops the keyboard when none is given, and stamps edit_date', async () => {
    const user = newUser();
    const sent = await api.sendMessage(user, 'Pay 10 USDT', { reply_markup: { inline_keyboard: [[{ text: 'Pay', callback_data: 'pay' }]] } });
    clock.advance(60_000);
    const edited = await api.editMessageText(user, sent.message_id, 'Paid ✅');
    expect(edited).toMatchObject({ message_id: sent.message_id, text: 'Paid ✅', edit_date: nowSeconds() });
    expect(telegram.messagesTo(user)).toEqual([{ messageId: sent.message_id, text: 'Paid ✅' }]);
  });

  it('answers 400 message is not modified for the same text and keyboard', async () => {
    const sent = await api.sendMessage(OWNER, 'same');
    const error = await refusalOf(api.editMessageText(OWNER, sent.message_id, 'same'));
    expect(error.description).toMatch(/^Bad Request: message is not modified/);
  });

  it('answers 400 for a message that does not exist', async () => {
    expect((await refusalOf(api.editMessageText(OWNER, 99_999, 'x'))).description).toBe('Bad Request: message to edit not found');
  });
});

describe('editMessageReplyMarkup', () => {
  it('replaces the keyboard, and refuses the same keyboard again', async () => {
    const sent = await api.sendMessage(OWNER, 'Choose', { reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] } });
    const markup = { inline_keyboard: [[{ text: 'B', callback_data: 'b' }]] };
    const edited = await api.editMessageReplyMarkup(OWNER, sent.message_id, { reply_markup: markup });
    expect(edited).toMatchObject({ reply_markup: markup });
    expect((await refusalOf(api.editMessageReplyMarkup(OWNER, sent.message_id, { reply_markup: markup }))).description).toMatch(/not modified/);
  });
});

describe('deleteMessage', () => {
  it('deletes once; the second time the message is not found', async () => {
    const user = newUser();
    const sent = await api.sendMessage(user, 'temporary');
    expect(await api.deleteMessage(user, sent.message_id)).toBe(true);
    expect(telegram.messagesTo(user)).toEqual([]);
    expect((await refusalOf(api.deleteMessage(user, sent.message_id))).description).toBe('Bad Request: message to delete not found');
  });
});

describe('answerCallbackQuery', () => {
  it('answers a pressed button once', async () => {
    const user = newUser();
    const sent = await api.sendMessage(user, 'Pick a tier', { reply_markup: { inline_keyboard: [[{ text: '30 days', callback_data: 'tier:30' }]] } });
    await telegram.clickButton(user, sent.message_id, 'tier:30');
    const queryId = telegram.deliveries.at(-1)?.update.callback_query?.id ?? '';
    expect(await api.answerCallbackQuery(queryId, { text: 'Creating invoice…' })).toBe(true);
    const error = await refusalOf(api.answerCallbackQuery(queryId));
    expect(error.description).toBe('Bad Request: query is too old and response timeout expired or query ID is invalid');
  });
});

describe('createChatInviteLink', () => {
  it('returns a ChatInviteLink created by the bot', async () => {
    const expireDate = nowSeconds() + 3600;
    const link = await api.createChatInviteLink(CHANNEL, { name: 'sub_123', expire_date: expireDate, member_limit: 1 });
    expect(link.invite_link).toMatch(/^https:\/\/t\.me\/\+[A-Za-z0-9_-]{16}$/);
    expect(link).toEqual({
      invite_link: link.invite_link,
      creator: { id: telegram.botInfo.id, is_bot: true, first_name: telegram.botInfo.first_name, username: telegram.botInfo.username },
      creates_join_request: false,
      is_primary: false,
      is_revoked: false,
      name: 'sub_123',
      expire_date: expireDate,
      member_limit: 1,
    });
    expect(telegram.inviteLinks(CHANNEL).find((l) => l.invite_link === link.invite_link)).toMatchObject({ usageCount: 0, currentMemberCount: 0 });
  });

  it.each([
    ['a name over 32 characters', { name: 'x'.repeat(33) }, 'Bad Request: invite link name is too long'],
    ['a member limit over 99999', { member_limit: 100_000 }, 'Bad Request: USAGE_LIMIT_INVALID'],
    ['an expiry in the past', { expire_date: Math.floor(Date.parse('2025-12-31T00:00:00Z') / 1000) }, 'Bad Request: EXPIRE_DATE_INVALID'],
  ])('refuses %s', async (_name, options, description) => {
    expect((await refusalOf(api.createChatInviteLink(CHANNEL, options))).description).toBe(description);
  });

  it('needs the can_invite_users right', async () => {
    const chat = -1005555555501;
    telegram.addChat({ id: chat, type: 'supergroup', title: 'No invite right' });
    telegram.setBotMembership(chat, 'administrator', { can_invite_users: false });
    const error = await refusalOf(api.createChatInviteLink(chat));
    expect(error.description).toBe('Bad Request: not enough rights to manage chat invite link');
  });

  it('answers 403 where the bot is not a member, which translates to telegram_forbidden', async () => {
    const error = await refusalOf(api.createChatInviteLink(BARE_CHANNEL));
    expect(error.description).toBe('Forbidden: bot is not a member of the channel chat');
    expect(toTelegramError(error).code).toBe('telegram_forbidden');
  });
});

describe('revokeChatInviteLink', () => {
  it('marks the link revoked', async () => {
    const link = await api.createChatInviteLink(CHANNEL, { member_limit: 1 });
    const revoked = await api.revokeChatInviteLink(CHANNEL, link.invite_link);
    expect(revoked).toMatchObject({ invite_link: link.invite_link, is_revoked: true });
    expect(telegram.inviteLinks(CHANNEL).find((l) => l.invite_link === link.invite_link)?.is_revoked).toBe(true);
  });
});

describe('banChatMember', () => {
  it('bans a member until a date', async () => {
    const user = newUser();
    telegram.addMember(CHANNEL, user);
    const until = nowSeconds() + 3600;
    expect(await api.banChatMember(CHANNEL, user, { until_date: until, revoke_messages: false })).toBe(true);
    expect(await api.getChatMember(CHANNEL, user)).toMatchObject({ status: 'kicked', until_date: until });
  });

  it('treats a ban shorter than 30 seconds as forever', async () => {
    const user = newUser();
    telegram.addMember(CHANNEL, user);
    await api.banChatMember(CHANNEL, user, { until_date: nowSeconds() + 10 });
    expect(await api.getChatMember(CHANNEL, user)).toMatchObject({ status: 'kicked', until_date: 0 });
  });

  it("refuses the chat's creator", async () => {
    expect((await refusalOf(api.banChatMember(CHANNEL, OWNER))).description).toBe("Bad Request: can't remove chat owner");
  });

  it('needs the can_restrict_members right', async () => {
    const chat = -1005555555502;
    telegram.addChat({ id: chat, type: 'supergroup' });
    telegram.setBotMembership(chat, 'administrator', { can_restrict_members: false });
    const user = newUser();
    telegram.addMember(chat, user);
    expect((await refusalOf(api.banChatMember(chat, user))).description).toBe('Bad Request: not enough rights to restrict/unrestrict chat member');
  });
});

describe('unbanChatMember', () => {
  it('with only_if_banned leaves a member alone', async () => {
    const user = newUser();
    telegram.addMember(CHANNEL, user);
    expect(await api.unbanChatMember(CHANNEL, user, { only_if_banned: true })).toBe(true);
    expect(telegram.memberStatus(CHANNEL, user)).toBe('member');
  });

  it('turns a ban into left, so the user may rejoin', async () => {
    const user = newUser();
    telegram.addMember(CHANNEL, user);
    await api.banChatMember(CHANNEL, user);
    await api.unbanChatMember(CHANNEL, user, { only_if_banned: true });
    expect(telegram.memberStatus(CHANNEL, user)).toBe('left');
  });

  it('without only_if_banned removes a current member, as Telegram does', async () => {
    const user = newUser();
    telegram.addMember(CHANNEL, user);
    await api.unbanChatMember(CHANNEL, user);
    expect(telegram.memberStatus(CHANNEL, user)).toBe('left');
  });
});

describe('getChat', () => {
  it('returns the chat', async () => {
    expect(await api.getChat(CHANNEL)).toMatchObject({ id: CHANNEL, type: 'channel', title: 'Alpha Signals', username: 'alpha_signals' });
    expect(await api.getChat('@alpha_signals')).toMatchObject({ id: CHANNEL });
  });

  it('answers 400 chat not found for an unknown chat', async () => {
    expect((await refusalOf(api.getChat(-100404))).description).toBe('Bad Request: chat not found');
  });
});

describe('getChatMember', () => {
  it('returns each status variant', async () => {
    const member = newUser();
    telegram.addMember(CHANNEL, member);
    const stranger = newUser();
    expect(await api.getChatMember(CHANNEL, OWNER)).toMatchObject({ status: 'creator', is_anonymous: false });
    expect(await api.getChatMember(CHANNEL, telegram.botInfo.id)).toMatchObject({ status: 'administrator', can_invite_users: true, can_restrict_members: true });
    expect(await api.getChatMember(CHANNEL, member)).toEqual({ status: 'member', user: { id: member, is_bot: false, first_name: `User ${member}` } });
    expect(await api.getChatMember(CHANNEL, stranger)).toMatchObject({ status: 'left' });
  });

  it('answers 400 user not found for a user Telegram does not know', async () => {
    expect((await refusalOf(api.getChatMember(CHANNEL, 424242))).description).toBe('Bad Request: user not found');
  });
});

describe('getChatAdministrators', () => {
  it('lists the creator and the bot', async () => {
    const admins = await api.getChatAdministrators(CHANNEL);
    expect(admins.map((a) => [a.user.id, a.status])).toEqual([
      [OWNER, 'creator'],
      [telegram.botInfo.id, 'administrator'],
    ]);
  });
});

describe('setWebhook, getWebhookInfo and deleteWebhook', () => {
  it('set, report and delete the webhook', async () => {
    const set = api.setWebhook('https://example.test/telegram', {
      secret_token: 'S3cret_token',
      allowed_updates: ['message', 'chat_member'],
      drop_pending_updates: true,
    });
    expect(await set).toBe(true);
    expect(await api.getWebhookInfo()).toMatchObject({ url: 'https://example.test/telegram', allowed_updates: ['message', 'chat_member'], pending_update_count: 0 });
    expect(await api.deleteWebhook()).toBe(true);
    expect((await api.getWebhookInfo()).url).toBe('');
  });
});

describe('setMyCommands', () => {
  it('stores the commands getMyCommands returns', async () => {
    const commands = [{ command: 'start', description: 'Subscribe' }, { command: 'help', description: 'How it works' }];
    expect(await api.setMyCommands(commands)).toBe(true);
    expect(await api.getMyCommands()).toEqual(commands);
  });
});

describe('failures', () => {
  it('a 429 carries parameters.retry_after and becomes a TransientError with retryAfterSeconds', async () => {
    telegram.failNext('sendMessage', { errorCode: 429, description: 'Too Many Requests: retry after 7', retryAfter: 7 });
    const error = await refusalOf(api.sendMessage(OWNER, 'hello'));
    expect(error.parameters.retry_after).toBe(7);
    const translated = toTelegramError(error);
    expect(translated).toBeInstanceOf(TransientError);
    expect(translated).toMatchObject({ code: 'telegram_rate_limited', context: { retryAfterSeconds: 7, method: 'sendMessage' } });
    await expect(api.sendMessage(OWNER, 'hello')).resolves.toMatchObject({ text: 'hello' });
  });

  it('a 500 becomes telegram_unavailable', async () => {
    telegram.failNext('banChatMember', { errorCode: 500, description: 'Internal Server Error' });
    expect(toTelegramError(await refusalOf(api.banChatMember(CHANNEL, SUBSCRIBER))).code).toBe('telegram_unavailable');
  });

  it('an unreachable server is an HttpError that becomes telegram_unavailable without the token', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const offline = createBotApi({ token: telegram.token, apiRoot: `http://127.0.0.1:${port}` });
    const error = await offline.getMe().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).message).not.toContain(telegram.token);
    const translated = toTelegramError(error);
    expect(translated.code).toBe('telegram_unavailable');
    expect(translated.message).not.toContain(telegram.token);
  });

  it('a server that takes the connection and never answers fails the call within its timeout, as telegram_unavailable', async () => {
    const silent = createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((resolve) => silent.once('listening', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const hanging = createBotApi({ token: telegram.token, apiRoot: `http://127.0.0.1:${port}`, timeoutSeconds: 1 });
      const started = Date.now();
      const error = await hanging.getMe().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(HttpError);
      expect(toTelegramError(error).code).toBe('telegram_unavailable');
    } finally {
      silent.close();
    }
  });
});

describe('the transaction guard', () => {
  it('refuses a call inside a database transaction before anything reaches Telegram, and allows it after', async () => {
    const database = await createTestDatabase({ migrate: false });
    try {
      const before = telegram.calls.length;
      const inside = database.db.transaction(async () => api.sendMessage(OWNER, 'inside'));
      await expect(inside).rejects.toThrow('telegram.sendMessage must not run inside a database transaction');
      expect(telegram.calls.length).toBe(before);
      await expect(api.sendMessage(OWNER, 'after commit')).resolves.toMatchObject({ text: 'after commit' });
    } finally {
      await database.dispose();
    }
  });
});

describe('the on-demand Bot API (the dashboard: grammY loads on its first call)', () => {
  it('answers as createBotApi does, its refusals are grammY errors toTelegramError reads, and it keeps the transaction guard', async () => {
    const onDemand = createOnDemandBotApi({ token: telegram.token, apiRoot: telegram.apiRoot });
    expect(await onDemand.getMe()).toEqual(telegram.botInfo);
    expect(await onDemand.getChat(CHANNEL)).toMatchObject({ id: CHANNEL, title: 'Alpha Signals' });
    expect(await onDemand.getChatMember(CHANNEL, OWNER)).toMatchObject({ status: 'creator', user: { id: OWNER } });

    const refused = await onDemand.getChatMember(BARE_CHANNEL, OWNER).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isGrammyError(refused)).toBe(true);
    expect(toTelegramError(refused)).toBeInstanceOf(PermanentError);

    const database = await createTestDatabase({ migrate: false });
    try {
      const before = telegram.calls.length;
      await expect(database.db.transaction(async () => onDemand.getChat(CHANNEL))).rejects.toThrow('telegram.getChat must not run inside a database transaction');
      expect(telegram.calls.length).toBe(before);
    } finally {
      await database.dispose();
    }
  });
});
