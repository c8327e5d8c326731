import { accountEmailById, accountIdByEmail } from '../testing/encrypted-fields.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { qrCodeSvg } from '../channels/index.js';
import { parsePublicId } from '../ids/index.js';
import { createLogger } from '../logging/index.js';
import { createBotApi, createBotUsernameSource } from '../telegram/index.js';
import { addOwnedChats, channelInput, type OwnedChats } from '../testing/channel-setup.js';
import { createDashboardHarness, type DashboardHarness, mailedToken } from '../testing/dashboard-api.js';
import { insertTelegramUser } from '../testing/fixtures.js';
import { findFreePort } from '../testing/free-port.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';

const PASSWORD = 'correct horse battery';
const quiet = createLogger({ write: () => undefined });
const HOUR_MS = 3_600_000;

let h: DashboardHarness;
let telegram: TelegramSimulator;
let n = 0;

beforeAll(async () => {
  telegram = await startTelegramSimulator();
  h = await createDashboardHarness({
    channels: {
      telegram: createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot }),
      bot: { id: telegram.botInfo.id, username: telegram.botInfo.username },
      limits: { minTierPriceCents: 499n, minPayoutThresholdCents: 2000n },
    },
  });
});
afterAll(async () => {
  await h?.dispose();
  await telegram?.close();
});
beforeEach(() => h.clock.advance(2 * HOUR_MS));

const ip = () => `198.51.100.${(n % 250) + 1}`;

interface Owner {
  accountId: string;
  token: string;
  telegramUserId: number;
}

/** A logged-in account, linked to a Telegram user unless `linked: false`. */
async function owner(options: { linked?: boolean } = {}): Promise<Owner> {
  const email = `owner.${++n}@example.com`;
  await h.request('POST', '/auth/signup', { body: { email, password: PASSWORD }, ip: ip() });
  await h.deliverMails();
  await h.request('POST', '/auth/verify-email', { body: { token: mailedToken(h.outbox, email) }, ip: ip() });
  const login = await h.request('POST', '/auth/login', { body: { email, password: PASSWORD }, ip: ip() });
  expect(login.status).toBe(200);
  const rows = [{ id: (await accountIdByEmail(h.testDb.db, email))! }];
  const accountId = rows[0]!.id;
  const telegramUserId = 7_000_000_000 + n;
  if (options.linked !== false) {
    await insertTelegramUser(h.testDb.db, { id: BigInt(telegramUserId) });
    await h.testDb.db.query('UPDATE accounts SET telegram_user_id = $2, telegram_linked_at = $3 WHERE id = $1', [accountId, telegramUserId, h.clock.now()]);
    telegram.addUser({ id: telegramUserId, first_name: 'Owner' });
  }
  return { accountId, token: login.json.accessToken as string, telegramUserId };
}

async function emailOf(account: Owner): Promise<string> {
  return accountEmailById(h.testDb.db, account.accountId);
}

/** A create request with the password that confirms its payout wallet. */
const createBody = (chats: Pick<OwnedChats, 'openChatId' | 'closedChatId'>, overrides: Record<string, unknown> = {}) => ({ ...channelInput(chats as OwnedChats), currentPassword: PASSWORD, ...overrides });

async function registered(who?: Owner): Promise<{ owner: Owner; chats: OwnedChats; id: string }> {
  const account = who ?? (await owner());
  const chats = addOwnedChats(telegram, account.telegramUserId);
  const response = await h.request('POST', '/channels', { token: account.token, body: createBody(chats) });
  expect(response.status, JSON.stringify(response.json)).toBe(201);
  return { owner: account, chats, id: response.json.id as string };
}

describe('authentication', () => {
  it.each([
    ['GET', '/channels'],
    ['POST', '/channels'],
    ['GET', '/channels/ch_Ehz5dX8hQSeMc0Q8m0Q2Xw'],
    ['PATCH', '/channels/ch_Ehz5dX8hQSeMc0Q8m0Q2Xw'],
    ['DELETE', '/channels/ch_Ehz5dX8hQSeMc0Q8m0Q2Xw'],
    ['POST', '/channels/ch_Ehz5dX8hQSeMc0Q8m0Q2Xw/broadcast'],
    ['GET', '/channels/ch_Ehz5dX8hQSeMc0Q8m0Q2Xw/subscribe-qr.svg'],
    ['GET', '/channels/ch_Ehz5dX8hQSeMc0Q8m0Q2Xw/tier-posts'],
    ['GET', '/channels/ch_Ehz5dX8hQSeMc0Q8m0Q2Xw/growth'],
  ])('%s %s answers 401 without a token and with an invalid one', async (method, path) => {
    const body = method === 'POST' && path === '/channels' ? channelInput({ openChatId: -1001000000001n, closedChatId: -1001000000002n }) : method === 'PATCH' ? { openChat: { title: 'x' } } : undefined;
    expect((await h.request(method, path, { body })).status).toBe(401);
    const invalid = await h.request(method, path, { body, headers: { authorization: 'Bearer not.a.jwt' } });
    expect(invalid.status).toBe(401);
    expect(invalid.json.error.code).toMatch(/^(unauthorized|invalid_token)$/);
  });
});

