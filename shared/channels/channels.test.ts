import { withDestinationWallets } from '../testing/encrypted-fields.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePublicId } from '../ids/index.js';
import { createLogger } from '../logging/index.js';
import { createBotApi } from '../telegram/index.js';
import { addOwnedChats, channelInput, insertLinkedOwner, type LinkedOwner } from '../testing/channel-setup.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { type TestDatabase, createTestDatabase } from '../testing/database.js';
import { insertAccount, insertPayout } from '../testing/fixtures.js';
import { findFreePort } from '../testing/free-port.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import {
  type ChannelDeps,
  type CreateChannelInput,
  MAX_CHANNELS_PER_ACCOUNT,
  type ChangeConfirmation,
  createChannel as createChannelConfirmedBy,
  deleteChannel as deleteChannelConfirmedBy,
  listChannels,
  requestBroadcast,
  retrieveChannel,
  qrCodeSvg,
  subscribeQrCode,
  updateChannel as updateChannelConfirmedBy,
} from './index.js';
import { subscribeLink } from '../telegram/deep-links.js';
import { createBotUsernameSource } from '../telegram/index.js';

/** The dashboard confirms sensitive changes with the password; these tests confirm every one. */
const confirmed: ChangeConfirmation = { confirm: async () => undefined };
const createChannel = (d: ChannelDeps, actor: { accountId: string; requestId?: string }, input: unknown) => createChannelConfirmedBy(d, actor, input, confirmed);
const updateChannel = (d: ChannelDeps, actor: { accountId: string; requestId?: string }, id: string, input: unknown) => updateChannelConfirmedBy(d, actor, id, input, confirmed);
const deleteChannel = (d: Pick<ChannelDeps, 'db' | 'clock' | 'logger'>, actor: { accountId: string }, id: string) => deleteChannelConfirmedBy(d, actor, id, confirmed);

/** A confirmation that writes down what it was asked and refuses. */
function refusingConfirmation(asked: string[][]): ChangeConfirmation {
  return {
    confirm: async (changes) => {
      asked.push([...changes]);
      throw new Error('refused');
    },
  };
}

let testDb: TestDatabase;
let telegram: TelegramSimulator;
let clock: FakeClock;
let deps: ChannelDeps;

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock('2026-03-01T10:00:00Z');
  telegram = await startTelegramSimulator({ clock });
  deps = {
    db: testDb.db,
    clock,
    logger: createLogger({ write: () => undefined }),
    telegram: createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot }),
    bot: { id: telegram.botInfo.id, username: telegram.botInfo.username },
    limits: { minTierPriceCents: 499n, minPayoutThresholdCents: 2000n },
  };
});
afterAll(async () => {
  await telegram?.close();
  await testDb?.dispose();
});

const owner = () => insertLinkedOwner(testDb.db, telegram);

async function registered(who?: LinkedOwner, overrides: Partial<CreateChannelInput> = {}) {
  const account = who ?? (await owner());
  const chats = addOwnedChats(telegram, account.telegramUserId);
  const channel = await createChannel(deps, { accountId: account.accountId }, channelInput(chats, overrides));
  return { account, chats, channel };
}

