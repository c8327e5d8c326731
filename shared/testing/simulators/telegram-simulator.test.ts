import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Api, Bot, InlineKeyboard, webhookCallback } from 'grammy';
import type { Update } from 'grammy/types';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeClock, createFakeClock } from '../fakes/clock.js';
import { type TelegramSimulator, startTelegramSimulator } from './telegram-simulator.js';

const OWNER = 1001;
const CHANNEL = -1001234567890;
const SECRET = 'webhook_Secret-1';

interface Receiver {
  url: string;
  received: { headers: IncomingHttpHeaders; update: Update }[];
  /** The status the receiver answers with. */
  status: number;
  close(): Promise<void>;
}

/** A tiny webhook endpoint that records what Telegram would POST. */
async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = { url: '', received: [], status: 200, close: async () => undefined };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      receiver.received.push({ headers: request.headers, update: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Update });
      response.writeHead(receiver.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/telegram`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}

let clock: FakeClock;
let telegram: TelegramSimulator;
let api: Api;
let nextId = 5000;

function newUser(): number {
  const id = nextId++;
  telegram.addUser({ id, first_name: `User ${id}` });
  return id;
}

const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

beforeAll(async () => {
  clock = createFakeClock('2026-01-01T00:00:00Z');
  telegram = await startTelegramSimulator({ clock });
  api = new Api(telegram.token, { apiRoot: telegram.apiRoot });
  telegram.addUser({ id: OWNER, first_name: 'Olga' });
  telegram.addChat({ id: CHANNEL, type: 'channel', title: 'Alpha Signals' });
  telegram.addMember(CHANNEL, OWNER, 'creator');
  telegram.setBotMembership(CHANNEL, 'administrator');
  await telegram.flush();
  // Setup's my_chat_member would otherwise reach whichever webhook a test sets first.
  await api.deleteWebhook({ drop_pending_updates: true });
});

afterAll(async () => {
  await telegram.close();
});

beforeEach(() => {
  clock.set('2026-01-01T00:00:00Z');
});

afterEach(async () => {
  await telegram.flush();
  await api.deleteWebhook({ drop_pending_updates: true });
  // allowed_updates outlives the webhook, as on Telegram; an empty list restores the default.
  await api.getUpdates({ allowed_updates: [] });
});

describe('the HTTP surface', () => {
  it('answers 401 Unauthorized for another token', async () => {
    const response = await fetch(`${telegram.apiRoot}/bot123:wrong/getMe`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
  });

  it('answers 404 Not Found for an unknown method and records the call', async () => {
    const response = await fetch(`${telegram.apiRoot}/bot${telegram.token}/sendTelepathy`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ ok: false, error_code: 404, description: 'Not Found' });
    expect(telegram.calls.at(-1)).toMatchObject({ method: 'sendTelepathy', ok: false, errorCode: 404 });
  });

  it('accepts form bodies, parsing JSON-valued fields like reply_markup', async () => {
    const user = newUser();
    const markup = { inline_keyboard: [[{ text: 'Pay', callback_data: 'pay' }]] };
    const body = new URLSearchParams({ chat_id: String(user), text: 'Hello', reply_markup: JSON.stringify(markup) });
    const response = await fetch(`${telegram.apiRoot}/bot${telegram.token}/sendMessage`, { method: 'POST', body });
    expect(await response.json()).toMatchObject({ ok: true, result: { chat: { id: user }, text: 'Hello', reply_markup: markup } });
    expect(telegram.messagesTo(user)).toEqual([{ messageId: 1, text: 'Hello', replyMarkup: markup }]);
  });

  it('ignores the case of method names and reads query strings', async () => {
    const user = newUser();
    const response = await fetch(`${telegram.apiRoot}/bot${telegram.token}/SENDMESSAGE?chat_id=${user}&text=hi`);
    expect(await response.json()).toMatchObject({ ok: true, result: { text: 'hi' } });
    expect(telegram.callsTo('sendMessage').at(-1)).toEqual({ payload: { chat_id: String(user), text: 'hi' }, ok: true });
  });

  it('answers 400 for missing parameters instead of crashing', async () => {
    const post = (method: string, payload: object) =>
      fetch(`${telegram.apiRoot}/bot${telegram.token}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) }).then((r) => r.json());
    expect(await post('sendMessage', {})).toEqual({ ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' });
    expect(await post('sendMessage', { chat_id: OWNER })).toMatchObject({ description: 'Bad Request: message text is empty' });
    expect(await post('banChatMember', { chat_id: CHANNEL })).toMatchObject({ description: 'Bad Request: invalid user_id specified' });
    expect(await post('revokeChatInviteLink', { chat_id: CHANNEL })).toMatchObject({ description: 'Bad Request: invite_link is empty' });
    expect(await post('editMessageText', { chat_id: OWNER, text: 'x' })).toMatchObject({ description: 'Bad Request: message identifier is not specified' });
  });

  it('fails the next calls of a method as told, then recovers', async () => {
    telegram.failNext('getChat', { errorCode: 500, description: 'Internal Server Error' }, 2);
    await expect(api.getChat(CHANNEL)).rejects.toMatchObject({ error_code: 500 });
    await expect(api.getChat(CHANNEL)).rejects.toMatchObject({ error_code: 500 });
    await expect(api.getChat(CHANNEL)).resolves.toMatchObject({ id: CHANNEL });
    expect(telegram.callsTo('getChat').slice(-3).map((call) => call.ok)).toEqual([false, false, true]);
  });

  it('answers 429 with retry_after past 20 messages a minute into one channel, as the Bot API FAQ states', async () => {
    const floodChannel = -1009876543210;
    telegram.addChat({ id: floodChannel, type: 'channel', title: 'Flood' });
    telegram.setBotMembership(floodChannel, 'administrator');
    for (let post = 0; post < 20; post++) {
      await api.sendMessage(floodChannel, `post ${post}`);
      clock.advance(1_000);
    }
    // The first post (at 0 s) leaves the window at 60 s; it is now 20 s.
    await expect(api.sendMessage(floodChannel, 'one too many')).rejects.toMatchObject({ error_code: 429, parameters: { retry_after: 40 } });
    await expect(api.sendMessage(OWNER, 'a private chat is not limited here')).resolves.toMatchObject({ chat: { id: OWNER } });
    clock.advance(40_000);
    await expect(api.sendMessage(floodChannel, 'after the wait')).resolves.toMatchObject({ chat: { id: floodChannel } });
  });
});