describe('POST /channels', () => {
  it('registers a channel and answers 201 with it', async () => {
    const account = await owner();
    const chats = addOwnedChats(telegram, account.telegramUserId);
    const response = await h.request('POST', '/channels', { token: account.token, body: createBody(chats) });
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({
      id: expect.stringMatching(/^ch_/),
      status: 'active',
      openChat: { id: chats.openChatId.toString() },
      tiers: [{ tierNumber: 1, priceUsd: '9.99', durationDays: 30 }],
      payoutStrategy: { strategy: 'instant', thresholdUsd: null },
      botRights: { open: { missing: [] }, closed: { missing: [] } },
      gracePeriodHours: 0,
      broadcast: { enabled: true, disabledReason: null, intervalHours: 24, nextRunAt: h.clock.now().toISOString(), lastPostedAt: null, consecutiveFailures: 0, lastError: null },
    });
    const id = response.json.id as string;
    // No TELEGRAM_BOT_USERNAME in this harness: the links use the bot the channel services know.
    const bot = telegram.botInfo.username;
    expect(response.json.subscribeLinks).toEqual({
      channel: { url: `https://t.me/${bot}?start=c_${id}`, startParameter: `c_${id}` },
      tiers: [{ tierNumber: 1, url: `https://t.me/${bot}?start=c_${id}_1`, startParameter: `c_${id}_1` }],
    });
  });

  it('stores the grace period and the broadcast interval given', async () => {
    const account = await owner();
    const chats = addOwnedChats(telegram, account.telegramUserId);
    const response = await h.request('POST', '/channels', { token: account.token, body: createBody(chats, { gracePeriodHours: 24, broadcast: { intervalHours: null } }) });
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({ gracePeriodHours: 24, broadcast: { enabled: false, disabledReason: 'owner', nextRunAt: null } });
  });

  const chats = { openChatId: -1001000000101n, closedChatId: -1001000000102n };
  const base = channelInput(chats);
  it.each<[string, unknown, string]>([
    ['a malformed chat id', { ...base, openChat: { ...base.openChat, id: '12345' } }, 'openChat.id'],
    ['a missing title', { ...base, closedChat: { id: base.closedChat.id } }, 'closedChat.title'],
    ['no tiers', { ...base, tiers: [] }, 'tiers'],
    ['four tiers', { ...base, tiers: Array(4).fill({ priceUsd: '9.99', durationDays: 30 }) }, 'tiers'],
    ['a price below the configured minimum', { ...base, tiers: [{ priceUsd: '4.00', durationDays: 30 }] }, 'tiers.0.priceUsd'],
    ['a duration of 3651 days', { ...base, tiers: [{ priceUsd: '9.99', durationDays: 3651 }] }, 'tiers.0.durationDays'],
    ['a wallet that is not on the network', { ...base, payoutDestination: { currency: 'BTC', network: 'BTC', wallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' } }, 'payoutDestination.wallet'],
    ['a threshold below the minimum', { ...base, payoutStrategy: { strategy: 'threshold', thresholdUsd: '10' } }, 'payoutStrategy.thresholdUsd'],
    ['an unknown strategy', { ...base, payoutStrategy: { strategy: 'monthly' } }, 'payoutStrategy.strategy'],
    ['a tolerance of 50 %', { ...base, underpaymentToleranceBps: 5000 }, 'underpaymentToleranceBps'],
    ['a grace period of 73 hours', { ...base, gracePeriodHours: 73 }, 'gracePeriodHours'],
    ['a broadcast interval of 721 hours', { ...base, broadcast: { intervalHours: 721 } }, 'broadcast.intervalHours'],
    ['donations without bounds', { ...base, donations: { enabled: true } }, 'donations'],
  ])('answers 400 validation_failed for %s, naming %s', async (_, body, field) => {
    const account = await owner();
    const response = await h.request('POST', '/channels', { token: account.token, body });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('validation_failed');
    expect(response.json.error.fields).toEqual(expect.objectContaining({ [field]: expect.any(String) }));
  });

  it('needs the account password, since registration sets the payout wallet', async () => {
    const account = await owner();
    const chats = addOwnedChats(telegram, account.telegramUserId);
    const missing = await h.request('POST', '/channels', { token: account.token, body: channelInput(chats) });
    expect(missing.status).toBe(403);
    expect(missing.json.error).toMatchObject({ code: 'password_required', fields: { currentPassword: expect.any(String) } });
    const wrong = await h.request('POST', '/channels', { token: account.token, body: createBody(chats, { currentPassword: 'not my password' }) });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toMatchObject({ code: 'incorrect_password', fields: { currentPassword: expect.any(String) } });
    expect((await h.request('GET', '/channels', { token: account.token })).json.count).toBe(0);
    expect((await h.request('POST', '/channels', { token: account.token, body: createBody(chats) })).status).toBe(201);
  });

  it('answers 400 for a body that is not JSON and 415 without the JSON content type', async () => {
    const account = await owner();
    expect((await h.request('POST', '/channels', { token: account.token, rawBody: '{', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await h.request('POST', '/channels', { token: account.token, rawBody: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(415);
  });

  it('answers 409 telegram_not_linked for an account without a Telegram link', async () => {
    const account = await owner({ linked: false });
    const response = await h.request('POST', '/channels', { token: account.token, body: base });
    expect(response.status).toBe(409);
    expect(response.json.error).toMatchObject({ code: 'telegram_not_linked', message: expect.stringContaining('Link your Telegram account first') });
  });

  it('answers 422 naming the missing right and the chat when the bot cannot invite in the closed chat', async () => {
    const account = await owner();
    const weak = addOwnedChats(telegram, account.telegramUserId, { closedBot: { status: 'administrator', rights: { can_invite_users: false } } });
    const response = await h.request('POST', '/channels', { token: account.token, body: createBody(weak) });
    expect(response.status).toBe(422);
    expect(response.json.error.code).toBe('channel_ownership_unverified');
    expect(response.json.error.message).toContain(`lacks the right "Invite users via link" in the closed chat ${weak.closedChatId}`);
    expect(response.json.error.fields).toEqual({ 'closedChat.id': expect.stringContaining('Invite users via link') });
  });

  it('answers 422 when the linked user does not administer the open chat', async () => {
    const account = await owner();
    const chatsNotOwned = addOwnedChats(telegram, account.telegramUserId, { openOwner: 'member' });
    const response = await h.request('POST', '/channels', { token: account.token, body: createBody(chatsNotOwned) });
    expect(response.status).toBe(422);
    expect(response.json.error.message).toContain(`your linked Telegram account is not an administrator or the creator of the open chat ${chatsNotOwned.openChatId}`);
  });

  it('answers 409 for chats another channel already uses', async () => {
    const { owner: account, chats: taken } = await registered();
    const response = await h.request('POST', '/channels', { token: account.token, body: createBody(taken) });
    expect(response.status).toBe(409);
    expect(response.json.error.code).toBe('chat_already_registered');
  });

  it('answers 429 with Retry-After after 20 registration attempts in an hour', async () => {
    const account = await owner();
    const tooCheap = { ...base, tiers: [{ priceUsd: '1.00', durationDays: 30 }] };
    for (let i = 0; i < 20; i++) expect((await h.request('POST', '/channels', { token: account.token, body: tooCheap })).status).toBe(400);
    const limited = await h.request('POST', '/channels', { token: account.token, body: tooCheap });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json.error.code).toBe('rate_limited');
  });
});

describe('control characters in channel texts', () => {
  const chatText = (chats: OwnedChats, open: Record<string, string>) => ({ openChat: { id: chats.openChatId.toString(), title: 'Open news', ...open } });
  const cases: [string, (chats: OwnedChats) => Record<string, unknown>, string][] = [
    ['a NUL in the open chat title', (chats) => chatText(chats, { title: 'Open\u0000news' }), 'openChat.title'],
    ['a line feed in a title', (chats) => chatText(chats, { title: 'Open\nnews' }), 'openChat.title'],
    ['a NUL in the description', (chats) => chatText(chats, { description: 'Free\u0000posts' }), 'openChat.description'],
    ['an escape in the description', (chats) => chatText(chats, { description: '\u001b[2J' }), 'openChat.description'],
    ['a lone surrogate in the description', (chats) => chatText(chats, { description: 'Free \ud800 posts' }), 'openChat.description'],
    ['a NUL in the donation message', () => ({ donations: { enabled: true, minUsd: '5', maxUsd: '50', message: 'Thanks\u0000' } }), 'donations.message'],
    ['U+FFFF in the donation message', () => ({ donations: { enabled: true, minUsd: '5', maxUsd: '50', message: 'Thanks \uFFFF' } }), 'donations.message'],
    ['a NUL in the payout memo', () => ({ payoutDestination: { currency: 'USDT', network: 'TRX', wallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', extraId: '1\u00002' } }), 'payoutDestination.extraId'],
  ];

  it.each(cases)('POST /channels refuses %s with 400 naming the field, creating nothing', async (_name, part, field) => {
    const account = await owner();
    const chats = addOwnedChats(telegram, account.telegramUserId);
    const body = createBody(chats, part(chats));
    const response = await h.request('POST', '/channels', { token: account.token, body });
    expect(response.status, JSON.stringify(response.json)).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'validation_failed', fields: { [field]: expect.stringContaining('control characters') } });
    const { rows } = await h.testDb.db.query('SELECT 1 FROM channels WHERE owner_account_id = $1', [account.accountId]);
    expect(rows).toEqual([]);
  });

  it.each(cases)('PATCH /channels/{channelId} refuses %s with 400 naming the field, changing nothing', async (_name, part, field) => {
    const { owner: account, chats, id } = await registered();
    const before = await h.request('GET', `/channels/${id}`, { token: account.token });
    const response = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { ...part(chats), currentPassword: PASSWORD } });
    expect(response.status, JSON.stringify(response.json)).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'validation_failed', fields: { [field]: expect.stringContaining('control characters') } });
    const after = await h.request('GET', `/channels/${id}`, { token: account.token });
    expect(after.json).toEqual(before.json);
  });

  it('keeps line feeds and tabs in a description and a donation message', async () => {
    const { owner: account, id } = await registered();
    const response = await h.request('PATCH', `/channels/${id}`, {
      token: account.token,
      body: { openChat: { description: 'Line one\n\tLine two' }, donations: { enabled: true, minUsd: '5', maxUsd: '50', message: 'Thank\nyou' } },
    });
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    expect(response.json.openChat.description).toBe('Line one\n\tLine two');
    expect(response.json.donations.message).toBe('Thank\nyou');
  });
});

describe('GET /channels and GET /channels/{channelId}', () => {
  it('lists the account’s channels and returns one', async () => {
    const { owner: account, id } = await registered();
    const list = await h.request('GET', '/channels', { token: account.token });
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({ count: 1, maxChannels: 10, channels: [{ id }] });
    const one = await h.request('GET', `/channels/${id}`, { token: account.token });
    expect(one.status).toBe(200);
    expect(one.json).toEqual(list.json.channels[0]);
  });

  it('answers 404 for another account’s channel and for an id that is not a channel id', async () => {
    const { id } = await registered();
    const stranger = await owner();
    for (const path of [`/channels/${id}`, '/channels/pay_Ehz5dX8hQSeMc0Q8m0Q2Xw', '/channels/nonsense']) {
      const response = await h.request('GET', path, { token: stranger.token });
      expect(response.status).toBe(404);
      expect(response.json.error.code).toBe('channel_not_found');
    }
    expect((await h.request('GET', '/channels', { token: stranger.token })).json.channels).toEqual([]);
  });
});

describe('PATCH /channels/{channelId}', () => {
  const BTC = { currency: 'BTC', network: 'BTC', wallet: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' };

  async function auditOf(channelPublicId: string): Promise<string[]> {
    const { rows } = await h.testDb.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE subject_type = 'channel' AND subject_id = $1 ORDER BY id`, [
      parsePublicId('channel', channelPublicId),
    ]);
    return rows.map((row) => row.action);
  }

  it('changes the payout settings with the password and answers the channel', async () => {
    const { owner: account, id } = await registered();
    const response = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { payoutStrategy: { strategy: 'threshold', thresholdUsd: '25.50' }, currentPassword: PASSWORD } });
    expect(response.status).toBe(200);
    expect(response.json.payoutStrategy).toEqual({ strategy: 'threshold', thresholdUsd: '25.50' });
  });

  it('refuses a wallet change without the password (403 password_required) and with a wrong one, changing nothing', async () => {
    const { owner: account, id } = await registered();
    const missing = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { payoutDestination: BTC } });
    expect(missing.status).toBe(403);
    expect(missing.json.error).toMatchObject({ code: 'password_required', fields: { currentPassword: expect.stringContaining('password') } });
    const wrong = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { payoutDestination: BTC, currentPassword: 'not my password' } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toMatchObject({ code: 'incorrect_password', fields: { currentPassword: expect.any(String) } });
    const strategy = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { payoutStrategy: { strategy: 'threshold', thresholdUsd: '50' } } });
    expect(strategy.json.error.code).toBe('password_required');
    const stored = (await h.request('GET', `/channels/${id}`, { token: account.token })).json;
    expect(stored.payoutDestination.network).toBe('TRX');
    expect(stored.payoutStrategy.strategy).toBe('instant');
    const { rows } = await h.testDb.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE actor_id = $1 AND action = 'channel.payout_change_refused'`, [account.accountId]);
    expect(rows).toHaveLength(1);
  });

  it('changes the wallet with the right password: audited, and the owner is mailed a notice', async () => {
    const { owner: account, id } = await registered();
    await h.deliverMails();
    const response = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { payoutDestination: BTC, currentPassword: PASSWORD } });
    expect(response.status).toBe(200);
    expect(response.json.payoutDestination).toEqual({ ...BTC, extraId: null });
    expect(await auditOf(id)).toEqual(['channel.created', 'channel.updated', 'channel.wallet_changed']);
    await h.deliverMails();
    const mail = h.outbox.latestTo(await accountEmailById(h.testDb.db, account.accountId));
    expect(mail?.subject).toContain('payout wallet was changed');
    expect(mail?.text).toContain('forgot-password');
  });

  it('needs no password to resend the stored payout settings or to change other sections', async () => {
    const { owner: account, id } = await registered();
    const current = (await h.request('GET', `/channels/${id}`, { token: account.token })).json;
    const response = await h.request('PATCH', `/channels/${id}`, {
      token: account.token,
      body: { payoutDestination: current.payoutDestination, payoutStrategy: { strategy: 'instant' }, openChat: { title: 'Renamed' } },
    });
    expect(response.status).toBe(200);
    expect(response.json.openChat.title).toBe('Renamed');
    const { rows } = await h.testDb.db.query(`SELECT 1 FROM outbox WHERE topic = 'account-mail-requested' AND payload->>'accountId' = $1 AND payload->>'kind' = 'payout_wallet_changed'`, [account.accountId]);
    expect(rows).toHaveLength(0);
  });

  it('answers 429 with Retry-After after 10 wrong passwords from one IP, counted with login failures', async () => {
    const { owner: account, id } = await registered();
    for (let i = 0; i < 10; i++) {
      const wrong = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { payoutDestination: BTC, currentPassword: `wrong-${i}-password` }, ip: '192.0.2.90' });
      expect(wrong.json.error.code).toBe('incorrect_password');
    }
    const limited = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { payoutDestination: BTC, currentPassword: PASSWORD }, ip: '192.0.2.90' });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
    // Another IP (the owner's) is not blocked.
    expect((await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { payoutDestination: BTC, currentPassword: PASSWORD }, ip: '192.0.2.91' })).status).toBe(200);
  });

  it.each<[string, unknown, string]>([
    ['an empty change', {}, '(body)'],
    ['a threshold below the minimum', { payoutStrategy: { strategy: 'threshold', thresholdUsd: '19.99' } }, 'payoutStrategy.thresholdUsd'],
    ['a wallet of another network', { payoutDestination: { currency: 'ETH', network: 'ETH', wallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' } }, 'payoutDestination.wallet'],
    ['four tiers', { tiers: Array(4).fill({ priceUsd: '9.99', durationDays: 30 }) }, 'tiers'],
  ])('answers 400 for %s', async (_, body, field) => {
    const { owner: account, id } = await registered();
    const response = await h.request('PATCH', `/channels/${id}`, { token: account.token, body });
    expect(response.status).toBe(400);
    expect(Object.keys(response.json.error.fields)).toContain(field);
  });

  it('changes the grace period and the broadcast schedule without the password', async () => {
    const { owner: account, id } = await registered();
    const off = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { gracePeriodHours: 12, broadcast: { intervalHours: null } } });
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ gracePeriodHours: 12, broadcast: { enabled: false, disabledReason: 'owner', intervalHours: 24, nextRunAt: null } });
    const on = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { broadcast: { intervalHours: 3 } } });
    expect(on.json).toMatchObject({ gracePeriodHours: 12, broadcast: { enabled: true, disabledReason: null, intervalHours: 3, nextRunAt: h.clock.now().toISOString() } });
  });

  it('restarts a schedule the broadcaster stopped after failures when the owner sets an interval', async () => {
    const { owner: account, id } = await registered();
    await h.testDb.db.query(
      `UPDATE broadcast_schedules SET is_enabled = false, disabled_reason = 'too_many_failures', consecutive_failures = 10, last_failure_reason = 'membership', last_error = 'Forbidden: bot was kicked'
        WHERE channel_id = $1`,
      [parsePublicId('channel', id)],
    );
    const stopped = await h.request('GET', `/channels/${id}`, { token: account.token });
    expect(stopped.json.broadcast).toMatchObject({ enabled: false, disabledReason: 'too_many_failures', nextRunAt: null, consecutiveFailures: 10, lastError: 'Forbidden: bot was kicked' });
    const restarted = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { broadcast: { intervalHours: 24 } } });
    expect(restarted.status).toBe(200);
    expect(restarted.json.broadcast).toMatchObject({ enabled: true, disabledReason: null, consecutiveFailures: 0, nextRunAt: h.clock.now().toISOString() });
    const { rows } = await h.testDb.db.query('SELECT last_failure_reason FROM broadcast_schedules WHERE channel_id = $1', [parsePublicId('channel', id)]);
    expect(rows).toEqual([{ last_failure_reason: null }]);
  });

  it('answers 404 for another account’s channel', async () => {
    const { id } = await registered();
    const stranger = await owner();
    const response = await h.request('PATCH', `/channels/${id}`, { token: stranger.token, body: { openChat: { title: 'Taken over' } } });
    expect(response.status).toBe(404);
  });

  it('repoints a chat only with the password (403 without, 400 when wrong), and mails the owner', async () => {
    const { owner: account, id, chats } = await registered();
    const other = addOwnedChats(telegram, account.telegramUserId);
    const change = { closedChat: { id: other.closedChatId.toString(), title: 'Elsewhere' } };
    const missing = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: change });
    expect(missing.status).toBe(403);
    expect(missing.json.error).toMatchObject({ code: 'password_required', fields: { currentPassword: expect.stringContaining("change the channel's chats") } });
    const wrong = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { ...change, currentPassword: 'not my password' } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.code).toBe('incorrect_password');
    expect((await h.request('GET', `/channels/${id}`, { token: account.token })).json.closedChat.id).toBe(chats.closedChatId.toString());
    const { rows: refused } = await h.testDb.db.query(`SELECT 1 FROM audit_log WHERE actor_id = $1 AND action = 'channel.chat_change_refused'`, [account.accountId]);
    expect(refused).toHaveLength(1);

    const email = await emailOf(account);
    await h.deliverMails();
    expect(h.outbox.latestTo(email)?.subject ?? '').not.toContain('chats were changed');
    const done = await h.request('PATCH', `/channels/${id}`, { token: account.token, body: { ...change, currentPassword: PASSWORD } });
    expect(done.status).toBe(200);
    expect(done.json.closedChat.id).toBe(other.closedChatId.toString());
    await h.deliverMails();
    const mail = h.outbox.latestTo(email);
    expect(mail?.subject).toContain("channel's chats were changed");
    expect(mail?.text).toContain('forgot-password');
  });
});