async function auditActions(channelPublicId: string): Promise<string[]> {
  const { rows } = await testDb.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE subject_type = 'channel' AND subject_id = $1 ORDER BY id`, [
    parsePublicId('channel', channelPublicId),
  ]);
  return rows.map((row) => row.action);
}

/** The field paths a `validation_failed` error names. */
async function invalidFields(work: Promise<unknown>): Promise<string[]> {
  const error = (await work.then(
    () => undefined,
    (caught: unknown) => caught,
  )) as { code?: string; context?: { fields?: Record<string, string> } } | undefined;
  expect(error?.code).toBe('validation_failed');
  return Object.keys(error?.context?.fields ?? {});
}

describe('createChannel', () => {
  it('registers a channel the owner and the bot administer, with tiers, schedule, rights and an audit entry', async () => {
    const { account, chats, channel } = await registered(undefined, {
      tiers: [
        { priceUsd: '4.99', durationDays: 7 },
        { priceUsd: '15', durationDays: 30 },
      ],
    });
    expect(channel).toMatchObject({
      status: 'active',
      openChat: { id: chats.openChatId.toString(), title: 'Open news', description: 'Free posts' },
      closedChat: { id: chats.closedChatId.toString(), title: 'Members only', description: '' },
      tiers: [
        { tierNumber: 1, priceUsd: '4.99', durationDays: 7 },
        { tierNumber: 2, priceUsd: '15.00', durationDays: 30 },
      ],
      donations: { enabled: false, minUsd: null, maxUsd: null, message: null },
      payoutDestination: { currency: 'USDT', network: 'TRX', wallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', extraId: null },
      payoutStrategy: { strategy: 'instant', thresholdUsd: null },
      underpaymentToleranceBps: 9800,
      notifications: { enabled: false, chatId: null },
      botRights: { checkedAt: '2026-03-01T10:00:00.000Z', open: { missing: [] }, closed: { missing: [] } },
      gracePeriodHours: 0,
      broadcast: {
        enabled: true,
        disabledReason: null,
        intervalHours: 24,
        nextRunAt: clock.now().toISOString(),
        lastPostedAt: null,
        consecutiveFailures: 0,
        lastError: null,
        lastManualTriggerAt: null,
        manualTriggerAvailableAt: null,
      },
    });
    expect(channel.id).toMatch(/^ch_/);
    const id = parsePublicId('channel', channel.id);
    const bot = telegram.botInfo.username;
    expect(channel.subscribeLinks).toEqual({
      channel: { url: `https://t.me/${bot}?start=c_${channel.id}`, startParameter: `c_${channel.id}` },
      tiers: [
        { tierNumber: 1, url: `https://t.me/${bot}?start=c_${channel.id}_1`, startParameter: `c_${channel.id}_1` },
        { tierNumber: 2, url: `https://t.me/${bot}?start=c_${channel.id}_2`, startParameter: `c_${channel.id}_2` },
      ],
    });
    expect(channel.subscribeLinks?.tiers[1]?.url).toBe(subscribeLink(bot, id, 2));
    const { rows } = await testDb.db.query<{ owner_account_id: string; bot_rights: { closed: { status: string; rights: Record<string, boolean> } } }>(
      'SELECT owner_account_id, bot_rights FROM channels WHERE id = $1',
      [id],
    );
    expect(rows[0]?.owner_account_id).toBe(account.accountId);
    expect(rows[0]?.bot_rights.closed).toMatchObject({ status: 'administrator', rights: { can_invite_users: true, can_restrict_members: true } });
    const { rows: schedules } = await testDb.db.query('SELECT is_enabled FROM broadcast_schedules WHERE channel_id = $1', [id]);
    expect(schedules).toEqual([{ is_enabled: true }]);
    expect(await auditActions(channel.id)).toEqual(['channel.created']);
  });

  it('normalises the wallet (EIP-55) and stores a threshold strategy, notifications default to the linked account', async () => {
    const account = await owner();
    const { channel } = await registered(account, {
      payoutDestination: { currency: 'USDC', network: 'ETH', wallet: '0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb' },
      payoutStrategy: { strategy: 'threshold', thresholdUsd: '20' },
      notifications: { enabled: true },
      donations: { enabled: true, minUsd: '5', maxUsd: '500', message: '  Thanks!  ' },
    });
    expect(channel.payoutDestination.wallet).toBe('0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB');
    expect(channel.payoutStrategy).toEqual({ strategy: 'threshold', thresholdUsd: '20.00' });
    expect(channel.notifications).toEqual({ enabled: true, chatId: String(account.telegramUserId) });
    expect(channel.donations).toEqual({ enabled: true, minUsd: '5.00', maxUsd: '500.00', message: 'Thanks!' });
  });

  it('accepts a memo on TON and a destination tag on XRP', async () => {
    const ton = await registered(undefined, { payoutDestination: { currency: 'USDT', network: 'TON', wallet: 'UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI', extraId: '12345' } });
    expect(ton.channel.payoutDestination.extraId).toBe('12345');
    const xrp = await registered(undefined, { payoutDestination: { currency: 'XRP', network: 'XRP', wallet: 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh', extraId: '4294967295' } });
    expect(xrp.channel.payoutDestination.extraId).toBe('4294967295');
  });

  describe('validation (one rule per case, each naming its field)', () => {
    const chats = { openChatId: -1001000000001n, closedChatId: -1001000000002n };
    const base = channelInput(chats);
    const cases: [string, unknown, string][] = [
      ['a positive chat id', { ...base, openChat: { ...base.openChat, id: '1001234567890' } }, 'openChat.id'],
      ['a basic-group chat id', { ...base, openChat: { ...base.openChat, id: '-123456789' } }, 'openChat.id'],
      ['a chat id as a JSON number', { ...base, closedChat: { ...base.closedChat, id: -1001234567890 } }, 'closedChat.id'],
      ['a chat id beyond 52 bits', { ...base, closedChat: { ...base.closedChat, id: '-9007199254740993' } }, 'closedChat.id'],
      ['the same chat twice', { ...base, closedChat: { ...base.closedChat, id: base.openChat.id } }, 'closedChat.id'],
      ['a blank title', { ...base, openChat: { ...base.openChat, title: '   ' } }, 'openChat.title'],
      ['a title over 255 characters', { ...base, closedChat: { ...base.closedChat, title: 'x'.repeat(256) } }, 'closedChat.title'],
      ['a description over 1024 characters', { ...base, openChat: { ...base.openChat, description: 'x'.repeat(1025) } }, 'openChat.description'],
      ['no tiers', { ...base, tiers: [] }, 'tiers'],
      ['four tiers', { ...base, tiers: Array(4).fill({ priceUsd: '9.99', durationDays: 30 }) }, 'tiers'],
      ['a price below the minimum', { ...base, tiers: [{ priceUsd: '4.98', durationDays: 30 }] }, 'tiers.0.priceUsd'],
      ['a price with three decimals', { ...base, tiers: [{ priceUsd: '9.999', durationDays: 30 }] }, 'tiers.0.priceUsd'],
      ['a price as a number', { ...base, tiers: [{ priceUsd: 9.99, durationDays: 30 }] }, 'tiers.0.priceUsd'],
      ['a price above $100,000', { ...base, tiers: [{ priceUsd: '100000.01', durationDays: 30 }] }, 'tiers.0.priceUsd'],
      ['zero days', { ...base, tiers: [{ priceUsd: '9.99', durationDays: 0 }] }, 'tiers.0.durationDays'],
      ['3651 days', { ...base, tiers: [{ priceUsd: '9.99', durationDays: 3651 }] }, 'tiers.0.durationDays'],
      ['fractional days', { ...base, tiers: [{ priceUsd: '9.99', durationDays: 1.5 }] }, 'tiers.0.durationDays'],
      ['donations without bounds', { ...base, donations: { enabled: true } }, 'donations'],
      ['a donation minimum below the tier minimum', { ...base, donations: { enabled: true, minUsd: '1', maxUsd: '10' } }, 'donations.minUsd'],
      ['a donation maximum below the minimum', { ...base, donations: { enabled: true, minUsd: '50', maxUsd: '10' } }, 'donations.maxUsd'],
      ['a blank donation message', { ...base, donations: { enabled: false, message: ' ' } }, 'donations.message'],
      ['a donation message over 256 characters', { ...base, donations: { enabled: false, message: 'x'.repeat(257) } }, 'donations.message'],
      ['an unknown payout pair', { ...base, payoutDestination: { currency: 'XMR', network: 'XMR', wallet: '4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx' } }, 'payoutDestination.currency'],
      ['a currency not on that network', { ...base, payoutDestination: { currency: 'BTC', network: 'TRX', wallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' } }, 'payoutDestination.currency'],
      ['a lower-case currency code', { ...base, payoutDestination: { ...base.payoutDestination, currency: 'usdt' } }, 'payoutDestination.currency'],
      ['a wallet of another network', { ...base, payoutDestination: { currency: 'USDT', network: 'TRX', wallet: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' } }, 'payoutDestination.wallet'],
      ['a wallet with a bad checksum', { ...base, payoutDestination: { currency: 'USDT', network: 'TRX', wallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u' } }, 'payoutDestination.wallet'],
      ['a memo on a network without memos', { ...base, payoutDestination: { ...base.payoutDestination, extraId: '123' } }, 'payoutDestination.extraId'],
      ['an XRP tag that is not a number', { ...base, payoutDestination: { currency: 'XRP', network: 'XRP', wallet: 'rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh', extraId: 'abc' } }, 'payoutDestination.extraId'],
      ['an unknown strategy', { ...base, payoutStrategy: { strategy: 'weekly' } }, 'payoutStrategy.strategy'],
      ['a threshold without an amount', { ...base, payoutStrategy: { strategy: 'threshold' } }, 'payoutStrategy.thresholdUsd'],
      ['a threshold below the minimum', { ...base, payoutStrategy: { strategy: 'threshold', thresholdUsd: '19.99' } }, 'payoutStrategy.thresholdUsd'],
      ['a tolerance below 90 %', { ...base, underpaymentToleranceBps: 8999 }, 'underpaymentToleranceBps'],
      ['a tolerance above 100 %', { ...base, underpaymentToleranceBps: 10001 }, 'underpaymentToleranceBps'],
      ['a notification chat id that is not a number', { ...base, notifications: { enabled: true, chatId: 'me' } }, 'notifications.chatId'],
      ['notifications without the flag', { ...base, notifications: { chatId: '123' } }, 'notifications.enabled'],
      ['a grace period over 72 hours', { ...base, gracePeriodHours: 73 }, 'gracePeriodHours'],
      ['a negative grace period', { ...base, gracePeriodHours: -1 }, 'gracePeriodHours'],
      ['a grace period of 1.5 hours', { ...base, gracePeriodHours: 1.5 }, 'gracePeriodHours'],
      ['a grace period as a string', { ...base, gracePeriodHours: '24' }, 'gracePeriodHours'],
      ['a broadcast interval of 0 hours', { ...base, broadcast: { intervalHours: 0 } }, 'broadcast.intervalHours'],
      ['a broadcast interval over 720 hours', { ...base, broadcast: { intervalHours: 721 } }, 'broadcast.intervalHours'],
      ['a fractional broadcast interval', { ...base, broadcast: { intervalHours: 2.5 } }, 'broadcast.intervalHours'],
      ['a broadcast section without the interval', { ...base, broadcast: {} }, 'broadcast.intervalHours'],
      ['a missing payout destination', { ...base, payoutDestination: undefined }, 'payoutDestination'],
    ];

    it.each(cases)('refuses %s', async (_, input, path) => {
      const account = await owner();
      expect(await invalidFields(createChannel(deps, { accountId: account.accountId }, input))).toContain(path);
    });

    it('reports every problem at once, and asks Telegram nothing', async () => {
      const account = await owner();
      const before = telegram.callsTo('getChatMember').length;
      const fields = await invalidFields(
        createChannel(deps, { accountId: account.accountId }, { ...base, tiers: [{ priceUsd: '1.00', durationDays: 30 }], payoutStrategy: { strategy: 'threshold', thresholdUsd: '5' } }),
      );
      expect(fields).toEqual(['tiers.0.priceUsd', 'payoutStrategy.thresholdUsd']);
      expect(telegram.callsTo('getChatMember')).toHaveLength(before);
    });

    it('refuses a pair an operator disabled', async () => {
      const account = await owner();
      const chatsOwned = addOwnedChats(telegram, account.telegramUserId);
      await testDb.db.query(`UPDATE payout_options SET is_enabled = false WHERE currency = 'DOGE'`);
      const input = channelInput(chatsOwned, { payoutDestination: { currency: 'DOGE', network: 'DOGE', wallet: 'DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L' } });
      expect(await invalidFields(createChannel(deps, { accountId: account.accountId }, input))).toEqual(['payoutDestination.currency']);
    });
  });

  it('refuses an account without a linked Telegram user, saying to link first', async () => {
    const account = await insertAccount(testDb.db);
    const chats = { openChatId: -1001000000011n, closedChatId: -1001000000012n };
    await expect(createChannel(deps, { accountId: account.id }, channelInput(chats))).rejects.toMatchObject({
      code: 'telegram_not_linked',
      message: expect.stringContaining('Link your Telegram account first'),
    });
  });

  describe('ownership', () => {
    async function refusal(options: Parameters<typeof addOwnedChats>[2]): Promise<{ code: string; message: string }> {
      const account = await owner();
      const chats = addOwnedChats(telegram, account.telegramUserId, options);
      const error = await createChannel(deps, { accountId: account.accountId }, channelInput(chats)).then(
        () => undefined,
        (caught: { code: string; message: string }) => caught,
      );
      expect(error?.code).toBe('channel_ownership_unverified');
      const { rows } = await testDb.db.query('SELECT 1 FROM channels WHERE owner_account_id = $1', [account.accountId]);
      expect(rows).toHaveLength(0);
      return { code: error!.code, message: error!.message.replaceAll(/-\d+/g, '<id>') };
    }

    it('refuses when the bot is only a member of the closed chat', async () => {
      const { message } = await refusal({ closedBot: { status: 'member' } });
      expect(message).toContain(`the bot @${telegram.botInfo.username} is not an administrator of the closed chat <id>: make it one with the right "Invite users via link" and the right "Ban users"`);
    });

    it('refuses when the bot lacks the invite right in the closed chat, naming it', async () => {
      const { message } = await refusal({ closedBot: { status: 'administrator', rights: { can_invite_users: false } } });
      expect(message).toContain('lacks the right "Invite users via link" in the closed chat');
      expect(message).not.toContain('Ban users');
    });

    it('refuses when the bot lacks the ban right in the closed chat', async () => {
      const { message } = await refusal({ closedBot: { status: 'administrator', rights: { can_restrict_members: false } } });
      expect(message).toContain('lacks the right "Ban users" in the closed chat');
    });

    it('refuses when the bot may not post in the open channel', async () => {
      const { message } = await refusal({ openBot: { status: 'administrator', rights: { can_post_messages: false } } });
      expect(message).toContain('lacks the right "Post messages" in the open chat');
    });

    it('refuses when the bot is not in the open chat at all', async () => {
      const { message } = await refusal({ openBot: { status: 'left' } });
      expect(message).toContain('is not in the open chat <id>: add it as an administrator with the right "Post messages"');
    });

    it('refuses when the linked user is not an administrator', async () => {
      const { message } = await refusal({ closedOwner: 'member' });
      expect(message).toContain('your linked Telegram account is not an administrator or the creator of the closed chat');
    });

    it('refuses when the linked user is not in the chat', async () => {
      const { message } = await refusal({ openOwner: 'none' });
      expect(message).toContain('not an administrator or the creator of the open chat');
    });

    it('accepts an owner who is an administrator rather than the creator', async () => {
      const account = await owner();
      const chats = addOwnedChats(telegram, account.telegramUserId, { openOwner: 'administrator', closedOwner: 'administrator' });
      await expect(createChannel(deps, { accountId: account.accountId }, channelInput(chats))).resolves.toMatchObject({ status: 'active' });
    });

    it('answers a Telegram outage as a transient error', async () => {
      const account = await owner();
      const chats = addOwnedChats(telegram, account.telegramUserId);
      telegram.failNext('getChat', { errorCode: 502, description: 'Bad Gateway' });
      await expect(createChannel(deps, { accountId: account.accountId }, channelInput(chats))).rejects.toMatchObject({ code: 'telegram_unavailable', isRetryable: true });
    });
  });

  it('refuses chats that already belong to a live channel', async () => {
    const { account, chats } = await registered();
    await expect(createChannel(deps, { accountId: account.accountId }, channelInput(chats))).rejects.toMatchObject({ code: 'chat_already_registered' });
    // Another administrator of the same chats cannot take them over either.
    const other = await owner();
    telegram.addMember(Number(chats.openChatId), other.telegramUserId, 'administrator');
    telegram.addMember(Number(chats.closedChatId), other.telegramUserId, 'administrator');
    await expect(createChannel(deps, { accountId: other.accountId }, channelInput(chats))).rejects.toMatchObject({ code: 'chat_already_registered' });
  });

  it(`allows ${MAX_CHANNELS_PER_ACCOUNT} live channels per account and refuses the next`, async () => {
    const account = await owner();
    for (let i = 0; i < MAX_CHANNELS_PER_ACCOUNT; i++) await registered(account);
    await expect(registered(account)).rejects.toMatchObject({ code: 'channel_limit_reached' });
    expect((await listChannels(deps, { accountId: account.accountId })).count).toBe(MAX_CHANNELS_PER_ACCOUNT);
  });

  it('lets only one of two concurrent registrations take the last place', async () => {
    const account = await owner();
    for (let i = 0; i < MAX_CHANNELS_PER_ACCOUNT - 1; i++) await registered(account);
    const results = await Promise.allSettled([registered(account), registered(account), registered(account)]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results.filter((candidate) => candidate.status === 'rejected')) {
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'channel_limit_reached' });
    }
    const { rows } = await testDb.db.query<{ count: string }>('SELECT count(*)::text AS count FROM channels WHERE owner_account_id = $1 AND deleted_at IS NULL', [
      account.accountId,
    ]);
    expect(rows[0]?.count).toBe(String(MAX_CHANNELS_PER_ACCOUNT));
  });
});

describe('retrieveChannel and listChannels', () => {
  it("answers another account's channel, a malformed id and a payment id as not found", async () => {
    const { channel } = await registered();
    const stranger = await owner();
    for (const id of [channel.id, 'ch_nope', 'pay_Ehz5dX8hQSeMc0Q8m0Q2Xw']) {
      await expect(retrieveChannel(deps, { accountId: stranger.accountId }, id)).rejects.toMatchObject({ code: 'channel_not_found' });
    }
    expect(await listChannels(deps, { accountId: stranger.accountId })).toEqual({ channels: [], count: 0, maxChannels: MAX_CHANNELS_PER_ACCOUNT });
  });

  it('lists only the live channels of the account, oldest first', async () => {
    const account = await owner();
    const first = await registered(account);
    clock.advance(1000);
    const second = await registered(account);
    await registered();
    const list = await listChannels(deps, { accountId: account.accountId });
    expect(list.channels.map((channel) => channel.id)).toEqual([first.channel.id, second.channel.id]);
    expect(await retrieveChannel(deps, { accountId: account.accountId }, second.channel.id)).toEqual(second.channel);
  });
});

describe('updateChannel', () => {
  it('changes the wallet after validating it for the network, and audits the change', async () => {
    const { account, channel } = await registered();
    const updated = await updateChannel(deps, { accountId: account.accountId, requestId: 'req-1' }, channel.id, {
      payoutDestination: { currency: 'BTC', network: 'BTC', wallet: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' },
    });
    expect(updated.payoutDestination).toEqual({ currency: 'BTC', network: 'BTC', wallet: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', extraId: null });
    expect(await auditActions(channel.id)).toEqual(['channel.created', 'channel.updated', 'channel.wallet_changed']);
    const { rows } = await testDb.db.query<{ details: { from: { wallet: string }; to: { network: string } }; request_id: string }>(
      `SELECT details, request_id FROM audit_log WHERE action = 'channel.wallet_changed' AND subject_id = $1`,
      [parsePublicId('channel', channel.id)],
    );
    expect(rows[0]).toMatchObject({ request_id: 'req-1', details: { from: { wallet: 'TR7NHq…Lj6t' }, to: { network: 'BTC' } } });
  });

  it('records when the payout destination changed (payouts to it wait 24 hours for an operator), and only then', async () => {
    const { account, channel } = await registered();
    const changedAt = async () =>
      (await testDb.db.query<{ at: Date | null }>('SELECT payout_destination_changed_at AS at FROM channels WHERE id = $1', [parsePublicId('channel', channel.id)])).rows[0]?.at;
    expect(await changedAt()).toBeNull();
    await updateChannel(deps, { accountId: account.accountId }, channel.id, { openChat: { title: 'Renamed' }, payoutStrategy: { strategy: 'threshold', thresholdUsd: '50' } });
    expect(await changedAt()).toBeNull();
    await updateChannel(deps, { accountId: account.accountId }, channel.id, {
      payoutDestination: { currency: 'BTC', network: 'BTC', wallet: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' },
    });
    expect(await changedAt()).toEqual(deps.clock.now());
  });

  it('asks for confirmation only when the payout destination or strategy changes, and writes nothing when refused', async () => {
    const { account, channel } = await registered();
    const asked: string[][] = [];
    const refusing = refusingConfirmation(asked);
    const actor = { accountId: account.accountId };
    // Resending the stored destination and strategy, or changing other sections, is no payout change.
    const same = { payoutDestination: channel.payoutDestination, payoutStrategy: { strategy: 'instant' as const }, openChat: { title: 'Renamed' } };
    expect((await updateChannelConfirmedBy(deps, actor, channel.id, same, refusing)).openChat.title).toBe('Renamed');
    expect(asked).toEqual([]);
    const btc = { payoutDestination: { currency: 'BTC', network: 'BTC', wallet: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' } };
    await expect(updateChannelConfirmedBy(deps, actor, channel.id, btc, refusing)).rejects.toThrow('refused');
    await expect(updateChannelConfirmedBy(deps, actor, channel.id, { payoutStrategy: { strategy: 'threshold', thresholdUsd: '50' } }, refusing)).rejects.toThrow('refused');
    expect(asked).toEqual([['payout'], ['payout']]);
    const stored = await retrieveChannel(deps, actor, channel.id);
    expect(stored.payoutDestination.network).toBe('TRX');
    expect(stored.payoutStrategy.strategy).toBe('instant');
    const { rows } = await testDb.db.query(`SELECT 1 FROM outbox WHERE topic = 'account-mail-requested' AND payload->>'accountId' = $1 AND payload->>'kind' = 'payout_wallet_changed'`, [account.accountId]);
    expect(rows).toHaveLength(0);
  });

  it('refuses a wallet that does not fit the new network', async () => {
    const { account, channel } = await registered();
    const fields = await invalidFields(
      updateChannel(deps, { accountId: account.accountId }, channel.id, { payoutDestination: { currency: 'BTC', network: 'BTC', wallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' } }),
    );
    expect(fields).toEqual(['payoutDestination.wallet']);
    expect((await retrieveChannel(deps, { accountId: account.accountId }, channel.id)).payoutDestination.network).toBe('TRX');
  });

  it('enforces the threshold minimum on update, and audits a payout settings change', async () => {
    const { account, channel } = await registered();
    expect(await invalidFields(updateChannel(deps, { accountId: account.accountId }, channel.id, { payoutStrategy: { strategy: 'threshold', thresholdUsd: '19.99' } }))).toEqual([
      'payoutStrategy.thresholdUsd',
    ]);
    const updated = await updateChannel(deps, { accountId: account.accountId }, channel.id, { payoutStrategy: { strategy: 'threshold', thresholdUsd: '20.00' } });
    expect(updated.payoutStrategy).toEqual({ strategy: 'threshold', thresholdUsd: '20.00' });
    expect(await auditActions(channel.id)).toEqual(['channel.created', 'channel.updated', 'channel.payout_settings_changed']);
  });

  it('validates the merged channel: enabling donations needs bounds the stored channel lacks', async () => {
    const { account, channel } = await registered();
    expect(await invalidFields(updateChannel(deps, { accountId: account.accountId }, channel.id, { donations: { enabled: true } }))).toEqual(['donations']);
    expect(await invalidFields(updateChannel(deps, { accountId: account.accountId }, channel.id, {}))).toEqual(['(body)']);
  });

  it('replaces tiers, retiring the ones left out', async () => {
    const { account, channel } = await registered(undefined, {
      tiers: [
        { priceUsd: '5', durationDays: 7 },
        { priceUsd: '10', durationDays: 30 },
        { priceUsd: '50', durationDays: 365 },
      ],
    });
    const updated = await updateChannel(deps, { accountId: account.accountId }, channel.id, { tiers: [{ priceUsd: '6', durationDays: 14, trialDays: 3 }] });
    expect(updated.tiers).toEqual([{ tierNumber: 1, priceUsd: '6.00', durationDays: 14, trialDays: 3 }]);
    const { rows } = await testDb.db.query('SELECT tier_number, is_active FROM channel_tiers WHERE channel_id = $1 ORDER BY tier_number', [parsePublicId('channel', channel.id)]);
    expect(rows).toEqual([
      { tier_number: 1, is_active: true },
      { tier_number: 2, is_active: false },
      { tier_number: 3, is_active: false },
    ]);
  });

  it('re-verifies ownership when a chat id changes', async () => {
    const { account, channel } = await registered();
    const weak = addOwnedChats(telegram, account.telegramUserId, { closedBot: { status: 'administrator', rights: { can_restrict_members: false } } });
    await expect(updateChannel(deps, { accountId: account.accountId }, channel.id, { closedChat: { id: weak.closedChatId.toString() } })).rejects.toMatchObject({
      code: 'channel_ownership_unverified',
      message: expect.stringContaining('"Ban users"'),
    });
    const good = addOwnedChats(telegram, account.telegramUserId);
    clock.advance(60_000);
    const updated = await updateChannel(deps, { accountId: account.accountId }, channel.id, { closedChat: { id: good.closedChatId.toString(), title: 'New home' } });
    expect(updated.closedChat).toEqual({ id: good.closedChatId.toString(), title: 'New home', description: '' });
    expect(updated.botRights?.checkedAt).toBe(clock.now().toISOString());
  });

  it('asks for confirmation of a chat change before asking Telegram, writes nothing when refused, and mails the owner when done', async () => {
    const { account, channel } = await registered();
    const actor = { accountId: account.accountId };
    const other = addOwnedChats(telegram, account.telegramUserId);
    const asked: string[][] = [];
    const btc = { currency: 'BTC', network: 'BTC', wallet: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' };
    await expect(updateChannelConfirmedBy(deps, actor, channel.id, { openChat: { id: other.openChatId.toString() } }, refusingConfirmation(asked))).rejects.toThrow('refused');
    await expect(updateChannelConfirmedBy(deps, actor, channel.id, { closedChat: { id: other.closedChatId.toString() }, payoutDestination: btc }, refusingConfirmation(asked))).rejects.toThrow('refused');
    // Resending the stored chat ids is no change.
    await updateChannelConfirmedBy(deps, actor, channel.id, { openChat: { id: channel.openChat.id, title: 'Same chat' } }, refusingConfirmation(asked));
    expect(asked).toEqual([['chats'], ['payout', 'chats']]);
    expect((await retrieveChannel(deps, actor, channel.id)).openChat.id).toBe(channel.openChat.id);
    const mails = async () =>
      (await testDb.db.query<{ kind: string }>(`SELECT payload->>'kind' AS kind FROM outbox WHERE topic = 'account-mail-requested' AND payload->>'accountId' = $1 ORDER BY id`, [account.accountId])).rows.map((row) => row.kind);
    expect(await mails()).not.toContain('channel_chats_changed');
    await updateChannel(deps, actor, channel.id, { openChat: { id: other.openChatId.toString() } });
    expect(await mails()).toContain('channel_chats_changed');
  });

  it('never redirects a payout already created: it keeps its copy of the old wallet', async () => {
    const { account, channel } = await registered();
    const payout = await insertPayout(testDb.db, { channelId: parsePublicId('channel', channel.id) });
    await updateChannel(deps, { accountId: account.accountId }, channel.id, {
      payoutDestination: { currency: 'ETH', network: 'ETH', wallet: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' },
    });
    const { rows } = await testDb.db.query<{ id: string }>('SELECT id, destination_currency, destination_network FROM payouts WHERE id = $1', [payout.id]);
    expect(await withDestinationWallets(testDb.db, rows)).toEqual([
      { id: payout.id, destination_currency: 'USDT', destination_network: 'TRX', destination_wallet: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' },
    ]);
  });

  it("answers another account's channel as not found and changes nothing", async () => {
    const { channel } = await registered();
    const stranger = await owner();
    await expect(updateChannel(deps, { accountId: stranger.accountId }, channel.id, { openChat: { title: 'Mine now' } })).rejects.toMatchObject({ code: 'channel_not_found' });
    expect(await auditActions(channel.id)).toEqual(['channel.created']);
  });
});

describe('deleteChannel', () => {
  it('retires the channel, stops its broadcasts and frees its chats for a new registration', async () => {
    const { account, chats, channel } = await registered();
    await deleteChannel(deps, { accountId: account.accountId }, channel.id);
    await expect(retrieveChannel(deps, { accountId: account.accountId }, channel.id)).rejects.toMatchObject({ code: 'channel_not_found' });
    await expect(deleteChannel(deps, { accountId: account.accountId }, channel.id)).rejects.toMatchObject({ code: 'channel_not_found' });
    const { rows } = await testDb.db.query('SELECT is_enabled, disabled_reason FROM broadcast_schedules WHERE channel_id = $1', [parsePublicId('channel', channel.id)]);
    expect(rows).toEqual([{ is_enabled: false, disabled_reason: 'channel_deleted' }]);
    expect(await auditActions(channel.id)).toEqual(['channel.created', 'channel.deleted']);

    const again = await createChannel(deps, { accountId: account.accountId }, channelInput(chats));
    expect(again.id).not.toBe(channel.id);
  });

  it("answers another account's channel as not found", async () => {
    const { channel } = await registered();
    const stranger = await owner();
    await expect(deleteChannel(deps, { accountId: stranger.accountId }, channel.id)).rejects.toMatchObject({ code: 'channel_not_found' });
  });

  it('asks for confirmation once the channel is known to be the account’s, deletes nothing when refused, and mails the owner when done', async () => {
    const { account, channel } = await registered();
    const stranger = await owner();
    const asked: string[][] = [];
    await expect(deleteChannelConfirmedBy(deps, { accountId: stranger.accountId }, channel.id, refusingConfirmation(asked))).rejects.toMatchObject({ code: 'channel_not_found' });
    await expect(deleteChannelConfirmedBy(deps, { accountId: account.accountId }, channel.id, refusingConfirmation(asked))).rejects.toThrow('refused');
    expect(asked).toEqual([['deletion']]);
    expect((await retrieveChannel(deps, { accountId: account.accountId }, channel.id)).status).toBe('active');
    await deleteChannel(deps, { accountId: account.accountId }, channel.id);
    const { rows } = await testDb.db.query(`SELECT 1 FROM outbox WHERE topic = 'account-mail-requested' AND payload->>'accountId' = $1 AND payload->>'kind' = 'channel_deleted'`, [account.accountId]);
    expect(rows).toHaveLength(1);
  });
});

describe('requestBroadcast', () => {
  it('allows one manual broadcast per 5 minutes, telling how long to wait', async () => {
    const { account, channel } = await registered();
    const actor = { accountId: account.accountId };
    const first = await requestBroadcast(deps, actor, channel.id);
    expect(first).toEqual({ channelId: channel.id, requestedAt: clock.now().toISOString(), nextAllowedAt: new Date(clock.now().getTime() + 300_000).toISOString() });
    const { rows } = await testDb.db.query<{ payload: unknown }>(`SELECT payload FROM outbox WHERE topic = 'broadcast-requested' AND payload->'channelIds'->>0 = $1`, [
      parsePublicId('channel', channel.id),
    ]);
    expect(rows).toHaveLength(1);

    clock.advance(60_000);
    await expect(requestBroadcast(deps, actor, channel.id)).rejects.toMatchObject({ code: 'broadcast_cooling_down', context: { retryAfterSeconds: 240 } });
    clock.advance(239_500);
    await expect(requestBroadcast(deps, actor, channel.id)).rejects.toMatchObject({ code: 'broadcast_cooling_down', context: { retryAfterSeconds: 1 } });
    clock.advance(500);
    await expect(requestBroadcast(deps, actor, channel.id)).resolves.toMatchObject({ channelId: channel.id });

    const { rows: schedule } = await testDb.db.query<{ manual_trigger_count: number; next_run_at: Date }>(
      'SELECT manual_trigger_count, next_run_at FROM broadcast_schedules WHERE channel_id = $1',
      [parsePublicId('channel', channel.id)],
    );
    expect(schedule[0]?.manual_trigger_count).toBe(2);
    expect((await retrieveChannel(deps, actor, channel.id)).broadcast.manualTriggerAvailableAt).toBe(new Date(clock.now().getTime() + 300_000).toISOString());
    expect(await auditActions(channel.id)).toEqual(['channel.created', 'channel.broadcast_requested', 'channel.broadcast_requested']);
  });

  it('lets only one of two concurrent requests through', async () => {
    const { account, channel } = await registered();
    const results = await Promise.allSettled([requestBroadcast(deps, { accountId: account.accountId }, channel.id), requestBroadcast(deps, { accountId: account.accountId }, channel.id)]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
  });

  it("answers another account's or a deleted channel as not found", async () => {
    const { account, channel } = await registered();
    const stranger = await owner();
    await expect(requestBroadcast(deps, { accountId: stranger.accountId }, channel.id)).rejects.toMatchObject({ code: 'channel_not_found' });
    await deleteChannel(deps, { accountId: account.accountId }, channel.id);
    await expect(requestBroadcast(deps, { accountId: account.accountId }, channel.id)).rejects.toMatchObject({ code: 'channel_not_found' });
  });
});

interface ScheduleRow {
  is_enabled: boolean;
  disabled_reason: string | null;
  interval_minutes: number;
  next_run_at: Date;
  consecutive_failures: number;
  last_failure_reason: string | null;
}

async function scheduleOf(channelPublicId: string): Promise<ScheduleRow> {
  const { rows } = await testDb.db.query<ScheduleRow>(
    'SELECT is_enabled, disabled_reason, interval_minutes, next_run_at, consecutive_failures, last_failure_reason FROM broadcast_schedules WHERE channel_id = $1',
    [parsePublicId('channel', channelPublicId)],
  );
  return { ...rows[0]!, next_run_at: new Date(rows[0]!.next_run_at) };
}

const HOUR_MS = 3_600_000;

describe('grace period', () => {
  it('stores the grace period given on create (default 0) and changes it alone on update, audited as a section', async () => {
    const { channel: plain } = await registered();
    expect(plain.gracePeriodHours).toBe(0);
    const { account, channel } = await registered(undefined, { gracePeriodHours: 48 });
    expect(channel.gracePeriodHours).toBe(48);
    const updated = await updateChannel(deps, { accountId: account.accountId }, channel.id, { gracePeriodHours: 72 });
    expect(updated.gracePeriodHours).toBe(72);
    expect(updated.tiers).toEqual(channel.tiers);
    const { rows } = await testDb.db.query('SELECT grace_period_hours FROM channels WHERE id = $1', [parsePublicId('channel', channel.id)]);
    expect(rows).toEqual([{ grace_period_hours: 72 }]);
    const { rows: audit } = await testDb.db.query<{ details: unknown }>(`SELECT details FROM audit_log WHERE action = 'channel.updated' AND subject_id = $1`, [
      parsePublicId('channel', channel.id),
    ]);
    expect(audit).toEqual([{ details: { sections: ['gracePeriodHours'] } }]);
    // Other sections leave it alone.
    expect((await updateChannel(deps, { accountId: account.accountId }, channel.id, { openChat: { title: 'Renamed' } })).gracePeriodHours).toBe(72);
    expect(await invalidFields(updateChannel(deps, { accountId: account.accountId }, channel.id, { gracePeriodHours: 73 }))).toEqual(['gracePeriodHours']);
  });
});

describe('broadcast schedule', () => {
  it('starts every 24 hours by default, at the interval chosen, or off when asked on create', async () => {
    expect(await scheduleOf((await registered()).channel.id)).toMatchObject({ is_enabled: true, disabled_reason: null, interval_minutes: 1440 });
    const every6 = (await registered(undefined, { broadcast: { intervalHours: 6 } })).channel;
    expect(every6.broadcast).toMatchObject({ enabled: true, intervalHours: 6, nextRunAt: clock.now().toISOString() });
    expect(await scheduleOf(every6.id)).toMatchObject({ is_enabled: true, interval_minutes: 360 });
    const off = (await registered(undefined, { broadcast: { intervalHours: null } })).channel;
    expect(off.broadcast).toMatchObject({ enabled: false, disabledReason: 'owner', intervalHours: 24, nextRunAt: null });
    expect(await scheduleOf(off.id)).toMatchObject({ is_enabled: false, disabled_reason: 'owner' });
  });

  it('turns scheduled posts off, then on again with a new interval, due at once', async () => {
    const { account, channel } = await registered();
    const actor = { accountId: account.accountId };
    const off = await updateChannel(deps, actor, channel.id, { broadcast: { intervalHours: null } });
    expect(off.broadcast).toMatchObject({ enabled: false, disabledReason: 'owner', intervalHours: 24, nextRunAt: null });
    clock.advance(3 * HOUR_MS);
    const on = await updateChannel(deps, actor, channel.id, { broadcast: { intervalHours: 12 } });
    expect(on.broadcast).toMatchObject({ enabled: true, disabledReason: null, intervalHours: 12, nextRunAt: clock.now().toISOString() });
    expect(await scheduleOf(channel.id)).toMatchObject({ is_enabled: true, disabled_reason: null, interval_minutes: 720, next_run_at: clock.now() });
  });

  it.each(['too_many_failures', 'bot_rights_missing', 'owner'])('restarts a schedule stopped for %s from a clean slate when the owner sets an interval', async (reason) => {
    const { account, channel } = await registered();
    const channelId = parsePublicId('channel', channel.id);
    await testDb.db.query(
      `UPDATE broadcast_schedules SET is_enabled = false, disabled_reason = $2, consecutive_failures = 5, last_failure_reason = 'can_post_messages',
              last_error = 'Forbidden: need administrator rights in the channel chat', next_run_at = $3 WHERE channel_id = $1`,
      [channelId, reason, new Date(clock.now().getTime() - 48 * HOUR_MS)],
    );
    const stopped = await retrieveChannel(deps, { accountId: account.accountId }, channel.id);
    expect(stopped.broadcast).toMatchObject({ enabled: false, disabledReason: reason, nextRunAt: null, consecutiveFailures: 5, lastError: expect.stringContaining('administrator') });

    clock.advance(60_000);
    const restarted = await updateChannel(deps, { accountId: account.accountId }, channel.id, { broadcast: { intervalHours: 24 } });
    expect(restarted.broadcast).toMatchObject({ enabled: true, disabledReason: null, consecutiveFailures: 0, nextRunAt: clock.now().toISOString() });
    expect(await scheduleOf(channel.id)).toEqual({
      is_enabled: true,
      disabled_reason: null,
      interval_minutes: 1440,
      next_run_at: clock.now(),
      consecutive_failures: 0,
      last_failure_reason: null,
    });
  });

  it('on a running schedule, a shorter interval brings the next post forward and a longer one leaves it', async () => {
    const { account, channel } = await registered();
    const actor = { accountId: account.accountId };
    const now = clock.now().getTime();
    await testDb.db.query(`UPDATE broadcast_schedules SET last_succeeded_at = $2, next_run_at = $3, consecutive_failures = 2 WHERE channel_id = $1`, [
      parsePublicId('channel', channel.id),
      new Date(now - 2 * HOUR_MS),
      new Date(now + 22 * HOUR_MS),
    ]);
    const shorter = await updateChannel(deps, actor, channel.id, { broadcast: { intervalHours: 6 } });
    expect(shorter.broadcast).toMatchObject({ intervalHours: 6, nextRunAt: new Date(now + 4 * HOUR_MS).toISOString(), consecutiveFailures: 2 });
    const longer = await updateChannel(deps, actor, channel.id, { broadcast: { intervalHours: 48 } });
    expect(longer.broadcast).toMatchObject({ intervalHours: 48, nextRunAt: new Date(now + 4 * HOUR_MS).toISOString() });
    // Last post longer ago than the new interval: due now, never in the past.
    const hourly = await updateChannel(deps, actor, channel.id, { broadcast: { intervalHours: 1 } });
    expect(hourly.broadcast.nextRunAt).toBe(clock.now().toISOString());
  });

  it("shows the broadcaster's progress: the last post, failures in a row and the last error", async () => {
    const { account, channel } = await registered();
    const postedAt = new Date(clock.now().getTime() - HOUR_MS);
    await testDb.db.query(`UPDATE broadcast_schedules SET last_succeeded_at = $2, consecutive_failures = 1, last_error = 'Too Many Requests' WHERE channel_id = $1`, [
      parsePublicId('channel', channel.id),
      postedAt,
    ]);
    const { channels } = await listChannels(deps, { accountId: account.accountId });
    expect(channels[0]?.broadcast).toMatchObject({ lastPostedAt: postedAt.toISOString(), consecutiveFailures: 1, lastError: 'Too Many Requests' });
  });

  it("never revives a deleted channel's schedule", async () => {
    const { account, channel } = await registered();
    await deleteChannel(deps, { accountId: account.accountId }, channel.id);
    await expect(updateChannel(deps, { accountId: account.accountId }, channel.id, { broadcast: { intervalHours: 1 } })).rejects.toMatchObject({ code: 'channel_not_found' });
    expect(await scheduleOf(channel.id)).toMatchObject({ is_enabled: false, disabled_reason: 'channel_deleted' });
  });
});

/** A Bot API client whose server is gone: every call fails at once. */
async function unreachableTelegram() {
  return createBotApi({ token: telegram.token, apiRoot: `http://127.0.0.1:${await findFreePort()}` });
}

describe('subscribe links', () => {
  it('follow the active tiers after an update', async () => {
    const { account, channel } = await registered(undefined, {
      tiers: [
        { priceUsd: '5', durationDays: 7 },
        { priceUsd: '10', durationDays: 30 },
      ],
    });
    expect(channel.subscribeLinks?.tiers.map((tier) => tier.tierNumber)).toEqual([1, 2]);
    const updated = await updateChannel(deps, { accountId: account.accountId }, channel.id, { tiers: [{ priceUsd: '6', durationDays: 14 }] });
    expect(updated.subscribeLinks?.tiers).toEqual([{ tierNumber: 1, url: subscribeLink(telegram.botInfo.username, parsePublicId('channel', channel.id), 1), startParameter: `c_${channel.id}_1` }]);
  });

  it("use getMe's username when none is configured", async () => {
    const { account, channel } = await registered();
    const reader = { db: deps.db, clock, subscribeBot: createBotUsernameSource({ telegram: createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot }), logger: deps.logger }) };
    expect(await retrieveChannel(reader, { accountId: account.accountId }, channel.id)).toEqual(channel);
  });

  it('are null when the username is neither configured nor available from Telegram, and the rest of the channel still answers', async () => {
    const { account, channel } = await registered();
    const reader = { db: deps.db, clock, subscribeBot: createBotUsernameSource({ telegram: await unreachableTelegram(), logger: deps.logger }) };
    expect(await retrieveChannel(reader, { accountId: account.accountId }, channel.id)).toEqual({ ...channel, subscribeLinks: null });
    const list = await listChannels(reader, { accountId: account.accountId });
    expect(list.channels).toEqual([{ ...channel, subscribeLinks: null }]);
    // Without any source at all (an instance that knows no bot) the answer is the same.
    expect((await retrieveChannel({ db: deps.db, clock }, { accountId: account.accountId }, channel.id)).subscribeLinks).toBeNull();
  });
});

describe('subscribeQrCode', () => {
  it("draws the channel's link, or one tier's: the same links the resource shows", async () => {
    const { account, channel } = await registered(undefined, {
      tiers: [
        { priceUsd: '5', durationDays: 7 },
        { priceUsd: '10', durationDays: 30 },
      ],
    });
    const whole = await subscribeQrCode(deps, { accountId: account.accountId }, channel.id);
    expect(whole.link).toBe(channel.subscribeLinks?.channel.url);
    expect(whole.svg).toBe(await qrCodeSvg(whole.link));
    const tier2 = await subscribeQrCode(deps, { accountId: account.accountId }, channel.id, 2);
    expect(tier2.link).toBe(channel.subscribeLinks?.tiers[1]?.url);
    expect(tier2.svg).toBe(await qrCodeSvg(tier2.link));
  });

  it('refuses a tier the channel does not sell, saying which it sells', async () => {
    const { account, channel } = await registered();
    await expect(subscribeQrCode(deps, { accountId: account.accountId }, channel.id, 3)).rejects.toMatchObject({
      code: 'validation_failed',
      context: { fields: { 'query.tier': 'this channel has no tier 3; it sells only tier 1' } },
    });
  });

  it("answers another account's and a deleted channel as not found", async () => {
    const { account, channel } = await registered();
    const stranger = await owner();
    await expect(subscribeQrCode(deps, { accountId: stranger.accountId }, channel.id)).rejects.toMatchObject({ code: 'channel_not_found' });
    await deleteChannel(deps, { accountId: account.accountId }, channel.id);
    await expect(subscribeQrCode(deps, { accountId: account.accountId }, channel.id)).rejects.toMatchObject({ code: 'channel_not_found' });
  });

  it('is a transient error when the bot username cannot be known', async () => {
    const { account, channel } = await registered();
    const reader = { db: deps.db, clock, subscribeBot: createBotUsernameSource({ telegram: await unreachableTelegram(), logger: deps.logger }) };
    await expect(subscribeQrCode(reader, { accountId: account.accountId }, channel.id)).rejects.toMatchObject({ code: 'bot_username_unavailable', isRetryable: true });
  });
});