describe('invite links', () => {
  it('a link with member_limit 1 admits exactly one user', async () => {
    const [first, second] = [newUser(), newUser()];
    const link = await api.createChatInviteLink(CHANNEL, { member_limit: 1 });
    expect(await telegram.joinWithInviteLink(first, link.invite_link)).toMatchObject({ joined: true });
    expect(await telegram.joinWithInviteLink(second, link.invite_link)).toMatchObject({ joined: false, reason: 'member_limit_reached' });
    expect(telegram.memberStatus(CHANNEL, first)).toBe('member');
    expect(telegram.memberStatus(CHANNEL, second)).toBe('left');
    expect(telegram.inviteLinks(CHANNEL).find((l) => l.invite_link === link.invite_link)).toMatchObject({ usageCount: 1, currentMemberCount: 1, joinedUserIds: [first] });
  });

  it('frees the seat when that member leaves, as Telegram does (so revoke links once used)', async () => {
    const [first, second] = [newUser(), newUser()];
    const link = await api.createChatInviteLink(CHANNEL, { member_limit: 1 });
    await telegram.joinWithInviteLink(first, link.invite_link);
    await telegram.leaveChat(first, CHANNEL);
    expect(await telegram.joinWithInviteLink(second, link.invite_link)).toMatchObject({ joined: true });
  });

  it('refuses an expired link', async () => {
    const user = newUser();
    const link = await api.createChatInviteLink(CHANNEL, { expire_date: nowSeconds() + 3600 });
    clock.advance(3600 * 1000);
    expect(await telegram.joinWithInviteLink(user, link.invite_link)).toMatchObject({ joined: false, reason: 'link_expired' });
  });

  it('refuses a revoked link', async () => {
    const user = newUser();
    const link = await api.createChatInviteLink(CHANNEL, { member_limit: 1 });
    await api.revokeChatInviteLink(CHANNEL, link.invite_link);
    expect(await telegram.joinWithInviteLink(user, link.invite_link)).toMatchObject({ joined: false, reason: 'link_revoked' });
  });

  it('refuses a link it never issued', async () => {
    expect(await telegram.joinWithInviteLink(newUser(), 'https://t.me/+AAAAAAAAAAAAAAAA')).toMatchObject({ joined: false, reason: 'invalid_link' });
  });

  it('keeps a banned user out until unbanned; then a new link lets them rejoin', async () => {
    const user = newUser();
    const first = await api.createChatInviteLink(CHANNEL, { member_limit: 1 });
    await telegram.joinWithInviteLink(user, first.invite_link);
    await api.banChatMember(CHANNEL, user);
    const second = await api.createChatInviteLink(CHANNEL, { member_limit: 1 });
    expect(await telegram.joinWithInviteLink(user, second.invite_link)).toMatchObject({ joined: false, reason: 'banned' });
    await api.unbanChatMember(CHANNEL, user, { only_if_banned: true });
    expect(await telegram.joinWithInviteLink(user, second.invite_link)).toMatchObject({ joined: true });
  });

  it('lets a temporary ban lapse with the clock', async () => {
    const user = newUser();
    telegram.addMember(CHANNEL, user);
    await api.banChatMember(CHANNEL, user, { until_date: nowSeconds() + 3600 });
    expect(telegram.memberStatus(CHANNEL, user)).toBe('kicked');
    clock.advance(3600 * 1000);
    expect(telegram.memberStatus(CHANNEL, user)).toBe('left');
  });

  it('tells a member they are already in', async () => {
    const link = await api.createChatInviteLink(CHANNEL);
    expect(await telegram.joinWithInviteLink(OWNER, link.invite_link)).toMatchObject({ joined: false, reason: 'already_member' });
  });
});