describe('DELETE /channels/{channelId}', () => {
  it('deletes with 204 and the password, after which the channel is not found; another account gets 404', async () => {
    const { owner: account, id } = await registered();
    const stranger = await owner();
    const body = { currentPassword: PASSWORD };
    expect((await h.request('DELETE', `/channels/${id}`, { token: stranger.token, body })).status).toBe(404);
    expect((await h.request('DELETE', `/channels/${id}`, { token: account.token, body })).status).toBe(204);
    expect((await h.request('GET', `/channels/${id}`, { token: account.token })).status).toBe(404);
    expect((await h.request('DELETE', `/channels/${id}`, { token: account.token, body })).status).toBe(404);
  });

  it('needs the password (403 without a body or without the field, 400 when wrong), and mails the owner', async () => {
    const { owner: account, id } = await registered();
    const noBody = await h.request('DELETE', `/channels/${id}`, { token: account.token });
    expect(noBody.status).toBe(403);
    expect(noBody.json.error).toMatchObject({ code: 'password_required', fields: { currentPassword: expect.stringContaining('delete the channel') } });
    expect((await h.request('DELETE', `/channels/${id}`, { token: account.token, body: {} })).status).toBe(403);
    const wrong = await h.request('DELETE', `/channels/${id}`, { token: account.token, body: { currentPassword: 'not my password' } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.code).toBe('incorrect_password');
    expect((await h.request('GET', `/channels/${id}`, { token: account.token })).status).toBe(200);

    expect((await h.request('DELETE', `/channels/${id}`, { token: account.token, body: { currentPassword: PASSWORD } })).status).toBe(204);
    await h.deliverMails();
    const mail = h.outbox.latestTo(await emailOf(account));
    expect(mail?.subject).toContain('A channel was deleted');
    expect(mail?.text).toContain('forgot-password');
  });
});

describe('POST /channels/{channelId}/broadcast', () => {
  it('queues a broadcast with 202, then answers 429 with Retry-After until 5 minutes passed', async () => {
    const { owner: account, id } = await registered();
    const first = await h.request('POST', `/channels/${id}/broadcast`, { token: account.token });
    expect(first.status).toBe(202);
    expect(first.json).toEqual({ channelId: id, requestedAt: h.clock.now().toISOString(), nextAllowedAt: new Date(h.clock.now().getTime() + 300_000).toISOString() });

    h.clock.advance(100_000);
    const second = await h.request('POST', `/channels/${id}/broadcast`, { token: account.token });
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toBe('200');
    expect(second.json.error).toMatchObject({ code: 'broadcast_cooling_down', message: expect.stringContaining('200 seconds') });

    h.clock.advance(200_000);
    expect((await h.request('POST', `/channels/${id}/broadcast`, { token: account.token })).status).toBe(202);
  });

  it('answers 404 for another account’s channel (never 429 or 403)', async () => {
    const { id } = await registered();
    const stranger = await owner();
    const response = await h.request('POST', `/channels/${id}/broadcast`, { token: stranger.token });
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('channel_not_found');
  });
});

/** The SVG route answers a document, not JSON, so it is read from the router directly. */
async function getRaw(token: string, path: string) {
  const answer = await h.router.handle({ method: 'GET', url: `/api/v1${path}`, headers: { authorization: `Bearer ${token}` }, rawBody: undefined, ip: ip() });
  const isJson = String(answer.headers['content-type']).startsWith('application/json');
  return { ...answer, json: isJson && answer.body ? JSON.parse(answer.body) : undefined };
}

/** Swaps where the dashboard gets the bot's username for one test. */
async function withSubscribeBot<T>(source: NonNullable<typeof h.deps.subscribeBot>, work: () => Promise<T>): Promise<T> {
  h.deps.subscribeBot = source;
  try {
    return await work();
  } finally {
    delete h.deps.subscribeBot;
  }
}

const unreachableTelegram = async () => createBotApi({ token: telegram.token, apiRoot: `http://127.0.0.1:${await findFreePort()}` });

describe('subscribe links', () => {
  it('are made with TELEGRAM_BOT_USERNAME when it is configured', async () => {
    const { owner: account, id } = await registered();
    const response = await withSubscribeBot(createBotUsernameSource({ configured: 'ConfiguredNameBot', logger: quiet }), () => h.request('GET', `/channels/${id}`, { token: account.token }));
    expect(response.json.subscribeLinks.channel.url).toBe(`https://t.me/ConfiguredNameBot?start=c_${id}`);
  });

  it('are null when no username is configured and Telegram is unreachable; the channel and the list still answer 200', async () => {
    const { owner: account, id } = await registered();
    const offline = createBotUsernameSource({ telegram: await unreachableTelegram(), logger: quiet });
    await withSubscribeBot(offline, async () => {
      const one = await h.request('GET', `/channels/${id}`, { token: account.token });
      expect(one.status).toBe(200);
      expect(one.json).toMatchObject({ id, subscribeLinks: null, tiers: [{ tierNumber: 1 }] });
      const list = await h.request('GET', '/channels', { token: account.token });
      expect(list.status).toBe(200);
      expect(list.json.channels).toEqual([one.json]);
    });
  });
});

describe('GET /channels/{channelId}/growth', () => {
  it('counts the channel’s trials and gifts, and answers 404 for another account’s channel', async () => {
    const account = await owner();
    const chats = addOwnedChats(telegram, account.telegramUserId);
    const body = createBody(chats, { tiers: [{ priceUsd: '9.99', durationDays: 30, trialDays: 7 }] });
    const created = await h.request('POST', '/channels', { token: account.token, body });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json.tiers).toEqual([{ tierNumber: 1, priceUsd: '9.99', durationDays: 30, trialDays: 7 }]);
    const channelId = parsePublicId('channel', created.json.id);
    const { rows: tiers } = await h.testDb.db.query<{ id: string }>('SELECT id FROM channel_tiers WHERE channel_id = $1', [channelId]);
    const user = await insertTelegramUser(h.testDb.db);
    await h.testDb.db.query('INSERT INTO trials (telegram_user_id, channel_id, tier_id, duration_days, granted_at) VALUES ($1, $2, $3, 7, now())', [user.id, channelId, tiers[0]!.id]);

    const response = await h.request('GET', `/channels/${created.json.id}/growth`, { token: account.token });
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      trials: { granted: 1, grantedLast30Days: 1, convertedToPaid: 0 },
      gifts: { sold: 0, pending: 0, claimed: 0, expired: 0 },
    });
    const stranger = await owner();
    const refused = await h.request('GET', `/channels/${created.json.id}/growth`, { token: stranger.token });
    expect(refused.status).toBe(404);
    expect(refused.json.error.code).toBe('channel_not_found');
  });
});

