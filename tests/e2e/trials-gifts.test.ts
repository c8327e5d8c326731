import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../../shared/ids/index.js';
import { type FakeClock, createFakeClock } from '../../shared/testing/fakes/clock.js';
import type { SimulatedMessage } from '../../shared/testing/simulators/telegram-simulator.js';
import { newSubscriber, seedChannel, startTestGateway, type SeededChannel, type TestGateway } from './gateway-harness.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

type Button = InlineKeyboardButton & { callback_data?: string; url?: string };
const buttonsOf = (message: SimulatedMessage | undefined): Button[] =>
  ((message?.replyMarkup as InlineKeyboardMarkup | undefined)?.inline_keyboard ?? []).flat() as Button[];

function buttonData(message: SimulatedMessage | undefined, label: RegExp): string {
  const button = buttonsOf(message).find((b) => label.test(b.text));
  if (!button?.callback_data) throw new Error(`no callback button ${label} in ${JSON.stringify(message?.replyMarkup)}`);
  return button.callback_data;
}

/**
 * Free trials and gift subscriptions through the whole gateway (the bot, NowPayments, settle-payment,
 * notify-subscriber, send-invite, remind-subscribers, expire-subscriptions) on a simulated clock.
 * Every message is delivered twice at the same moment; taps that must count once are made at once.
 */
