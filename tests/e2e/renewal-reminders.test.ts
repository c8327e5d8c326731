import { Api } from 'grammy';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPublicId } from '../../shared/ids/index.js';
import { formatUtc } from '../../shared/clock/index.js';
import { subscribeStartPayload } from '../../shared/telegram/deep-links.js';
import { type FakeClock, createFakeClock } from '../../shared/testing/fakes/clock.js';
import type { SimulatedMessage } from '../../shared/testing/simulators/telegram-simulator.js';
import { newSubscriber, seedChannel, startTestGateway, type SeededChannel, type TestGateway } from './gateway-harness.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

type Button = InlineKeyboardButton & { callback_data?: string; url?: string };
const buttonsOf = (message: SimulatedMessage | undefined): Button[] =>
  ((message?.replyMarkup as InlineKeyboardMarkup | undefined)?.inline_keyboard ?? []).flat() as Button[];
const isReminder = (message: SimulatedMessage) => message.text.startsWith('⏰');

/**
 * Renewal reminders, the Renew and "Turn off reminders" buttons and the grace period, through the
 * whole gateway on a simulated clock: the bot (telegram-webhook), NowPayments, settle-payment,
 * remind-subscribers and expire-subscriptions. Every message is delivered twice at the same moment,
 * and every scheduler tick is published twice at once, as two overlapping Cloud Scheduler runs would.
 */