describe('GET /channels/{channelId}/tier-posts', () => {
  it('answers the posts the broadcaster would put up now: tier buttons that open the bot, the donation button', async () => {
    const account = await owner();
    const chats = addOwnedChats(telegram, account.telegramUserId);
    const body = createBody(chats, {
      openChat: { id: chats.openChatId.toString(), title: 'Tom & Jerry <club>', description: 'daily' },
      tiers: [
        { priceUsd: '9.99', durationDays: 30 },
        { priceUsd: '99', durationDays: 365 },
      ],
    });
    const created = await h.request('POST', '/channels', { token: account.token, body });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const channel = created.json;
    const response = await h.request('GET', `/channels/${channel.id}/tier-posts`, { token: account.token });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ channelId: channel.id, language: 'en', closed: null });
    // Owner texts arrive escaped, as Telegram gets them.
    expect(response.json.open.html).toContain('Welcome to <b>Tom &amp; Jerry &lt;club&gt;</b>: daily');
    expect(response.json.open.buttons).toEqual([
      { text: '🥇 $9.99 for 30 days', url: channel.subscribeLinks.tiers[0].url },
      { text: '🥈 $99.00 for 365 days', url: channel.subscribeLinks.tiers[1].url },
    ]);
  });

  it("answers 404 for another account's channel", async () => {
    const { id } = await registered();
    const stranger = await owner();
    const response = await h.request('GET', `/channels/${id}/tier-posts`, { token: stranger.token });
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('channel_not_found');
  });
});