describe('free trials and gift subscriptions, end to end', () => {
  let gateway: TestGateway;
  let clock: FakeClock;
  let channel: SeededChannel;

  beforeAll(async () => {
    clock = createFakeClock(new Date());
    gateway = await startTestGateway({ deliverTwice: 'concurrently', clock });
    channel = await seedChannel(gateway, { strategy: 'threshold', priceCents: 1999n, days: 30 });
    await gateway.testDb.db.query('UPDATE channel_tiers SET trial_days = 7 WHERE channel_id = $1 AND tier_number = 1', [channel.channelId]);
  });
  afterAll(() => gateway?.stop());

  const db = () => gateway.testDb.db;
  const dms = (userId: number) => gateway.telegram.messagesTo(userId);
  const last = (userId: number) => dms(userId).at(-1);
  const answers = () => gateway.telegram.callsTo('answerCallbackQuery').map((call) => call.payload as { text?: string });
  const startLink = (channelId: string) => `/start c_${formatPublicId('channel', channelId)}`;

  async function tick(): Promise<void> {
    const bus = gateway.runtime.bus;
    if (!bus) throw new Error('no in-process bus');
    await Promise.all([
      bus.publish('renewal-reminders-requested', { job: 'remind-subscribers' }),
      bus.publish('renewal-reminders-requested', { job: 'remind-subscribers' }),
      bus.publish('subscription-expiry-requested', { job: 'expire-subscriptions' }),
      bus.publish('subscription-expiry-requested', { job: 'expire-subscriptions' }),
    ]);
    await gateway.settle();
  }

  /** The offer of the channel, shown to `userId`. */
  async function offerTo(userId: number): Promise<SimulatedMessage> {
    expect(await gateway.telegram.sendText(userId, startLink(channel.channelId))).toBe(200);
    const offer = last(userId);
    if (!offer) throw new Error('no offer');
    return offer;
  }

  describe('a free trial', () => {
    it('is granted once to a user tapping it several times at once, with one invite, and never again', async () => {
      const fan = newSubscriber(gateway);
      const offer = await offerTo(fan.id);
      expect(buttonsOf(offer).map((b) => b.text)).toEqual(['Tier 1 · 30 days · $19.99', '🆓 Try 7 days free', '🎁 Gift tier 1']);
      const tryData = buttonData(offer, /Try 7 days free/);
      expect(tryData).toMatch(/^tt1:ch_[A-Za-z0-9_-]{22}:1$/);

      const statuses = await Promise.all([1, 2, 3].map(() => gateway.telegram.clickButton(fan.id, offer.messageId, tryData)));
      expect(statuses).toEqual([200, 200, 200]);
      await gateway.settle();

      const { rows: trials } = await db().query<{ id: string; duration_days: number }>('SELECT id, duration_days FROM trials WHERE telegram_user_id = $1', [fan.id]);
      expect(trials).toEqual([{ id: expect.any(String), duration_days: 7 }]);
      const { rows: periods } = await db().query<{ trial_id: string | null; payment_id: string | null; duration_days: number }>(
        'SELECT p.trial_id, p.payment_id, p.duration_days FROM subscription_periods p JOIN subscriptions s ON s.id = p.subscription_id WHERE s.telegram_user_id = $1',
        [fan.id],
      );
      expect(periods).toEqual([{ trial_id: trials[0]!.id, payment_id: null, duration_days: 7 }]);
      const { rows: links } = await db().query<{ invite_link: string; name: string }>('SELECT invite_link, name FROM invite_links WHERE trial_id = $1', [trials[0]!.id]);
      expect(links).toHaveLength(1);
      expect(links[0]!.name).toMatch(/^trial:[0-9a-f]{26}$/);
      expect(dms(fan.id).filter((dm) => dm.text.includes(links[0]!.invite_link))).toHaveLength(1);
      expect(dms(fan.id).filter((dm) => dm.text.startsWith('🆓 Your free trial'))).toHaveLength(1);
      // No money moved: no checkout, no payment, no ledger line for this user.
      expect((await db().query('SELECT 1 FROM checkouts WHERE telegram_user_id = $1', [fan.id])).rows).toEqual([]);

      await gateway.telegram.clickButton(fan.id, offer.messageId, tryData);
      expect(answers().at(-1)?.text).toMatch(/already had the free trial/);
      expect((await db().query('SELECT 1 FROM trials WHERE telegram_user_id = $1', [fan.id])).rows).toHaveLength(1);

      // Missed the one-hour link: /subscriptions sends the trial's link again.
      await gateway.telegram.sendText(fan.id, '/subscriptions');
      await gateway.telegram.clickButton(fan.id, last(fan.id)!.messageId, buttonData(last(fan.id), /Send my link again/));
      await gateway.settle();
      expect(dms(fan.id).filter((dm) => dm.text.includes(links[0]!.invite_link))).toHaveLength(2);
    });

    it('reminds that the trial ends with Renew opening the first paid period, then removes the member', async () => {
      const fan = newSubscriber(gateway);
      const offer = await offerTo(fan.id);
      await gateway.telegram.clickButton(fan.id, offer.messageId, buttonData(offer, /Try 7 days free/));
      await gateway.settle();
      const { rows } = await db().query<{ expires_at: Date; invite_link: string }>(
        `SELECT s.expires_at, l.invite_link FROM subscriptions s JOIN invite_links l ON l.subscription_id = s.id WHERE s.telegram_user_id = $1`,
        [fan.id],
      );
      expect(await gateway.telegram.joinWithInviteLink(fan.id, rows[0]!.invite_link)).toMatchObject({ joined: true });
      const expiresAt = rows[0]!.expires_at;

      clock.set(new Date(expiresAt.getTime() - 20 * HOUR_MS));
      await tick();
      const reminders = dms(fan.id).filter((dm) => dm.text.startsWith('⏰'));
      expect(reminders).toHaveLength(1);
      expect(reminders[0]!.text).toMatch(/free trial of <b>Premium &lt;Club&gt;<\/b> ends in 1 day/);
      const renew = buttonData(reminders[0], /Renew/);
      expect(renew).toMatch(/^rt1:ch_[A-Za-z0-9_-]{22}:1$/);
      await gateway.telegram.clickButton(fan.id, reminders[0]!.messageId, renew);
      expect(buttonsOf(last(fan.id))[0]?.text).toBe('💳 Pay $19.99');

      clock.set(new Date(expiresAt.getTime() + HOUR_MS));
      await tick();
      expect(gateway.telegram.memberStatus(channel.closedChatId, fan.id)).toBe('left');
      const { rows: after } = await db().query<{ status: string }>('SELECT status FROM subscriptions WHERE telegram_user_id = $1', [fan.id]);
      expect(after[0]?.status).toBe('expired');
      clock.set(new Date());
    });

    it('is refused to a bot account younger than the channel asks', async () => {
      await db().query('UPDATE channels SET trial_min_account_age_days = 3 WHERE id = $1', [channel.channelId]);
      const newcomer = newSubscriber(gateway);
      const offer = await offerTo(newcomer.id);
      await gateway.telegram.clickButton(newcomer.id, offer.messageId, buttonData(offer, /Try 7 days free/));
      expect(answers().at(-1)?.text).toMatch(/at least 3 days/);
      await db().query('UPDATE channels SET trial_min_account_age_days = NULL WHERE id = $1', [channel.channelId]);
      expect((await db().query('SELECT 1 FROM trials WHERE telegram_user_id = $1', [newcomer.id])).rows).toEqual([]);
    });
  });

  describe('a gift', () => {
    /** The buyer taps Gift, pays; returns the claim code from the DM. */
    async function buyGift(buyer: { id: number }): Promise<{ code: string; giftId: string; paymentId: string }> {
      const offer = await offerTo(buyer.id);
      await gateway.telegram.clickButton(buyer.id, offer.messageId, buttonData(offer, /Gift tier 1/));
      const checkoutMessage = last(buyer.id);
      expect(checkoutMessage?.text).toMatch(/^🎁 A gift: <b>Premium &lt;Club&gt;<\/b> · Tier 1 · 30 days/);
      const { rows } = await db().query<{ provider_invoice_id: string; is_gift: boolean }>(
        `SELECT provider_invoice_id, is_gift FROM checkouts WHERE telegram_user_id = $1 AND status = 'open' AND provider_invoice_url = $2`,
        [buyer.id, buttonsOf(checkoutMessage)[0]?.url],
      );
      expect(rows).toEqual([{ provider_invoice_id: expect.any(String), is_gift: true }]);
      await gateway.nowpayments.pay(rows[0]!.provider_invoice_id);
      await gateway.settle();
      const links = dms(buyer.id).filter((dm) => dm.text.startsWith('🎁 Your gift'));
      expect(links).toHaveLength(1);
      const code = /start=g_([A-Za-z0-9_-]{32})/.exec(links.at(-1)!.text)?.[1];
      if (!code) throw new Error('no claim link in the DM');
      const { rows: gifts } = await db().query<{ id: string; payment_id: string; status: string }>(
        `SELECT id, payment_id, status FROM gifts WHERE buyer_telegram_user_id = $1 ORDER BY created_at DESC LIMIT 1`,
        [buyer.id],
      );
      expect(gifts[0]?.status).toBe('pending');
      return { code, giftId: gifts[0]!.id, paymentId: gifts[0]!.payment_id };
    }

    it('books the payment like any other, gives the buyer no access, and is claimed once when two people claim it at once', async () => {
      const buyer = newSubscriber(gateway);
      const { code, giftId, paymentId } = await buyGift(buyer);
      // Booked like any payment: one settlement transaction; the owner's share on their balance.
      const { rows: ledger } = await db().query(`SELECT kind FROM ledger_transactions WHERE payment_id = $1`, [paymentId]);
      expect(ledger).toEqual([{ kind: 'payment_settled' }]);
      expect((await db().query('SELECT 1 FROM subscriptions WHERE telegram_user_id = $1', [buyer.id])).rows).toEqual([]);
      // The code is stored only as its hash.
      const { rows: stored } = await db().query<{ claim_code_hash: Buffer }>('SELECT claim_code_hash FROM gifts WHERE id = $1', [giftId]);
      expect(stored[0]!.claim_code_hash).toHaveLength(32);
      expect(stored[0]!.claim_code_hash.toString('utf8')).not.toContain(code);

      // The buyer may not claim their own gift.
      await gateway.telegram.sendText(buyer.id, `/start g_${code}`);
      expect(last(buyer.id)?.text).toMatch(/your own gift/);

      const [alice, bob] = [newSubscriber(gateway), newSubscriber(gateway)];
      for (const user of [alice, bob]) {
        await gateway.telegram.sendText(user.id, `/start g_${code}`);
        expect(last(user.id)?.text).toMatch(/gives you 30 days of <b>Premium &lt;Club&gt;<\/b>/);
      }
      const claims = await Promise.all(
        [alice, bob, alice, bob].map((user) => gateway.telegram.clickButton(user.id, last(user.id)!.messageId, buttonData(last(user.id), /Claim/))),
      );
      expect(claims).toEqual([200, 200, 200, 200]);
      await gateway.settle();

      const { rows: gift } = await db().query<{ status: string; claimed_by_telegram_user_id: bigint }>('SELECT status, claimed_by_telegram_user_id FROM gifts WHERE id = $1', [giftId]);
      expect(gift[0]?.status).toBe('claimed');
      const winner = BigInt(gift[0]!.claimed_by_telegram_user_id) === BigInt(alice.id) ? alice : bob;
      const loser = winner === alice ? bob : alice;
      const { rows: periods } = await db().query<{ telegram_user_id: bigint }>(
        'SELECT s.telegram_user_id FROM subscription_periods p JOIN subscriptions s ON s.id = p.subscription_id WHERE p.gift_id = $1',
        [giftId],
      );
      expect(periods.map((row) => BigInt(row.telegram_user_id))).toEqual([BigInt(winner.id)]);
      const { rows: links } = await db().query<{ invite_link: string }>('SELECT invite_link FROM invite_links WHERE gift_id = $1', [giftId]);
      expect(links).toHaveLength(1);
      expect(dms(winner.id).filter((dm) => dm.text.includes(links[0]!.invite_link))).toHaveLength(1);
      expect(dms(winner.id).filter((dm) => dm.text.startsWith('🎉 The gift is yours'))).toHaveLength(1);
      expect((await db().query('SELECT 1 FROM subscriptions WHERE telegram_user_id = $1', [loser.id])).rows).toEqual([]);
      expect(answers().some((answer) => /already been claimed/.test(answer.text ?? ''))).toBe(true);

      await gateway.telegram.sendText(buyer.id, '/gifts');
      expect(last(buyer.id)?.text).toContain('claimed by Fan');
    });

    it('sends a working claim link after Telegram failed the first DM (the code is made again, the first one never left)', async () => {
      const buyer = newSubscriber(gateway);
      const offer = await offerTo(buyer.id);
      await gateway.telegram.clickButton(buyer.id, offer.messageId, buttonData(offer, /Gift tier 1/));
      const { rows } = await db().query<{ provider_invoice_id: string }>(
        `SELECT provider_invoice_id FROM checkouts WHERE telegram_user_id = $1 AND status = 'open' AND is_gift`,
        [buyer.id],
      );
      // Every DM of this settlement fails once (the owner's notice and the buyer's link alike): each is redelivered.
      gateway.telegram.failNext('sendMessage', { errorCode: 502, description: 'Bad Gateway' }, 2);
      await gateway.nowpayments.pay(rows[0]!.provider_invoice_id);
      await gateway.settle();
      const links = dms(buyer.id).filter((dm) => dm.text.startsWith('🎁 Your gift'));
      expect(links).toHaveLength(1);
      const code = /start=g_([A-Za-z0-9_-]{32})/.exec(links[0]!.text)?.[1];
      const friend = newSubscriber(gateway);
      await gateway.telegram.sendText(friend.id, `/start g_${code}`);
      await gateway.telegram.clickButton(friend.id, last(friend.id)!.messageId, buttonData(last(friend.id), /Claim/));
      await gateway.settle();
      expect(dms(friend.id).filter((dm) => dm.text.startsWith('🎉 The gift is yours'))).toHaveLength(1);
    });

    it('stacks on the claimer’s running subscription', async () => {
      const buyer = newSubscriber(gateway);
      const { code, giftId } = await buyGift(buyer);
      const member = newSubscriber(gateway);
      const trialOffer = await offerTo(member.id);
      await gateway.telegram.clickButton(member.id, trialOffer.messageId, buttonData(trialOffer, /Try 7 days free/));
      await gateway.settle();
      const { rows: before } = await db().query<{ expires_at: Date }>('SELECT expires_at FROM subscriptions WHERE telegram_user_id = $1', [member.id]);
      await gateway.telegram.sendText(member.id, `/start g_${code}`);
      await gateway.telegram.clickButton(member.id, last(member.id)!.messageId, buttonData(last(member.id), /Claim/));
      await gateway.settle();
      const { rows: after } = await db().query<{ expires_at: Date }>('SELECT expires_at FROM subscriptions WHERE telegram_user_id = $1', [member.id]);
      expect(after[0]!.expires_at.getTime() - before[0]!.expires_at.getTime()).toBe(30 * DAY_MS);
      expect((await db().query(`SELECT status FROM gifts WHERE id = $1`, [giftId])).rows).toEqual([{ status: 'claimed' }]);
    });

    it('expires unclaimed after 30 days; the buyer is told once and it can no longer be claimed', async () => {
      const buyer = newSubscriber(gateway);
      const { code, giftId } = await buyGift(buyer);
      clock.set(new Date(clock.now().getTime() + 29 * DAY_MS));
      await tick();
      expect((await db().query(`SELECT status FROM gifts WHERE id = $1`, [giftId])).rows).toEqual([{ status: 'pending' }]);

      clock.set(new Date(clock.now().getTime() + 1 * DAY_MS + HOUR_MS));
      await tick();
      await tick();
      expect((await db().query(`SELECT status FROM gifts WHERE id = $1`, [giftId])).rows).toEqual([{ status: 'expired' }]);
      const told = dms(buyer.id).filter((dm) => dm.text.startsWith('⌛ Your gift'));
      expect(told).toHaveLength(1);
      expect(told[0]!.text).toContain('not refunded');

      const late = newSubscriber(gateway);
      await gateway.telegram.sendText(late.id, `/start g_${code}`);
      expect(last(late.id)?.text).toMatch(/has expired/);
      await gateway.telegram.sendText(buyer.id, '/gifts');
      expect(last(buyer.id)?.text).toContain('expired unclaimed');
      clock.set(new Date());
    });
  });
});
