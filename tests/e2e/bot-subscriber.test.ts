import { randomUUID } from 'node:crypto';
import { Api } from 'grammy';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorEnvelopeSchema } from '../../shared/dashboard/index.js';
import { formatPublicId } from '../../shared/ids/index.js';
import { SECRET_TOKEN_HEADER } from '../../shared/bot/index.js';
import { insertTier } from '../../shared/testing/fixtures.js';
import { simulateKeyValueOutage } from '../../shared/testing/fakes/key-value-outage.js';
import type { SimulatedMessage } from '../../shared/testing/simulators/telegram-simulator.js';
import { newSubscriber, seedChannel, startTestGateway, type SeededChannel, type TestGateway } from './gateway-harness.js';

type Button = InlineKeyboardButton & { callback_data?: string; url?: string };

function buttonsOf(message: SimulatedMessage | undefined): Button[] {
  return ((message?.replyMarkup as InlineKeyboardMarkup | undefined)?.inline_keyboard ?? []).flat() as Button[];
}

function buttonData(message: SimulatedMessage | undefined, label: RegExp): string {
  const button = buttonsOf(message).find((b) => label.test(b.text));
  if (!button?.callback_data) throw new Error(`no callback button ${label} in ${JSON.stringify(message?.replyMarkup)}`);
  return button.callback_data;
}

const startLink = (channelId: string) => `/start c_${formatPublicId('channel', channelId)}`;
const donateLink = (channelId: string) => `/start d_${formatPublicId('channel', channelId)}`;