describe('GET /channels/{channelId}/subscribe-qr.svg', () => {
  it("answers an SVG QR code of the channel's link, or of one tier's, privately cacheable for 5 minutes", async () => {
    const account = await owner();
    const chats = addOwnedChats(telegram, account.telegramUserId);
    const twoTiers = [
      { priceUsd: '9.99', durationDays: 30 },
      { priceUsd: '99', durationDays: 365 },
    ];
    const channel = (await h.request('POST', '/channels', { token: account.token, body: createBody(chats, { tiers: twoTiers }) })).json;
    const whole = await getRaw(account.token, `/channels/${channel.id}/subscribe-qr.svg`);
    expect(whole.status).toBe(200);
    expect(whole.headers['content-type']).toBe('image/svg+xml');
    expect(whole.headers['cache-control']).toBe('private, max-age=300');
    expect(whole.headers['x-content-type-options']).toBe('nosniff');
    // qrCodeSvg is proven to decode to its text in shared/channels/subscribe-qr.test.ts.
    expect(whole.body).toBe(await qrCodeSvg(channel.subscribeLinks.channel.url));
    const tier2 = await getRaw(account.token, `/channels/${channel.id}/subscribe-qr.svg?tier=2`);
    expect(tier2.status).toBe(200);
    expect(tier2.body).toBe(await qrCodeSvg(channel.subscribeLinks.tiers[1].url));
    expect(tier2.body).not.toBe(whole.body);
  });

  it.each([
    ['a tier the channel does not sell', '2', 'this channel has no tier 2; it sells only tier 1'],
    ['a tier beyond 3', '4', 'must be 1, 2 or 3'],
    ['a tier that is not a number', 'one', 'must be 1, 2 or 3'],
  ])('answers 400 for %s, with the reason on query.tier', async (_, tier, reason) => {
    const { owner: account, id } = await registered();
    const response = await getRaw(account.token, `/channels/${id}/subscribe-qr.svg?tier=${tier}`);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.json.error).toMatchObject({ code: 'validation_failed', fields: { 'query.tier': reason } });
  });

  it('answers 404 for another account’s channel, and no-store like every error', async () => {
    const { id } = await registered();
    const stranger = await owner();
    const response = await getRaw(stranger.token, `/channels/${id}/subscribe-qr.svg`);
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('channel_not_found');
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('answers 503 with Retry-After when the bot username cannot be known', async () => {
    const { owner: account, id } = await registered();
    const response = await withSubscribeBot(createBotUsernameSource({ telegram: await unreachableTelegram(), logger: quiet }), () => getRaw(account.token, `/channels/${id}/subscribe-qr.svg`));
    expect(response.status).toBe(503);
    expect(response.json.error.code).toBe('bot_username_unavailable');
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('GET /payout-options', () => {
  it('lists the enabled payout pairs without authentication, with address hints', async () => {
    const response = await h.request('GET', '/payout-options');
    expect(response.status).toBe(200);
    expect(response.json.options).toContainEqual({ currency: 'USDT', network: 'TRX', currencyName: 'Tether USD', networkName: 'TRON (TRC-20)', extraIdName: null, addressHint: 'Starts with T, 34 characters.' });
    expect(response.json.options).toContainEqual(expect.objectContaining({ currency: 'XRP', extraIdName: 'destination tag' }));
  });
});
