import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashLinkCode, issueLinkCode } from '../../shared/accounts/index.js';
import { balanceOf, ledgerAccountCodes } from '../../shared/ledger/index.js';
import { formatUnits } from '../../shared/money/index.js';
import { createBotApi } from '../../shared/telegram/index.js';
import { creditOwner, insertCheckout, insertPayment } from '../../shared/testing/fixtures.js';
import { checkoutFor, newSubscriber, type SeededChannel, seedChannel, startTestGateway, type TestGateway } from './gateway-harness.js';

const HOUR_MS = 3_600_000;

describe('owner journey and membership guard through the telegram-webhook function', () => {
  let gateway: TestGateway;
  let nextUserId = 8_100_000_000;

  beforeAll(async () => {
    gateway = await startTestGateway({ deliverTwice: true });
  });
  afterAll(() => gateway?.stop());

  const db = () => gateway.testDb.db;
  const lastText = (chatId: number) => gateway.telegram.messagesTo(chatId).at(-1)?.text ?? '';

  async function accountOf(channel: SeededChannel): Promise<string> {
    const { rows } = await db().query<{ owner_account_id: string }>('SELECT owner_account_id FROM channels WHERE id = $1', [channel.channelId]);
    return rows[0]!.owner_account_id;
  }

  async function issueCode(accountId: string): Promise<string> {
    return (await db().transaction((tx) => issueLinkCode(tx, { accountId, now: new Date() }))).code;
  }

  async function linkedTelegramId(accountId: string): Promise<bigint | null> {
    const { rows } = await db().query<{ telegram_user_id: bigint | null }>('SELECT telegram_user_id FROM accounts WHERE id = $1', [accountId]);
    return rows[0]?.telegram_user_id === null || rows[0]?.telegram_user_id === undefined ? null : BigInt(rows[0].telegram_user_id);
  }

  /** A seeded channel whose owner linked their Telegram account through the bot. */
  async function linkedChannel(options: Parameters<typeof seedChannel>[1] = {}): Promise<SeededChannel & { accountId: string }> {
    const channel = await seedChannel(gateway, options);
    const accountId = await accountOf(channel);
    await gateway.telegram.sendText(channel.ownerTelegramId, `/start link_${await issueCode(accountId)}`);
    expect(await linkedTelegramId(accountId)).toBe(BigInt(channel.ownerTelegramId));
    return { ...channel, accountId };
  }

  /** A subscriber who paid through NowPayments and got their invite DM; returns their link. */
  async function paidSubscriber(channel: SeededChannel): Promise<{ id: number; username: string; inviteLink: string }> {
    const subscriber = newSubscriber(gateway);
    const checkout = await checkoutFor(gateway, channel, subscriber);
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    const { rows } = await db().query<{ invite_link: string }>(
      `SELECT l.invite_link FROM invite_links l JOIN subscriptions s ON s.id = l.subscription_id WHERE s.telegram_user_id = $1`,
      [subscriber.id],
    );
    expect(rows).toHaveLength(1);
    return { ...subscriber, inviteLink: rows[0]!.invite_link };
  }

  describe('linking with /start link_<code>', () => {
    it('links the account with a valid code, and the code works only once', async () => {
      const channel = await seedChannel(gateway);
      const accountId = await accountOf(channel);
      const code = await issueCode(accountId);

      expect(await gateway.telegram.sendText(channel.ownerTelegramId, `/start link_${code}`)).toBe(200);
      expect(lastText(channel.ownerTelegramId)).toContain('now linked');
      expect(await linkedTelegramId(accountId)).toBe(BigInt(channel.ownerTelegramId));
      const { rows: codes } = await db().query<{ used_by_telegram_user_id: bigint }>('SELECT used_by_telegram_user_id FROM telegram_link_codes WHERE account_id = $1', [
        accountId,
      ]);
      expect(codes.map((row) => BigInt(row.used_by_telegram_user_id))).toEqual([BigInt(channel.ownerTelegramId)]);

      // Someone who saw the code later cannot take the account over with it.
      const other = newSubscriber(gateway);
      await gateway.telegram.sendText(other.id, `/start link_${code}`);
      expect(lastText(other.id)).toContain('already used');
      expect(await linkedTelegramId(accountId)).toBe(BigInt(channel.ownerTelegramId));
    });

    it('refuses an expired code and an unknown one, changing nothing', async () => {
      const channel = await seedChannel(gateway);
      const accountId = await accountOf(channel);
      const now = Date.now();
      const code = 'expiredCodeExpiredCodeExpiredCod';
      await db().query('INSERT INTO telegram_link_codes (account_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
        accountId,
        hashLinkCode(code),
        new Date(now - 2 * HOUR_MS),
        new Date(now - HOUR_MS),
      ]);

      await gateway.telegram.sendText(channel.ownerTelegramId, `/start link_${code}`);
      expect(lastText(channel.ownerTelegramId)).toContain('expired');
      await gateway.telegram.sendText(channel.ownerTelegramId, '/start link_neverIssuedNeverIssuedNeverIssued');
      expect(lastText(channel.ownerTelegramId)).toContain('not valid');

      expect(await linkedTelegramId(accountId)).toBeNull();
      const { rows } = await db().query<{ used_at: Date | null }>('SELECT used_at FROM telegram_link_codes WHERE account_id = $1', [accountId]);
      expect(rows).toEqual([{ used_at: null }]);
    });

    it('links exactly one of two people racing with the same code', async () => {
      const channel = await seedChannel(gateway);
      const accountId = await accountOf(channel);
      const code = await issueCode(accountId);
      const rival = newSubscriber(gateway);

      await Promise.all([gateway.telegram.sendText(channel.ownerTelegramId, `/start link_${code}`), gateway.telegram.sendText(rival.id, `/start link_${code}`)]);

      const replies = [lastText(channel.ownerTelegramId), lastText(rival.id)];
      expect(replies.filter((text) => text.includes('now linked'))).toHaveLength(1);
      expect(replies.filter((text) => text.includes('already used'))).toHaveLength(1);
      const winner = await linkedTelegramId(accountId);
      expect([BigInt(channel.ownerTelegramId), BigInt(rival.id)]).toContain(winner);
    });
  });

  describe('/channels', () => {
    it('asks a Telegram user with no linked account to link first', async () => {
      const stranger = newSubscriber(gateway);
      await gateway.telegram.sendText(stranger.id, '/channels');
      expect(lastText(stranger.id)).toContain('Link your account first');
      await gateway.telegram.sendText(stranger.id, '/notifications off');
      expect(lastText(stranger.id)).toContain('Link your account first');
    });

    it('shows active subscribers, revenue of the last 30 days and the pending balance per asset', async () => {
      const channel = await linkedChannel({ strategy: 'threshold', priceCents: 1999n });
      await paidSubscriber(channel);
      await paidSubscriber(channel);
      // Settled long before the 30-day window: not revenue now.
      const old = await insertCheckout(db(), { channelId: channel.channelId, kind: 'donation', priceCents: 5000n, status: 'paid' });
      await insertPayment(db(), { checkoutId: old.id, status: 'finished', isSettled: true });
      await creditOwner(db(), channel.channelId, 'USDT_ERC20', 12_500_000n);

      const eth = await balanceOf(db(), ledgerAccountCodes.owner(channel.channelId, 'ETH'), 'ETH');
      expect(eth).toBeGreaterThan(0n);

      await gateway.telegram.sendText(channel.ownerTelegramId, '/channels');
      const reply = gateway.telegram.messagesTo(channel.ownerTelegramId).at(-1);
      expect(reply?.parseMode).toBe('HTML');
      expect(reply?.text).toContain('<b>Premium &lt;Club&gt;</b>');
      expect(reply?.text).toContain('Active subscribers: 2');
      expect(reply?.text).toContain('Revenue, last 30 days: $39.98');
      expect(reply?.text).toContain(`Pending balance: ${formatUnits(eth, 18)} ETH, 12.5 USDT`);
    });

    it('answers in Russian for a Russian-speaking owner', async () => {
      const channel = await linkedChannel();
      gateway.telegram.addUser({ id: channel.ownerTelegramId, first_name: 'Owner', language_code: 'ru' });
      await gateway.telegram.sendText(channel.ownerTelegramId, '/channels');
      expect(lastText(channel.ownerTelegramId)).toContain('Активные подписчики: 0');
    });
  });

  describe('/notifications', () => {
    it('turns payment DMs off so a payment no longer reaches the owner, and on again', async () => {
      const channel = await linkedChannel();
      await gateway.telegram.sendText(channel.ownerTelegramId, '/notifications off');
      expect(lastText(channel.ownerTelegramId)).toContain('off for 1 channel');
      const before = gateway.telegram.messagesTo(channel.ownerTelegramId).length;

      await paidSubscriber(channel);
      expect(gateway.telegram.messagesTo(channel.ownerTelegramId)).toHaveLength(before);
      const { rows } = await db().query<{ kind: string; status: string }>('SELECT kind, status FROM owner_notifications WHERE channel_id = $1', [channel.channelId]);
      expect(rows).toEqual([{ kind: 'payment_received', status: 'skipped' }]);

      await gateway.telegram.sendText(channel.ownerTelegramId, '/notifications');
      expect(lastText(channel.ownerTelegramId)).toContain('🔕 off — Premium &lt;Club&gt;');
      await gateway.telegram.sendText(channel.ownerTelegramId, '/notifications on');
      const { rows: state } = await db().query<{ notifications_enabled: boolean; notification_chat_id: bigint }>(
        'SELECT notifications_enabled, notification_chat_id FROM channels WHERE id = $1',
        [channel.channelId],
      );
      expect(state.map((row) => [row.notifications_enabled, BigInt(row.notification_chat_id)])).toEqual([[true, BigInt(channel.ownerTelegramId)]]);

      await paidSubscriber(channel);
      expect(gateway.telegram.messagesTo(channel.ownerTelegramId).at(-1)?.text).toContain('New subscription');
    });

    it('explains the usage for an unknown argument', async () => {
      const channel = await linkedChannel();
      await gateway.telegram.sendText(channel.ownerTelegramId, '/notifications maybe');
      expect(lastText(channel.ownerTelegramId)).toContain('/notifications on');
    });
  });

  describe("the bot's rights (my_chat_member)", () => {
    it('records the rights and warns the owner once when the bot loses the invite right in the closed channel', async () => {
      const channel = await seedChannel(gateway);
      const before = gateway.telegram.messagesTo(channel.ownerTelegramId).length;

      gateway.telegram.setBotMembership(channel.closedChatId, 'administrator', { can_invite_users: false, can_restrict_members: true });
      await gateway.settle();

      const messages = gateway.telegram.messagesTo(channel.ownerTelegramId);
      expect(messages).toHaveLength(before + 1);
      expect(messages.at(-1)?.text).toContain('The bot lacks rights in the paid channel Premium &lt;Club&gt;');
      expect(messages.at(-1)?.text).toContain('Invite users via link');
      expect(messages.at(-1)?.text).not.toContain('Ban users');
      const { rows } = await db().query<{ bot_rights: { closed: { status: string; missing: string[]; rights: Record<string, boolean> } }; bot_rights_checked_at: Date | null }>(
        'SELECT bot_rights, bot_rights_checked_at FROM channels WHERE id = $1',
        [channel.channelId],
      );
      expect(rows[0]?.bot_rights.closed).toMatchObject({ status: 'administrator', missing: ['can_invite_users'], rights: { can_invite_users: false, can_restrict_members: true } });
      expect(rows[0]?.bot_rights_checked_at).toBeInstanceOf(Date);

      // Another change that leaves the same right missing: no second warning. Restored: none either.
      gateway.telegram.setBotMembership(channel.closedChatId, 'administrator', { can_invite_users: false, can_pin_messages: false });
      // Telegram sends one chat's updates in order; let this one land before the next (same second).
      await gateway.settle();
      gateway.telegram.setBotMembership(channel.closedChatId, 'administrator', {});
      await gateway.settle();
      expect(gateway.telegram.messagesTo(channel.ownerTelegramId)).toHaveLength(before + 1);
      // The restored rights are recorded (polled: under load the last webhook delivery may still be landing).
      const deadline = Date.now() + 10_000;
      let missing: string[] | undefined;
      for (;;) {
        const { rows: after } = await db().query<{ missing: string[] }>(`SELECT bot_rights->'closed'->'missing' AS missing FROM channels WHERE id = $1`, [channel.channelId]);
        missing = after[0]?.missing;
        if ((missing?.length ?? 0) === 0 || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
        await gateway.settle();
      }
      expect(missing, JSON.stringify(gateway.telegram.deliveries.slice(-3))).toEqual([]);
      const { rows: notices } = await db().query<{ status: string }>(`SELECT status FROM owner_notifications WHERE channel_id = $1 AND kind = 'bot_rights_missing'`, [
        channel.channelId,
      ]);
      expect(notices).toEqual([{ status: 'sent' }]);
    });

    it('tells a linked owner with notifications off when the bot is removed from the closed channel', async () => {
      const channel = await linkedChannel();
      await gateway.telegram.sendText(channel.ownerTelegramId, '/notifications off');
      gateway.telegram.setBotMembership(channel.closedChatId, 'left');
      await gateway.settle();
      expect(lastText(channel.ownerTelegramId)).toContain('Add the bot back as an administrator');
    });
  });

  describe('the leak guard (chat_member)', () => {
    it('marks the link joined and revokes it when the rightful subscriber joins', async () => {
      const channel = await seedChannel(gateway);
      const subscriber = await paidSubscriber(channel);

      const join = await gateway.telegram.joinWithInviteLink(subscriber.id, subscriber.inviteLink);
      expect(join).toMatchObject({ joined: true, webhookStatus: 200 });
      await gateway.settle();

      const { rows } = await db().query<{ joined_at: Date | null; joined_by_telegram_user_id: bigint | null; revoked_at: Date | null }>(
        'SELECT joined_at, joined_by_telegram_user_id, revoked_at FROM invite_links WHERE invite_link = $1',
        [subscriber.inviteLink],
      );
      expect(rows[0]?.joined_at).toBeInstanceOf(Date);
      expect(BigInt(rows[0]?.joined_by_telegram_user_id ?? 0)).toBe(BigInt(subscriber.id));
      expect(rows[0]?.revoked_at).toBeInstanceOf(Date);
      expect(gateway.telegram.inviteLinks(channel.closedChatId).find((link) => link.invite_link === subscriber.inviteLink)?.is_revoked).toBe(true);
      expect(gateway.telegram.memberStatus(channel.closedChatId, subscriber.id)).toBe('member');
    });

    it("removes an impostor who joins through someone else's link, revokes the link and tells the owner", async () => {
      const channel = await seedChannel(gateway);
      const subscriber = await paidSubscriber(channel);
      const impostorId = nextUserId++;
      gateway.telegram.addUser({ id: impostorId, first_name: 'Eve <script>', username: `eve${impostorId}` });
      const ownerBefore = gateway.telegram.messagesTo(channel.ownerTelegramId).length;

      const join = await gateway.telegram.joinWithInviteLink(impostorId, subscriber.inviteLink);
      expect(join).toMatchObject({ joined: true, webhookStatus: 200 });
      await gateway.settle();

      expect(gateway.telegram.memberStatus(channel.closedChatId, impostorId)).not.toBe('member');
      expect(gateway.telegram.memberStatus(channel.closedChatId, impostorId)).not.toBe('kicked'); // removed, not banned for good
      expect(gateway.telegram.inviteLinks(channel.closedChatId).find((link) => link.invite_link === subscriber.inviteLink)?.is_revoked).toBe(true);
      const { rows } = await db().query<{ joined_at: Date | null; revoked_at: Date | null }>('SELECT joined_at, revoked_at FROM invite_links WHERE invite_link = $1', [
        subscriber.inviteLink,
      ]);
      expect(rows[0]?.joined_at).toBeNull();
      expect(rows[0]?.revoked_at).toBeInstanceOf(Date);

      const ownerMessages = gateway.telegram.messagesTo(channel.ownerTelegramId);
      expect(ownerMessages).toHaveLength(ownerBefore + 1);
      expect(ownerMessages.at(-1)?.text).toContain("Someone else used a subscriber's invite link");
      expect(ownerMessages.at(-1)?.text).toContain('Eve &lt;script&gt;');
      expect(ownerMessages.at(-1)?.text).toContain(`id ${impostorId}`);
      expect(ownerMessages.at(-1)?.text).toContain('They were removed');
      const { rows: notices } = await db().query<{ kind: string; status: string }>(
        `SELECT kind, status FROM owner_notifications WHERE channel_id = $1 AND kind = 'invite_link_misused'`,
        [channel.channelId],
      );
      expect(notices).toEqual([{ kind: 'invite_link_misused', status: 'sent' }]);

      // The leaked link is dead for the subscriber too; they ask the bot for a new one.
      expect(await gateway.telegram.joinWithInviteLink(subscriber.id, subscriber.inviteLink)).toMatchObject({ joined: false, reason: 'link_revoked' });
    });

    it('ignores joins through links the gateway did not make', async () => {
      const channel = await seedChannel(gateway);
      const api = createBotApi({ token: gateway.telegram.token, apiRoot: gateway.telegram.apiRoot });
      const ownLink = await api.createChatInviteLink(channel.closedChatId, { name: 'made by the owner' });
      const guest = newSubscriber(gateway);
      const ownerBefore = gateway.telegram.messagesTo(channel.ownerTelegramId).length;

      expect(await gateway.telegram.joinWithInviteLink(guest.id, ownLink.invite_link)).toMatchObject({ joined: true, webhookStatus: 200 });
      await gateway.settle();
      expect(gateway.telegram.memberStatus(channel.closedChatId, guest.id)).toBe('member');
      expect(gateway.telegram.messagesTo(channel.ownerTelegramId)).toHaveLength(ownerBefore);
      expect(gateway.telegram.callsTo('banChatMember').filter((call) => call.payload.user_id === guest.id || call.payload.user_id === String(guest.id))).toEqual([]);
    });
  });

  it('left no dead letters', async () => {
    const { rows } = await db().query('SELECT source, reason_code FROM dead_letters');
    expect(rows).toEqual([]);
  });
});