describe('the bot for subscribers and donors, through the telegram-webhook function', () => {
  let gateway: TestGateway;
  let channel: SeededChannel;
  /** The bot's own Bot API client, used only to tamper with a button as a modified client could. */
  let botApi: Api;

  const last = (chatId: number) => gateway.telegram.messagesTo(chatId).at(-1);
  const answers = () => gateway.telegram.callsTo('answerCallbackQuery').map((call) => call.payload);
  const lastAnswer = () => answers().at(-1);

  async function tamper(userId: number, messageId: number, data: string[]): Promise<void> {
    await botApi.editMessageReplyMarkup(userId, messageId, {
      reply_markup: { inline_keyboard: data.map((callback_data) => [{ text: callback_data, callback_data }]) },
    });
  }

  beforeAll(async () => {
    gateway = await startTestGateway();
    botApi = new Api(gateway.telegram.token, { apiRoot: gateway.telegram.apiRoot });
    channel = await seedChannel(gateway, { priceCents: 1999n, days: 30 });
    await insertTier(gateway.testDb.db, { channelId: channel.channelId, tierNumber: 2, priceCents: 4999n, durationDays: 90 });
    await gateway.testDb.db.query(`UPDATE channels SET closed_description = 'Daily <b>alpha</b> & charts' WHERE id = $1`, [channel.channelId]);
    await gateway.settle();
  });
  afterAll(() => gateway?.stop());

  it('walks a subscriber from /start c_… to the invite DM, and Check payment reports the real status', async () => {
    const db = gateway.testDb.db;
    const fan = newSubscriber(gateway);
    expect(await gateway.telegram.sendText(fan.id, startLink(channel.channelId))).toBe(200);

    const offer = last(fan.id);
    expect(offer?.parseMode).toBe('HTML');
    expect(offer?.text).toContain('<b>Premium &lt;Club&gt;</b>');
    expect(offer?.text).toContain('Daily &lt;b&gt;alpha&lt;/b&gt; &amp; charts');
    // Each tier: its button, then "Gift tier N" (no free trial on these tiers).
    expect(buttonsOf(offer).map((b) => b.text)).toEqual(['Tier 1 · 30 days · $19.99', '🎁 Gift tier 1', 'Tier 2 · 90 days · $49.99', '🎁 Gift tier 2']);
    for (const button of buttonsOf(offer).filter((b) => b.text.startsWith('Tier'))) {
      expect(button.callback_data).toMatch(/^t1:ch_[A-Za-z0-9_-]{22}:[12]$/);
      expect(button.callback_data).not.toMatch(/\$|\.|1999|4999/);
    }

    expect(await gateway.telegram.clickButton(fan.id, offer!.messageId, buttonData(offer, /^Tier 1/))).toBe(200);
    const { rows: checkouts } = await db.query<{ id: string; price_cents: bigint; duration_days: number; provider_invoice_id: string; provider_invoice_url: string }>(
      'SELECT id, price_cents, duration_days, provider_invoice_id, provider_invoice_url FROM checkouts WHERE telegram_user_id = $1',
      [fan.id],
    );
    expect(checkouts).toHaveLength(1);
    expect(checkouts[0]).toMatchObject({ price_cents: 1999n, duration_days: 30 });
    const pay = last(fan.id);
    expect(pay?.text).toContain('$19.99');
    expect(buttonsOf(pay)[0]).toMatchObject({ text: '💳 Pay $19.99', url: checkouts[0]!.provider_invoice_url });
    const check = buttonData(pay, /Check payment/);
    expect(check).toBe(`k1:${formatPublicId('checkout', checkouts[0]!.id)}`);
    expect(lastAnswer()).toMatchObject({ callback_query_id: expect.any(String) });

    await gateway.telegram.clickButton(fan.id, pay!.messageId, check);
    expect(lastAnswer()?.text).toMatch(/^No payment yet/);

    await gateway.nowpayments.pay(checkouts[0]!.provider_invoice_id);
    await gateway.settle();
    const { rows: links } = await db.query<{ invite_link: string }>(
      'SELECT l.invite_link FROM invite_links l JOIN subscriptions s ON s.id = l.subscription_id WHERE s.telegram_user_id = $1',
      [fan.id],
    );
    expect(links).toHaveLength(1);
    const invite = gateway.telegram.messagesTo(fan.id).find((m) => m.text.includes(links[0]!.invite_link));
    expect(invite?.text).toContain('Premium &lt;Club&gt;');

    await gateway.telegram.clickButton(fan.id, pay!.messageId, check);
    expect(lastAnswer()?.text).toMatch(/^Paid ✅ Your access is on its way/);
  });

  it('gives two users choosing different tiers at the same moment each their own price', async () => {
    const [alice, bob] = [newSubscriber(gateway), newSubscriber(gateway)];
    await Promise.all([alice, bob].map((user) => gateway.telegram.sendText(user.id, startLink(channel.channelId))));
    const [aliceOffer, bobOffer] = [last(alice.id), last(bob.id)];
    const statuses = await Promise.all([
      gateway.telegram.clickButton(alice.id, aliceOffer!.messageId, buttonData(aliceOffer, /^Tier 1/)),
      gateway.telegram.clickButton(bob.id, bobOffer!.messageId, buttonData(bobOffer, /^Tier 2/)),
    ]);
    expect(statuses).toEqual([200, 200]);

    expect(buttonsOf(last(alice.id))[0]?.text).toBe('💳 Pay $19.99');
    expect(buttonsOf(last(bob.id))[0]?.text).toBe('💳 Pay $49.99');
    const { rows } = await gateway.testDb.db.query<{ telegram_user_id: bigint; price_cents: bigint; duration_days: number; tier_number: number }>(
      `SELECT c.telegram_user_id, c.price_cents, c.duration_days, t.tier_number FROM checkouts c JOIN channel_tiers t ON t.id = c.tier_id
       WHERE c.telegram_user_id IN ($1, $2) ORDER BY c.price_cents`,
      [alice.id, bob.id],
    );
    expect(rows).toEqual([
      { telegram_user_id: BigInt(alice.id), price_cents: 1999n, duration_days: 30, tier_number: 1 },
      { telegram_user_id: BigInt(bob.id), price_cents: 4999n, duration_days: 90, tier_number: 2 },
    ]);
  });

  it('answers unknown, malformed and deleted-channel deep links with a friendly reply', async () => {
    const fan = newSubscriber(gateway);
    const replies: string[] = [];
    for (const text of [
      `/start c_${formatPublicId('channel', randomUUID())}`,
      '/start c_ch_short',
      '/start c_<script>',
      '/start c_ch_AAAAAAAAAAAAAAAAAAAAAA',
      '/start nonsense',
      `/start x${'a'.repeat(80)}`,
    ]) {
      expect(await gateway.telegram.sendText(fan.id, text)).toBe(200);
      replies.push(last(fan.id)?.text ?? '');
    }
    expect(replies).toEqual([
      "This channel isn't available for subscriptions right now.",
      "This link doesn't look right. Please open the channel's link again.",
      "This link doesn't look right. Please open the channel's link again.",
      "This link doesn't look right. Please open the channel's link again.",
      "This link doesn't look right. Please open the channel's link again.",
      "This link doesn't look right. Please open the channel's link again.",
    ]);

    const gone = await seedChannel(gateway);
    await gateway.testDb.db.query(`UPDATE channels SET status = 'deleted', deleted_at = now() WHERE id = $1`, [gone.channelId]);
    await gateway.telegram.sendText(fan.id, startLink(gone.channelId));
    expect(last(fan.id)?.text).toBe("This channel isn't available for subscriptions right now.");

    await gateway.telegram.sendText(fan.id, '/start');
    expect(last(fan.id)?.text).toMatch(/^Hi!/);
  });

  it('answers a tampered or stale button politely, never with an error or a price from the button', async () => {
    const db = gateway.testDb.db;
    const [victim, fan] = [newSubscriber(gateway), newSubscriber(gateway)];
    await gateway.telegram.sendText(victim.id, startLink(channel.channelId));
    await gateway.telegram.clickButton(victim.id, last(victim.id)!.messageId, buttonData(last(victim.id), /^Tier 1/));
    const victimCheck = buttonData(last(victim.id), /Check payment/);

    await gateway.telegram.sendText(fan.id, startLink(channel.channelId));
    const offer = last(fan.id)!;
    const channelRef = formatPublicId('channel', channel.channelId);
    const tampered = [
      `t1:${channelRef}:3`, // no such tier
      `t1:${channelRef}:9`, // out of range
      `t1:${channelRef}:1:1`, // extra field
      `t1:${formatPublicId('channel', randomUUID())}:1`, // unknown channel
      't1:ch_AAAAAAAAAAAAAAAAAAAAAA:1', // not a uuid
      victimCheck, // someone else's checkout
      `l1:${formatPublicId('subscription', randomUUID())}`,
      'r1:garbage',
      'd1:7', // a keypad key without a keypad
      'garbage',
    ];
    await tamper(fan.id, offer.messageId, tampered);
    const before = gateway.telegram.messagesTo(fan.id).length;
    for (const data of tampered) {
      expect(await gateway.telegram.clickButton(fan.id, offer.messageId, data)).toBe(200);
      expect(lastAnswer()).toMatchObject({ text: 'This button is no longer valid. Please start again.' });
    }
    expect(gateway.telegram.messagesTo(fan.id)).toHaveLength(before);
    expect(gateway.telegram.callsTo('answerCallbackQuery').slice(-tampered.length).every((call) => call.ok)).toBe(true);
    const { rows } = await db.query('SELECT id FROM checkouts WHERE telegram_user_id = $1', [fan.id]);
    expect(rows).toEqual([]);

    // A tier the owner switched off after the buttons were shown.
    await gateway.telegram.sendText(fan.id, startLink(channel.channelId));
    const stale = last(fan.id)!;
    await db.query('UPDATE channel_tiers SET is_active = false WHERE channel_id = $1 AND tier_number = 2', [channel.channelId]);
    try {
      await gateway.telegram.clickButton(fan.id, stale.messageId, buttonData(stale, /^Tier 2/));
      expect(lastAnswer()).toMatchObject({ text: 'This button is no longer valid. Please start again.' });
      expect(gateway.telegram.messagesTo(fan.id).at(-1)?.messageId).toBe(stale.messageId);
    } finally {
      await db.query('UPDATE channel_tiers SET is_active = true WHERE channel_id = $1 AND tier_number = 2', [channel.channelId]);
    }
  });

  it('processes the same update_id once when Telegram delivers it twice', async () => {
    const fan = newSubscriber(gateway);
    const update = {
      update_id: 990_000_001,
      message: {
        message_id: 1,
        date: Math.floor(Date.now() / 1000),
        from: { id: fan.id, is_bot: false, first_name: 'Fan', username: fan.username },
        chat: { id: fan.id, type: 'private' as const, first_name: 'Fan' },
        text: startLink(channel.channelId),
        entities: [{ type: 'bot_command' as const, offset: 0, length: 6 }],
      },
    };
    expect(await gateway.telegram.deliverUpdate(update)).toBe(200);
    expect(await gateway.telegram.deliverUpdate(update)).toBe(200);
    expect(gateway.telegram.messagesTo(fan.id)).toHaveLength(1);
  });

  it('refuses a webhook request without the secret token with 401 and calls no Bot API method', async () => {
    const fan = newSubscriber(gateway);
    const callsBefore = gateway.telegram.calls.length;
    const body = {
      update_id: 990_000_002,
      message: {
        message_id: 1,
        date: Math.floor(Date.now() / 1000),
        from: { id: fan.id, is_bot: false, first_name: 'Fan' },
        chat: { id: fan.id, type: 'private', first_name: 'Fan' },
        text: '/start',
        entities: [{ type: 'bot_command', offset: 0, length: 6 }],
      },
    };
    const attempts: Record<string, string>[] = [{}, { 'x-telegram-bot-api-secret-token': 'wrong-secret' }];
    for (const headers of attempts) {
      const response = await fetch(`${gateway.runtime.url}/telegram-webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(401);
    }
    expect(gateway.telegram.calls.length).toBe(callsBefore);
    expect(gateway.telegram.messagesTo(fan.id)).toEqual([]);
  });

  it('answers 503 with Retry-After in the error envelope while the key-value store is down, logs one line, and handles the redelivery', async () => {
    const fan = newSubscriber(gateway);
    const update = {
      update_id: 990_000_003,
      message: {
        message_id: 1,
        date: Math.floor(Date.now() / 1000),
        from: { id: fan.id, is_bot: false, first_name: 'Fan', username: fan.username },
        chat: { id: fan.id, type: 'private', first_name: 'Fan' },
        text: startLink(channel.channelId),
        entities: [{ type: 'bot_command', offset: 0, length: 6 }],
      },
    };
    const deliver = () =>
      fetch(`${gateway.runtime.url}/telegram-webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SECRET_TOKEN_HEADER]: process.env.TELEGRAM_WEBHOOK_SECRET ?? '' },
        body: JSON.stringify(update),
      });
    const logLinesBefore = gateway.logLines.length;
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const restore = simulateKeyValueOutage(gateway.runtime.kv);
    let response: Response;
    try {
      response = await deliver();
    } finally {
      restore();
      printed.mockRestore();
    }

    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await response.text();
    expect(ErrorEnvelopeSchema.safeParse(JSON.parse(text)).success).toBe(true);
    expect(text).not.toMatch(/[Ff]irestore|gRPC|UNAVAILABLE|Error:|\n\s+at /);
    const lines = gateway.logLines.slice(logLinesBefore).map((line) => JSON.parse(line) as { severity: string; message: string; updateId?: number });
    expect(lines).toEqual([expect.objectContaining({ severity: 'ERROR', message: 'telegram.update_store_unavailable', updateId: update.update_id })]);
    expect(printed).not.toHaveBeenCalled();
    expect(gateway.telegram.messagesTo(fan.id)).toEqual([]);

    // Telegram redelivers a non-2xx answer; once the store is back the update is handled, once.
    expect((await deliver()).status).toBe(200);
    expect((await deliver()).status).toBe(200);
    expect(gateway.telegram.messagesTo(fan.id)).toHaveLength(1);
  });

  it('speaks Russian to a user whose Telegram is in Russian', async () => {
    const id = 7_900_000_001;
    gateway.telegram.addUser({ id, first_name: 'Иван', language_code: 'ru' });
    await gateway.telegram.sendText(id, startLink(channel.channelId));
    const offer = last(id);
    expect(offer?.text).toContain('Выберите подписку:');
    expect(buttonsOf(offer).map((b) => b.text)).toEqual(['Уровень 1 · 30 дней · $19.99', '🎁 Подарить уровень 1', 'Уровень 2 · 90 дней · $49.99', '🎁 Подарить уровень 2']);
    await gateway.telegram.clickButton(id, offer!.messageId, buttonData(offer, /^Уровень 1/));
    expect(buttonsOf(last(id)).map((b) => b.text)).toEqual(['💳 Оплатить $19.99', '🔄 Проверить оплату']);
    await gateway.telegram.sendText(id, '/start nonsense');
    expect(last(id)?.text).toBe('Эта ссылка выглядит неверной. Откройте ссылку канала ещё раз.');
  });

  describe('/subscriptions and "send my link again"', () => {
    let fan: { id: number; username: string };
    let listing: SimulatedMessage;

    async function subscribe(user: { id: number }): Promise<void> {
      await gateway.telegram.sendText(user.id, startLink(channel.channelId));
      await gateway.telegram.clickButton(user.id, last(user.id)!.messageId, buttonData(last(user.id), /^Tier 1/));
      const { rows } = await gateway.testDb.db.query<{ provider_invoice_id: string }>(
        `SELECT provider_invoice_id FROM checkouts WHERE telegram_user_id = $1 AND status = 'open'`,
        [user.id],
      );
      await gateway.nowpayments.pay(rows[0]!.provider_invoice_id);
      await gateway.settle();
    }

    async function linkOf(user: { id: number }): Promise<{ id: string; invite_link: string }> {
      const { rows } = await gateway.testDb.db.query<{ id: string; invite_link: string }>(
        'SELECT l.id, l.invite_link FROM invite_links l JOIN subscriptions s ON s.id = l.subscription_id WHERE s.telegram_user_id = $1',
        [user.id],
      );
      return rows[0]!;
    }

    beforeAll(async () => {
      fan = newSubscriber(gateway);
      await subscribe(fan);
    });

    it('lists the subscription with its expiry, a renew button and a resend button', async () => {
      await gateway.telegram.sendText(fan.id, '/subscriptions');
      listing = last(fan.id)!;
      expect(listing.text).toMatch(/^<b>Your subscriptions<\/b>\n\n• <b>Premium &lt;Club&gt;<\/b>: active until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
      expect(buttonsOf(listing).map((b) => b.text)).toEqual(['🔗 Send my link again · Premium <Club>', '🔁 Renew · Premium <Club>']);

      await gateway.telegram.clickButton(fan.id, listing.messageId, buttonData(listing, /Renew/));
      expect(buttonsOf(last(fan.id)).map((b) => b.text)).toEqual(['Tier 1 · 30 days · $19.99', '🎁 Gift tier 1', 'Tier 2 · 90 days · $49.99', '🎁 Gift tier 2']);
    });

    it('DMs the still-valid stored link again, and a new one once the stored link expired unused', async () => {
      const stored = await linkOf(fan);
      const dmsBefore = gateway.telegram.messagesTo(fan.id).length;
      await gateway.telegram.clickButton(fan.id, listing.messageId, buttonData(listing, /Send my link again/));
      expect(lastAnswer()?.text).toBe('Your invite link is in a new message below.');
      expect(gateway.telegram.messagesTo(fan.id)).toHaveLength(dmsBefore + 1);
      expect(last(fan.id)?.text).toContain(stored.invite_link);

      await gateway.testDb.db.query(`UPDATE invite_links SET expires_at = created_at + interval '1 millisecond' WHERE id = $1`, [stored.id]);
      await gateway.telegram.clickButton(fan.id, listing.messageId, buttonData(listing, /Send my link again/));
      const renewed = await linkOf(fan);
      expect(renewed.invite_link).not.toBe(stored.invite_link);
      expect(last(fan.id)?.text).toContain(renewed.invite_link);
      expect(gateway.telegram.inviteLinks(channel.closedChatId).find((l) => l.invite_link === stored.invite_link)?.is_revoked).toBe(true);

      // Revoked before anyone joined with it (say, by an administrator): replaced as if expired.
      await gateway.testDb.db.query('UPDATE invite_links SET revoked_at = now() WHERE id = $1', [renewed.id]);
      await gateway.telegram.clickButton(fan.id, listing.messageId, buttonData(listing, /Send my link again/));
      const third = await linkOf(fan);
      expect(third.invite_link).not.toBe(renewed.invite_link);
      expect(last(fan.id)?.text).toContain(third.invite_link);
      const { rows } = await gateway.testDb.db.query<{ revoked_at: Date | null; sent_at: Date | null }>('SELECT revoked_at, sent_at FROM invite_links WHERE id = $1', [third.id]);
      expect(rows[0]).toMatchObject({ revoked_at: null, sent_at: expect.any(Date) });
      expect(await gateway.telegram.joinWithInviteLink(fan.id, third.invite_link)).toMatchObject({ joined: true });
    });

    it("refuses another user's subscription and says so when the link was already used", async () => {
      const { rows } = await gateway.testDb.db.query<{ id: string }>('SELECT id FROM subscriptions WHERE telegram_user_id = $1', [fan.id]);
      const other = newSubscriber(gateway);
      await gateway.telegram.sendText(other.id, '/subscriptions');
      expect(last(other.id)?.text).toBe("You don't have any subscriptions yet. Open a channel's link to subscribe.");
      await gateway.telegram.sendText(other.id, startLink(channel.channelId));
      const message = last(other.id)!;
      const stolen = `l1:${formatPublicId('subscription', rows[0]!.id)}`;
      await tamper(other.id, message.messageId, [stolen]);
      const fanDms = gateway.telegram.messagesTo(fan.id).length;
      await gateway.telegram.clickButton(other.id, message.messageId, stolen);
      expect(lastAnswer()?.text).toBe('This button is no longer valid. Please start again.');
      expect(gateway.telegram.messagesTo(fan.id)).toHaveLength(fanDms);
      expect(gateway.telegram.messagesTo(other.id).at(-1)?.messageId).toBe(message.messageId);

      // The subscriber joined (recorded as the leak guard records it): no more resending.
      await gateway.testDb.db.query(
        'UPDATE invite_links SET joined_at = now(), joined_by_telegram_user_id = $2 WHERE subscription_id = $1',
        [rows[0]!.id, fan.id],
      );
      await gateway.telegram.clickButton(fan.id, listing.messageId, buttonData(listing, /Send my link again/));
      expect(lastAnswer()?.text).toBe('You have already joined with your link.');
      expect(gateway.telegram.messagesTo(fan.id)).toHaveLength(fanDms);
      await gateway.telegram.sendText(fan.id, '/subscriptions');
      expect(buttonsOf(last(fan.id)).map((b) => b.text)).toEqual(['🔁 Renew · Premium <Club>']);

      // Once the subscription ended, an old "send my link again" button says so.
      await gateway.testDb.db.query(`UPDATE subscriptions SET status = 'expired', expired_at = now() WHERE id = $1`, [rows[0]!.id]);
      await gateway.telegram.clickButton(fan.id, listing.messageId, buttonData(listing, /Send my link again/));
      expect(lastAnswer()).toMatchObject({ text: 'This subscription is no longer active. Tap Renew to subscribe again.', show_alert: true });
      await gateway.telegram.sendText(fan.id, '/subscriptions');
      expect(last(fan.id)?.text).toMatch(/• <b>Premium &lt;Club&gt;<\/b>: ended on /);
    });
  });

  describe('donations', () => {
    let donor: { id: number; username: string };

    beforeAll(async () => {
      donor = newSubscriber(gateway);
      await gateway.testDb.db.query(
        `UPDATE channels SET donations_enabled = true, donation_min_cents = 499, donation_max_cents = 999999, donation_message = 'Keep the <lights> on'
         WHERE id = $1`,
        [channel.channelId],
      );
    });

    async function press(messageId: number, ...keys: string[]): Promise<void> {
      for (const key of keys) expect(await gateway.telegram.clickButton(donor.id, messageId, `d1:${key}`)).toBe(200);
    }

    it('never posts the keypad in a group: the user is sent to the private chat', async () => {
      const groupId = -1_009_900_000_001;
      gateway.telegram.addChat({ id: groupId, type: 'supergroup', title: 'Fans' });
      gateway.telegram.setBotMembership(groupId, 'member');
      gateway.telegram.addMember(groupId, donor.id);
      await gateway.settle();
      const status = await gateway.telegram.deliverUpdate({
        message: {
          message_id: 500,
          date: Math.floor(Date.now() / 1000),
          from: { id: donor.id, is_bot: false, first_name: 'Fan' },
          chat: { id: groupId, type: 'supergroup', title: 'Fans' },
          text: donateLink(channel.channelId),
          entities: [{ type: 'bot_command', offset: 0, length: 6 }],
        },
      });
      expect(status).toBe(200);
      const inGroup = gateway.telegram.messagesTo(groupId);
      expect(inGroup.flatMap((m) => buttonsOf(m)).some((b) => b.callback_data?.startsWith('d1:'))).toBe(false);
      expect(inGroup.map((m) => m.text)).toEqual(['Please continue in a private chat with me.']);
      expect(buttonsOf(inGroup[0])[0]?.url).toBe(`https://t.me/${gateway.telegram.botInfo.username}?start=${donateLink(channel.channelId).slice(7)}`);
      expect(gateway.telegram.messagesTo(donor.id)).toEqual([]);
    });

    it('types an amount on the keypad in the private chat and opens a donation checkout with a Pay button', async () => {
      await gateway.telegram.sendText(donor.id, donateLink(channel.channelId));
      const keypad = last(donor.id)!;
      expect(keypad.text).toContain('Support <b>Premium &lt;Club&gt;</b>');
      expect(keypad.text).toContain('Keep the &lt;lights&gt; on');
      expect(keypad.text).toContain('From $4.99 to $9999.99');
      expect(buttonsOf(keypad).map((b) => b.callback_data)).toEqual(
        ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'dot', '0', 'del', 'clr', 'no', 'ok'].map((key) => `d1:${key}`),
      );

      await press(keypad.messageId, '1');
      await press(keypad.messageId, 'ok');
      expect(lastAnswer()).toMatchObject({ text: 'Please enter an amount from $4.99 to $9999.99.', show_alert: true });

      await press(keypad.messageId, '2', 'dot', '5', '0', '7', 'dot');
      expect(last(donor.id)?.text).toContain('Amount (USD): <b>$12.50</b>');
      await press(keypad.messageId, 'clr', '2', '5', 'ok');

      const { rows } = await gateway.testDb.db.query<{ id: string; kind: string; price_cents: bigint; tier_id: string | null; provider_invoice_url: string }>(
        'SELECT id, kind, price_cents, tier_id, provider_invoice_url FROM checkouts WHERE telegram_user_id = $1',
        [donor.id],
      );
      expect(rows).toEqual([{ id: expect.any(String), kind: 'donation', price_cents: 2500n, tier_id: null, provider_invoice_url: expect.any(String) }]);
      const pay = gateway.telegram.messagesTo(donor.id).find((m) => m.messageId === keypad.messageId);
      expect(pay?.text).toContain('Donation to <b>Premium &lt;Club&gt;</b>: <b>$25.00</b>');
      expect(buttonsOf(pay).map((b) => [b.text, b.url ?? b.callback_data])).toEqual([
        ['💳 Pay $25.00', rows[0]!.provider_invoice_url],
        ['🔄 Check payment', `k1:${formatPublicId('checkout', rows[0]!.id)}`],
      ]);
      // The keypad is gone: a press of an old key is stale.
      await tamper(donor.id, keypad.messageId, ['d1:5']);
      await press(keypad.messageId, '5');
      expect(lastAnswer()?.text).toBe('This button is no longer valid. Please start again.');
    });

    it('keeps the amount to 8 characters, drops leading zeros, refuses an amount over the maximum and cancels', async () => {
      // Another donor: the per-user rate limit (20 presses a minute) counts keypad presses too.
      donor = newSubscriber(gateway);
      await gateway.telegram.sendText(donor.id, donateLink(channel.channelId));
      const keypad = last(donor.id)!;
      await press(keypad.messageId, '0', '0', '9', '9', '9', '9', '9', '9', '9', '9', '9');
      expect(last(donor.id)?.text).toContain('Amount (USD): <b>$99999999</b>');
      await press(keypad.messageId, 'ok');
      expect(lastAnswer()?.text).toBe('Please enter an amount from $4.99 to $9999.99.');
      await press(keypad.messageId, 'no');
      expect(gateway.telegram.messagesTo(donor.id).find((m) => m.messageId === keypad.messageId)).toMatchObject({ text: 'Donation cancelled.' });
      expect(buttonsOf(last(donor.id))).toEqual([]);
      const { rows } = await gateway.testDb.db.query('SELECT id FROM checkouts WHERE telegram_user_id = $1', [donor.id]);
      expect(rows).toEqual([]);
    });

    it('politely refuses a channel that takes no donations', async () => {
      const quiet = await seedChannel(gateway);
      await gateway.telegram.sendText(donor.id, donateLink(quiet.channelId));
      expect(last(donor.id)?.text).toBe("This channel doesn't accept donations right now.");
      expect(buttonsOf(last(donor.id))).toEqual([]);
    });
  });
});