describe('renewal reminders and the grace period, end to end', () => {
  let gateway: TestGateway;
  let clock: FakeClock;
  let channel: SeededChannel;

  beforeAll(async () => {
    clock = createFakeClock(new Date());
    gateway = await startTestGateway({ deliverTwice: 'concurrently', clock });
    channel = await seedChannel(gateway, { strategy: 'threshold', priceCents: 1999n, days: 30 });
  });
  afterAll(() => gateway?.stop());

  const db = () => gateway.testDb.db;
  const dms = (userId: number) => gateway.telegram.messagesTo(userId);
  const last = (userId: number) => dms(userId).at(-1);
  const lastAnswer = () => gateway.telegram.callsTo('answerCallbackQuery').at(-1)?.payload;

  /** Two overlapping runs of each scheduled job, then everything they set off. */
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

  /** Pays the checkout the bot showed last (its Pay button's invoice) and lets settlement finish. */
  async function payLastCheckout(userId: number): Promise<{ price_cents: bigint }> {
    const { rows } = await db().query<{ provider_invoice_id: string; price_cents: bigint }>(
      `SELECT provider_invoice_id, price_cents FROM checkouts WHERE telegram_user_id = $1 AND status = 'open' AND provider_invoice_url = $2`,
      [userId, buttonsOf(last(userId))[0]?.url],
    );
    expect(rows).toHaveLength(1);
    await gateway.nowpayments.pay(rows[0]!.provider_invoice_id);
    await gateway.settle();
    return rows[0]!;
  }

  /** A subscriber who opened the tier's subscribe link, paid, and joined with their invite. */
  async function subscribed(onChannel: SeededChannel): Promise<{ id: number; subscriptionId: string; expiresAt: Date }> {
    const fan = newSubscriber(gateway);
    expect(await gateway.telegram.sendText(fan.id, `/start ${subscribeStartPayload(onChannel.channelId, 1)}`)).toBe(200);
    expect(buttonsOf(last(fan.id)).map((button) => button.text)).toEqual(['💳 Pay $19.99', '🔄 Check payment']);
    await payLastCheckout(fan.id);
    const { rows } = await db().query<{ id: string; expires_at: Date; invite_link: string }>(
      `SELECT s.id, s.expires_at, l.invite_link FROM subscriptions s JOIN invite_links l ON l.subscription_id = s.id
        WHERE s.telegram_user_id = $1 AND s.channel_id = $2`,
      [fan.id, onChannel.channelId],
    );
    expect(rows).toHaveLength(1);
    expect(await gateway.telegram.joinWithInviteLink(fan.id, rows[0]!.invite_link)).toMatchObject({ joined: true });
    return { id: fan.id, subscriptionId: rows[0]!.id, expiresAt: rows[0]!.expires_at };
  }

  const atOffset = (expiresAt: Date, offsetMs: number) => clock.set(new Date(expiresAt.getTime() + offsetMs));

  it('sends exactly the three reminders of a period over three days of ticks, then removes the member at the end', async () => {
    const fan = await subscribed(channel);
    // Ticks every two hours across the last three days, and on either side of each reminder's moment.
    const offsets = new Set<number>();
    for (let offset = -3 * DAY_MS - 2 * HOUR_MS; offset <= 2 * HOUR_MS; offset += 2 * HOUR_MS) offsets.add(offset);
    for (const moment of [-3 * DAY_MS, -DAY_MS, -HOUR_MS]) for (const delta of [-MINUTE_MS, 0, 5 * MINUTE_MS]) offsets.add(moment + delta);
    const reminderCounts: number[] = [];
    for (const offset of [...offsets].sort((a, b) => a - b)) {
      atOffset(fan.expiresAt, offset);
      await tick();
      reminderCounts.push(dms(fan.id).filter(isReminder).length);
    }

    const reminders = dms(fan.id).filter(isReminder);
    expect(reminders.map((dm) => /ends in ([^,]+), on (.+)\./.exec(dm.text)?.slice(1))).toEqual([
      ['3 days', formatUtc(fan.expiresAt)],
      ['1 day', formatUtc(fan.expiresAt)],
      ['1 hour', formatUtc(fan.expiresAt)],
    ]);
    // Each arrived at its moment, not a tick later.
    const sorted = [...offsets].sort((a, b) => a - b);
    expect(reminderCounts[sorted.indexOf(-3 * DAY_MS)]).toBe(1);
    expect(reminderCounts[sorted.indexOf(-DAY_MS)]).toBe(2);
    expect(reminderCounts[sorted.indexOf(-HOUR_MS)]).toBe(3);
    expect(reminderCounts[sorted.indexOf(-HOUR_MS - MINUTE_MS)]).toBe(2);

    // Access ended with no grace period: removed at the first tick after expires_at, told once.
    const { rows } = await db().query<{ status: string; removed_at: Date | null }>('SELECT status, removed_at FROM subscriptions WHERE id = $1', [fan.subscriptionId]);
    expect(rows[0]?.status).toBe('expired');
    expect(gateway.telegram.memberStatus(channel.closedChatId, fan.id)).toBe('left');
    expect(dms(fan.id).filter((dm) => dm.text.startsWith('⌛'))).toHaveLength(1);
    expect(dms(fan.id).some((dm) => dm.text.includes('You stay in the channel'))).toBe(false);
    const { rows: notices } = await db().query<{ kind: string; reminder_offset: string | null; status: string }>(
      'SELECT kind, reminder_offset, status FROM subscriber_notifications WHERE subscription_id = $1 ORDER BY created_at',
      [fan.subscriptionId],
    );
    expect(notices).toEqual([
      { kind: 'renewal_reminder', reminder_offset: '3d', status: 'sent' },
      { kind: 'renewal_reminder', reminder_offset: '1d', status: 'sent' },
      { kind: 'renewal_reminder', reminder_offset: '1h', status: 'sent' },
      { kind: 'subscription_expired', reminder_offset: null, status: 'sent' },
    ]);
  });

  it('renews from the first reminder’s button at today’s price, stacked onto the current period, and sends no more reminders for the old end', async () => {
    const fan = await subscribed(channel);
    atOffset(fan.expiresAt, -3 * DAY_MS + MINUTE_MS);
    await tick();
    const reminder = last(fan.id);
    expect(reminder && isReminder(reminder)).toBe(true);
    const renew = buttonsOf(reminder).find((button) => button.text === '🔁 Renew');
    expect(renew?.callback_data).toBe(`rt1:${formatPublicId('channel', channel.channelId)}:1`);

    // The owner raised the price since: the renewal costs today's price.
    await db().query('UPDATE channel_tiers SET price_cents = 2499 WHERE channel_id = $1 AND tier_number = 1', [channel.channelId]);
    try {
      expect(await gateway.telegram.clickButton(fan.id, reminder!.messageId, renew!.callback_data!)).toBe(200);
      expect(last(fan.id)?.text).toContain('Tier 1 · 30 days');
      expect(buttonsOf(last(fan.id))[0]?.text).toBe('💳 Pay $24.99');
      expect((await payLastCheckout(fan.id)).price_cents).toBe(2499n);
    } finally {
      await db().query('UPDATE channel_tiers SET price_cents = 1999 WHERE channel_id = $1 AND tier_number = 1', [channel.channelId]);
    }

    const renewedUntil = new Date(fan.expiresAt.getTime() + 30 * DAY_MS);
    const { rows } = await db().query<{ expires_at: Date; status: string }>('SELECT expires_at, status FROM subscriptions WHERE id = $1', [fan.subscriptionId]);
    expect(rows[0]).toEqual({ expires_at: renewedUntil, status: 'active' });
    const { rows: periods } = await db().query<{ starts_at: Date; ends_at: Date }>(
      'SELECT starts_at, ends_at FROM subscription_periods WHERE subscription_id = $1 ORDER BY starts_at',
      [fan.subscriptionId],
    );
    expect(periods.at(-1)).toEqual({ starts_at: fan.expiresAt, ends_at: renewedUntil });

    for (const offset of [-DAY_MS, -HOUR_MS, MINUTE_MS, HOUR_MS]) {
      atOffset(fan.expiresAt, offset);
      await tick();
    }
    expect(dms(fan.id).filter(isReminder)).toHaveLength(1);
    expect(gateway.telegram.memberStatus(channel.closedChatId, fan.id)).toBe('member');

    // The new end gets its own reminders.
    atOffset(renewedUntil, -3 * DAY_MS);
    await tick();
    expect(dms(fan.id).filter(isReminder).map((dm) => dm.text)).toEqual([
      expect.stringContaining(`ends in 3 days, on ${formatUtc(fan.expiresAt)}`),
      expect.stringContaining(`ends in 3 days, on ${formatUtc(renewedUntil)}`),
    ]);
  });

  it('stops the reminders of a subscription whose subscriber pressed "Turn off reminders", renewals included', async () => {
    const fan = await subscribed(channel);
    atOffset(fan.expiresAt, -3 * DAY_MS);
    await tick();
    const reminder = last(fan.id)!;
    const off = buttonsOf(reminder).find((button) => button.text === '🔕 Turn off reminders');
    expect(off?.callback_data).toBe(`ro1:${formatPublicId('subscription', fan.subscriptionId)}`);

    expect(await gateway.telegram.clickButton(fan.id, reminder.messageId, off!.callback_data!)).toBe(200);
    expect(lastAnswer()).toMatchObject({ text: 'Reminders for Premium <Club> are off. Your subscription itself is unchanged.', show_alert: true });
    // Another user pressing it (a modified client copying the button) is refused.
    const other = newSubscriber(gateway);
    await gateway.telegram.sendText(other.id, `/start ${subscribeStartPayload(channel.channelId)}`);
    const otherMessage = last(other.id)!;
    await new Api(gateway.telegram.token, { apiRoot: gateway.telegram.apiRoot }).editMessageReplyMarkup(other.id, otherMessage.messageId, {
      reply_markup: { inline_keyboard: [[{ text: 'off', callback_data: off!.callback_data! }]] },
    });
    await gateway.telegram.clickButton(other.id, otherMessage.messageId, off!.callback_data!);
    expect(lastAnswer()?.text).toBe('This button is no longer valid. Please start again.');

    // Renewed through the tier link: still off.
    await gateway.telegram.sendText(fan.id, `/start ${subscribeStartPayload(channel.channelId, 1)}`);
    await payLastCheckout(fan.id);
    const renewedUntil = new Date(fan.expiresAt.getTime() + 30 * DAY_MS);
    for (const at of [fan.expiresAt.getTime() - DAY_MS, fan.expiresAt.getTime() - HOUR_MS, renewedUntil.getTime() - DAY_MS, renewedUntil.getTime() - HOUR_MS]) {
      clock.set(new Date(at));
      await tick();
    }
    expect(dms(fan.id).filter(isReminder)).toHaveLength(1);
  });

  it('shows the channel’s tiers for a tier link or a Renew button whose tier is no longer offered', async () => {
    const fan = await subscribed(channel);
    atOffset(fan.expiresAt, -DAY_MS);
    await tick();
    const reminder = last(fan.id)!;
    await db().query(`INSERT INTO channel_tiers (channel_id, tier_number, price_cents, duration_days) VALUES ($1, 2, 4999, 90)`, [channel.channelId]);
    await db().query('UPDATE channel_tiers SET is_active = false WHERE channel_id = $1 AND tier_number = 1', [channel.channelId]);
    try {
      const tierTwoOnly = [
        ['Tier 2 · 90 days · $49.99', `t1:${formatPublicId('channel', channel.channelId)}:2`],
        ['🎁 Gift tier 2', `gt1:${formatPublicId('channel', channel.channelId)}:2`],
      ];
      const renew = buttonsOf(reminder).find((button) => button.text === '🔁 Renew')!;
      expect(await gateway.telegram.clickButton(fan.id, reminder.messageId, renew.callback_data!)).toBe(200);
      expect(last(fan.id)?.text).toContain('Choose your subscription:');
      expect(buttonsOf(last(fan.id)).map((button) => [button.text, button.callback_data])).toEqual(tierTwoOnly);

      await gateway.telegram.sendText(fan.id, `/start ${subscribeStartPayload(channel.channelId, 1)}`);
      expect(buttonsOf(last(fan.id)).map((button) => [button.text, button.callback_data])).toEqual(tierTwoOnly);
      await gateway.telegram.sendText(fan.id, `/start ${subscribeStartPayload(channel.channelId, 2)}`);
      expect(buttonsOf(last(fan.id))[0]?.text).toBe('💳 Pay $49.99');
    } finally {
      await db().query('UPDATE channel_tiers SET is_active = (tier_number = 1) WHERE channel_id = $1', [channel.channelId]);
    }
  });

  it('keeps a member through the grace period, tells them until when, and removes them when it is over', async () => {
    const graced = await seedChannel(gateway, { strategy: 'threshold', priceCents: 1999n, days: 30 });
    await db().query('UPDATE channels SET grace_period_hours = 24 WHERE id = $1', [graced.channelId]);
    const fan = await subscribed(graced);
    const staysUntil = new Date(fan.expiresAt.getTime() + DAY_MS);

    atOffset(fan.expiresAt, MINUTE_MS);
    await tick();
    expect(gateway.telegram.memberStatus(graced.closedChatId, fan.id)).toBe('member');
    const notices = dms(fan.id).filter((dm) => dm.text.includes('You stay in the channel'));
    expect(notices).toHaveLength(1);
    expect(notices[0]?.text).toContain(`ended on ${formatUtc(fan.expiresAt)}`);
    expect(notices[0]?.text).toContain(`You stay in the channel until ${formatUtc(staysUntil)}.`);
    expect(buttonsOf(notices[0]).map((button) => button.callback_data)).toEqual([`rt1:${formatPublicId('channel', graced.channelId)}:1`]);

    atOffset(staysUntil, -MINUTE_MS);
    await tick();
    expect(gateway.telegram.memberStatus(graced.closedChatId, fan.id)).toBe('member');
    expect(gateway.telegram.callsTo('banChatMember').filter((call) => Number(call.payload.user_id) === fan.id)).toEqual([]);

    atOffset(staysUntil, 0);
    await tick();
    expect(gateway.telegram.memberStatus(graced.closedChatId, fan.id)).toBe('left');
    expect(gateway.telegram.callsTo('banChatMember').filter((call) => Number(call.payload.user_id) === fan.id)).toHaveLength(1);
    expect(dms(fan.id).filter((dm) => dm.text.includes('You stay in the channel'))).toHaveLength(1);
    expect(last(fan.id)?.text).toContain(`ended on ${formatUtc(fan.expiresAt)}. Renew any time`);

    const { rows: deadLetters } = await db().query('SELECT source, reason_code FROM dead_letters');
    expect(deadLetters).toEqual([]);
  });
});