describe('webhook delivery', () => {
  let receiver: Receiver;

  beforeEach(async () => {
    receiver = await startReceiver();
  });

  afterEach(async () => {
    await telegram.flush();
    await receiver.close();
  });

  it('POSTs the chat_member update of a join with the secret header and the invite_link', async () => {
    await api.setWebhook(receiver.url, { secret_token: SECRET, allowed_updates: ['message', 'callback_query', 'chat_member', 'my_chat_member'] });
    const user = newUser();
    const link = await api.createChatInviteLink(CHANNEL, { name: 'sub_42', member_limit: 1 });
    expect(await telegram.joinWithInviteLink(user, link.invite_link)).toEqual({ joined: true, webhookStatus: 200 });
    const [delivery] = receiver.received;
    expect(delivery?.headers['x-telegram-bot-api-secret-token']).toBe(SECRET);
    expect(delivery?.update.update_id).toBeGreaterThan(0);
    expect(delivery?.update.chat_member).toMatchObject({
      chat: { id: CHANNEL, type: 'channel' },
      from: { id: user },
      date: nowSeconds(),
      old_chat_member: { status: 'left', user: { id: user } },
      new_chat_member: { status: 'member', user: { id: user } },
      invite_link: { invite_link: link.invite_link, name: 'sub_42', member_limit: 1, creator: { id: telegram.botInfo.id } },
    });
  });

  it('leaves chat_member out unless allowed_updates asks for it, as Telegram does', async () => {
    // An empty list means Telegram's default: every update type except chat_member and reactions.
    await api.setWebhook(receiver.url, { allowed_updates: [] });
    const link = await api.createChatInviteLink(CHANNEL);
    expect(await telegram.joinWithInviteLink(newUser(), link.invite_link)).toEqual({ joined: true, webhookStatus: 0 });
    expect(receiver.received).toEqual([]);
    expect(telegram.deliveries.at(-1)).toMatchObject({ outcome: 'filtered' });
  });

  it('sends chat_member only while the bot is an administrator of the chat', async () => {
    await api.setWebhook(receiver.url, { allowed_updates: ['chat_member'] });
    const group = -1007777777701;
    telegram.addChat({ id: group, type: 'supergroup', title: 'Chat' });
    telegram.setBotMembership(group, 'administrator');
    const link = await api.createChatInviteLink(group);
    telegram.setBotMembership(group, 'member');
    expect(await telegram.joinWithInviteLink(newUser(), link.invite_link)).toEqual({ joined: true, webhookStatus: 0 });
    expect(receiver.received).toEqual([]);
  });

  it('sends chat_member after a ban, once the call has returned', async () => {
    await api.setWebhook(receiver.url, { allowed_updates: ['chat_member'] });
    const user = newUser();
    telegram.addMember(CHANNEL, user);
    await api.banChatMember(CHANNEL, user);
    await telegram.flush();
    expect(receiver.received.map((r) => r.update.chat_member?.new_chat_member)).toEqual([{ status: 'kicked', user: expect.objectContaining({ id: user }), until_date: 0 }]);
  });

  it('sends my_chat_member when the bot is promoted and when a user blocks it', async () => {
    await api.setWebhook(receiver.url, { allowed_updates: [] });
    const group = -1007777777702;
    const user = newUser();
    telegram.addChat({ id: group, type: 'supergroup', title: 'Chat' });
    telegram.addMember(group, OWNER, 'creator');
    telegram.setBotMembership(group, 'administrator', { can_restrict_members: false });
    telegram.blockBot(user);
    await telegram.flush();
    const [promoted, blocked] = receiver.received.map((r) => r.update.my_chat_member);
    expect(promoted).toMatchObject({ chat: { id: group }, from: { id: OWNER }, old_chat_member: { status: 'left' }, new_chat_member: { status: 'administrator', can_invite_users: true, can_restrict_members: false } });
    expect(blocked).toMatchObject({ chat: { id: user, type: 'private' }, from: { id: user }, new_chat_member: { status: 'kicked' } });
  });

  it('records a webhook that answers 500 in getWebhookInfo', async () => {
    await api.setWebhook(receiver.url, { allowed_updates: [] });
    receiver.status = 500;
    expect(await telegram.sendText(newUser(), 'hi')).toBe(500);
    expect(await api.getWebhookInfo()).toMatchObject({ url: receiver.url, last_error_date: nowSeconds(), last_error_message: 'Wrong response from the webhook: 500 Internal Server Error' });
  });

  it('sends a new webhook the updates that queued while there was none', async () => {
    const user = newUser();
    await telegram.sendText(user, 'while offline');
    await api.setWebhook(receiver.url, { allowed_updates: [] });
    await telegram.flush();
    expect(receiver.received.map((r) => r.update.message?.text)).toEqual(['while offline']);
  });

  it('drops them when the webhook is set with drop_pending_updates', async () => {
    await telegram.sendText(newUser(), 'while offline');
    await api.setWebhook(receiver.url, { allowed_updates: [], drop_pending_updates: true });
    await telegram.flush();
    expect(receiver.received).toEqual([]);
  });

  it('records a webhook it cannot reach as failed', async () => {
    await api.setWebhook(receiver.url, { allowed_updates: [] });
    await receiver.close();
    expect(await telegram.sendText(newUser(), 'hi')).toBe(0);
    expect(telegram.deliveries.at(-1)).toMatchObject({ outcome: 'failed', status: 0 });
    receiver = await startReceiver();
  });
});

describe('getUpdates', () => {
  it('queues updates while no webhook is set, and an offset confirms them', async () => {
    expect(await api.getUpdates({ allowed_updates: ['message'] })).toEqual([]);
    const user = newUser();
    await telegram.sendText(user, 'one');
    await telegram.sendText(user, 'two');
    const updates = await api.getUpdates();
    expect(updates.map((u) => u.message?.text)).toEqual(['one', 'two']);
    expect((await api.getWebhookInfo()).pending_update_count).toBe(2);
    const after = await api.getUpdates({ offset: updates[1]!.update_id + 1 });
    expect(after).toEqual([]);
  });

  it('answers 409 while a webhook is set', async () => {
    await api.setWebhook('https://example.test/hook', { drop_pending_updates: true });
    await expect(api.getUpdates()).rejects.toMatchObject({ error_code: 409 });
  });
});

describe('a grammY bot behind webhookCallback', () => {
  let server: ReturnType<typeof createServer>;
  let url: string;
  let bot: Bot;
  const memberChanges: string[] = [];

  beforeAll(async () => {
    bot = new Bot(telegram.token, { botInfo: telegram.botInfo, client: { apiRoot: telegram.apiRoot } });
    bot.command('start', async (ctx) => {
      const keyboard = new InlineKeyboard().text('30 days', `tier:30:${ctx.match}`);
      await ctx.reply(`Hi ${ctx.from?.first_name}! Channel ${ctx.match}`, { reply_markup: keyboard });
    });
    bot.callbackQuery(/^tier:/, async (ctx) => {
      await ctx.answerCallbackQuery({ text: 'Creating invoice…' });
      await ctx.editMessageText('Invoice created');
    });
    bot.on('my_chat_member', (ctx) => {
      memberChanges.push(ctx.myChatMember.new_chat_member.status);
    });
    server = createServer(webhookCallback(bot, 'http', { secretToken: SECRET }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(async () => {
    await bot.api.setWebhook(url, { secret_token: SECRET, allowed_updates: ['message', 'callback_query', 'my_chat_member'] });
  });

  it('handles /start with a deep link and a button press', async () => {
    const user = newUser();
    expect(await telegram.sendText(user, '/start c_abc')).toBe(200);
    const [welcome] = telegram.messagesTo(user);
    expect(welcome).toMatchObject({ text: `Hi User ${user}! Channel c_abc`, replyMarkup: { inline_keyboard: [[{ text: '30 days', callback_data: 'tier:30:c_abc' }]] } });
    expect(await telegram.clickButton(user, welcome!.messageId, 'tier:30:c_abc')).toBe(200);
    expect(telegram.callsTo('answerCallbackQuery').at(-1)).toMatchObject({ payload: { text: 'Creating invoice…' }, ok: true });
    expect(telegram.messagesTo(user)).toEqual([{ messageId: welcome!.messageId, text: 'Invoice created' }]);
  });

  it('sees a user block the bot', async () => {
    telegram.blockBot(newUser());
    await telegram.flush();
    expect(memberChanges.at(-1)).toBe('kicked');
  });

  it('is refused by the bot when the secret token differs', async () => {
    await bot.api.setWebhook(url, { secret_token: 'another_secret' });
    expect(await telegram.sendText(newUser(), '/start')).toBe(401);
  });
});

describe('with a state file', () => {
  let folder = '';
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'pgp-telegram-state-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('continues the same chats after a restart: users, members, messages with buttons, invite links and update ids', async () => {
    const stateFile = path.join(folder, 'telegram.json');
    const first = await startTelegramSimulator({ clock, stateFile });
    const firstApi = new Api(first.token, { apiRoot: first.apiRoot });
    first.addUser({ id: OWNER, first_name: 'Olga' });
    first.addUser({ id: 2002, first_name: 'Bea' });
    first.addChat({ id: CHANNEL, type: 'channel', title: 'Alpha Signals' });
    first.addMember(CHANNEL, OWNER, 'creator');
    first.setBotMembership(CHANNEL, 'administrator');
    await first.flush();
    const offer = await firstApi.sendMessage(2002, 'Pick a tier', { reply_markup: new InlineKeyboard().text('Tier 1', 't1') });
    const link = await firstApi.createChatInviteLink(CHANNEL, { member_limit: 1 });
    await first.joinWithInviteLink(2002, link.invite_link);
    const queued = first.deliveries.at(-1)?.update.update_id ?? 0;
    await first.close(); // every change was written as it happened; close adds nothing

    const second = await startTelegramSimulator({ clock, stateFile });
    try {
      expect(second.hasUser(2002)).toBe(true);
      expect(second.hasChat(CHANNEL)).toBe(true);
      expect(second.memberStatus(CHANNEL, 2002)).toBe('member');
      expect(second.memberStatus(CHANNEL, OWNER)).toBe('creator');
      expect(second.messagesTo(2002)).toEqual([expect.objectContaining({ messageId: offer.message_id, text: 'Pick a tier' })]);
      expect(second.inviteLinks(CHANNEL)).toEqual([expect.objectContaining({ invite_link: link.invite_link, joinedUserIds: [2002], currentMemberCount: 1 })]);
      // The button under the message sent before the restart still works, and update ids keep growing.
      await second.clickButton(2002, offer.message_id, 't1');
      expect(second.deliveries.at(-1)?.update.update_id).toBeGreaterThan(queued);
      const secondApi = new Api(second.token, { apiRoot: second.apiRoot });
      expect((await secondApi.sendMessage(2002, 'Again')).message_id).toBe(offer.message_id + 1);
    } finally {
      await second.close();
    }
  });
});
