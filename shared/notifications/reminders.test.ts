import type { Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatPublicId } from '../ids/index.js';
import { createLogger } from '../logging/index.js';
import { createBotApi } from '../telegram/index.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, hasPostgresServer, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertCheckout, insertPayment, insertTelegramUser, insertTier } from '../testing/fixtures.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import { extendSubscription } from '../subscriptions/extend.js';
import { formatUtc } from '../clock/index.js';
import { NOTICE_LEASE_MS } from './notice-claims.js';
import { turnOffRenewalReminders } from '../subscriptions/reminder-opt-out.js';
import { type ReminderDeps, type ReminderReport, reminderDedupeKey, sendRenewalReminders } from './reminders.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

let testDb: TestDatabase;
let clock: FakeClock;
let telegram: TelegramSimulator;
let api: Api;
let deps: ReminderDeps;
let nextUserId = 850_000_000;

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock(FIXTURE_NOW);
  telegram = await startTelegramSimulator({ clock });
  api = createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot });
  deps = { db: testDb.db, clock, logger: createLogger({ write: () => undefined }), telegram: api };
});
afterAll(async () => {
  await telegram?.close();
  await testDb?.dispose();
});
beforeEach(() => clock.set(FIXTURE_NOW));
// Every run looks at the whole table: retire what a test left, so the next one starts clean.
afterEach(async () => {
  await testDb.db.query(`UPDATE subscriptions SET status = 'expired', expired_at = expires_at WHERE status = 'active'`);
  await testDb.db.query(`UPDATE subscriber_notifications SET status = 'failed', last_error = 'test over' WHERE status = 'pending'`);
});

interface Subscriber {
  userId: number;
  channelId: string;
  tierId: string;
  subscriptionId: string;
  expiresAt: Date;
  /** Another settled payment of the same tier, applied at the clock's now; returns the new expiry. */
  renew(): Promise<Date>;
}

/**
 * A subscriber who paid for a tier of `days` at the clock's now (a real checkout, payment and period,
 * as settlement records them), on a channel with `graceHours`.
 */
async function subscriber(options: { days?: number; tierNumber?: number; title?: string; languageCode?: string; graceHours?: number } = {}): Promise<Subscriber> {
  const db = testDb.db;
  const userId = nextUserId++;
  await insertTelegramUser(db, { id: BigInt(userId) });
  if (options.languageCode) await db.query('UPDATE telegram_users SET language_code = $2 WHERE id = $1', [userId, options.languageCode]);
  telegram.addUser({ id: userId, first_name: 'Fan' });
  const channel = await insertChannel(db);
  await db.query('UPDATE channels SET closed_title = $2, grace_period_hours = $3 WHERE id = $1', [channel.id, options.title ?? 'Premium Club', options.graceHours ?? 0]);
  const tier = await insertTier(db, { channelId: channel.id, tierNumber: options.tierNumber ?? 2, durationDays: options.days ?? 30 });
  const pay = async (): Promise<{ subscriptionId: string; expiresAt: Date }> => {
    const checkout = await insertCheckout(db, { telegramUserId: BigInt(userId), channelId: channel.id, tierId: tier.id, status: 'paid' });
    const payment = await insertPayment(db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
    return db.transaction((tx) =>
      extendSubscription(tx, { telegramUserId: BigInt(userId), channelId: channel.id, paymentId: payment.id, durationDays: tier.durationDays, now: clock.now() }),
    );
  };
  const first = await pay();
  return { userId, channelId: channel.id, tierId: tier.id, subscriptionId: first.subscriptionId, expiresAt: first.expiresAt, renew: async () => (await pay()).expiresAt };
}

const at = (date: Date, offsetMs: number) => clock.set(new Date(date.getTime() + offsetMs));
const run = () => sendRenewalReminders(deps);
const dmsTo = (userId: number) => telegram.messagesTo(userId);
const keyboardOf = (userId: number, index = -1) => (dmsTo(userId).at(index)?.replyMarkup as InlineKeyboardMarkup | undefined)?.inline_keyboard;
const nothing: ReminderReport = { reminded: 0, graceNotices: 0, unreachable: 0, retrying: 0, closed: 0 };

async function notificationsOf(subscriptionId: string) {
  const { rows } = await testDb.db.query<{ kind: string; status: string; reminder_offset: string | null; reminder_for_expires_at: Date | null; dedupe_key: string; last_error: string | null }>(
    `SELECT kind, status, reminder_offset, reminder_for_expires_at, dedupe_key, last_error FROM subscriber_notifications
      WHERE subscription_id = $1 ORDER BY created_at, reminder_offset`,
    [subscriptionId],
  );
  return rows;
}

describe('renewal reminders', () => {
  it('sends the three reminders of a period once each, at 3 days, 1 day and 1 hour before its end', async () => {
    const fan = await subscriber({ title: 'Tips & <Tricks>' });

    at(fan.expiresAt, -3 * DAY_MS - MINUTE_MS);
    expect(await run()).toEqual(nothing);
    at(fan.expiresAt, -3 * DAY_MS);
    expect(await run()).toEqual({ ...nothing, reminded: 1 });
    expect(await run()).toEqual(nothing);

    const [first] = dmsTo(fan.userId);
    expect(first?.parseMode).toBe('HTML');
    expect(first?.text).toBe(
      `⏰ Your subscription to <b>Tips &amp; &lt;Tricks&gt;</b> ends in 3 days, on ${formatUtc(fan.expiresAt)}.\n` +
        'Renew now: the new period starts when this one ends, so you lose nothing.',
    );
    expect(keyboardOf(fan.userId)).toEqual([
      [{ text: '🔁 Renew', callback_data: `rt1:${formatPublicId('channel', fan.channelId)}:2` }],
      [{ text: '🔕 Turn off reminders', callback_data: `ro1:${formatPublicId('subscription', fan.subscriptionId)}` }],
    ]);

    at(fan.expiresAt, -DAY_MS + MINUTE_MS);
    expect(await run()).toEqual({ ...nothing, reminded: 1 });
    at(fan.expiresAt, -HOUR_MS + 4 * MINUTE_MS);
    expect(await run()).toEqual({ ...nothing, reminded: 1 });
    at(fan.expiresAt, -MINUTE_MS);
    expect(await run()).toEqual(nothing);
    at(fan.expiresAt, MINUTE_MS);
    expect(await run()).toEqual(nothing);

    expect(dmsTo(fan.userId).map((dm) => /ends in ([^,]+),/.exec(dm.text)?.[1])).toEqual(['3 days', '1 day', '1 hour']);
    expect(await notificationsOf(fan.subscriptionId)).toEqual(
      (['3d', '1d', '1h'] as const).map((offset) => ({
        kind: 'renewal_reminder',
        status: 'sent',
        reminder_offset: offset,
        reminder_for_expires_at: fan.expiresAt,
        dedupe_key: reminderDedupeKey(fan.subscriptionId, fan.expiresAt, offset),
        last_error: null,
      })),
    );
  });

  it('skips a reminder a later one overtook: first run within a day of the end sends only the 1-day one', async () => {
    const fan = await subscriber();
    at(fan.expiresAt, -20 * HOUR_MS);
    expect(await run()).toEqual({ ...nothing, reminded: 1 });
    at(fan.expiresAt, -30 * MINUTE_MS);
    expect(await run()).toEqual({ ...nothing, reminded: 1 });
    expect((await notificationsOf(fan.subscriptionId)).map((row) => row.reminder_offset)).toEqual(['1d', '1h']);
  });

  it('sends no reminder whose moment lies before the period began: a 1-day tier gets only the 1-hour one, a 3-day tier none at purchase', async () => {
    const daily = await subscriber({ days: 1 });
    const threeDays = await subscriber({ days: 3 });
    expect(await run()).toEqual(nothing);
    at(FIXTURE_NOW, 5 * MINUTE_MS);
    expect(await run()).toEqual(nothing);

    at(daily.expiresAt, -HOUR_MS);
    expect(await run()).toEqual({ ...nothing, reminded: 1 });
    expect((await notificationsOf(daily.subscriptionId)).map((row) => row.reminder_offset)).toEqual(['1h']);
    at(threeDays.expiresAt, -DAY_MS);
    await run();
    expect((await notificationsOf(threeDays.subscriptionId)).map((row) => row.reminder_offset)).toEqual(['1d']);
  });

  it('starts afresh for the new end after a renewal: nothing more for the old one', async () => {
    const fan = await subscriber();
    at(fan.expiresAt, -3 * DAY_MS);
    await run();
    const renewedUntil = await fan.renew();
    expect(renewedUntil).toEqual(new Date(fan.expiresAt.getTime() + 30 * DAY_MS));

    for (const offset of [-DAY_MS, -HOUR_MS, MINUTE_MS]) {
      at(fan.expiresAt, offset);
      expect(await run()).toEqual(nothing);
    }
    at(renewedUntil, -3 * DAY_MS);
    expect(await run()).toEqual({ ...nothing, reminded: 1 });
    expect((await notificationsOf(fan.subscriptionId)).map((row) => [row.reminder_offset, row.reminder_for_expires_at])).toEqual([
      ['3d', fan.expiresAt],
      ['3d', renewedUntil],
    ]);
  });

  it('stays silent once the subscriber turned reminders off, also after a renewal; only their own subscription', async () => {
    const fan = await subscriber();
    const other = await subscriber();
    expect(await turnOffRenewalReminders(deps, fan.subscriptionId, BigInt(other.userId))).toBeUndefined();
    expect(await turnOffRenewalReminders(deps, fan.subscriptionId, BigInt(fan.userId))).toEqual({ title: 'Premium Club' });
    expect(await turnOffRenewalReminders(deps, fan.subscriptionId, BigInt(fan.userId))).toEqual({ title: 'Premium Club' });

    at(fan.expiresAt, -3 * DAY_MS);
    expect(await run()).toEqual({ ...nothing, reminded: 1 }); // the other subscriber's
    const renewedUntil = await fan.renew();
    at(renewedUntil, -DAY_MS);
    await run();
    expect(dmsTo(fan.userId)).toEqual([]);
    expect(await notificationsOf(fan.subscriptionId)).toEqual([]);
    const { rows } = await testDb.db.query<{ renewal_reminders_enabled: boolean }>('SELECT renewal_reminders_enabled FROM subscriptions WHERE id = $1', [
      other.subscriptionId,
    ]);
    expect(rows[0]?.renewal_reminders_enabled).toBe(true);
  });

  it('sends nothing to a subscriber who blocked the bot, nor for a channel that is paused', async () => {
    const blocked = await subscriber();
    const paused = await subscriber();
    await testDb.db.query('UPDATE telegram_users SET dm_blocked_at = $2 WHERE id = $1', [blocked.userId, FIXTURE_NOW]);
    await testDb.db.query(`UPDATE channels SET status = 'paused' WHERE id = $1`, [paused.channelId]);
    at(blocked.expiresAt, -3 * DAY_MS);
    expect(await run()).toEqual(nothing);
    expect(telegram.callsTo('sendMessage').filter((call) => [blocked.userId, paused.userId].includes(Number(call.payload.chat_id)))).toEqual([]);
  });

  it('records a 403 "blocked" as failed, marks the user and does not try again', async () => {
    const fan = await subscriber();
    telegram.blockBot(fan.userId);
    at(fan.expiresAt, -3 * DAY_MS);
    expect(await run()).toEqual({ ...nothing, unreachable: 1 });
    at(fan.expiresAt, -3 * DAY_MS + NOTICE_LEASE_MS + MINUTE_MS);
    expect(await run()).toEqual(nothing);
    at(fan.expiresAt, -DAY_MS);
    expect(await run()).toEqual(nothing);

    expect(telegram.callsTo('sendMessage').filter((call) => Number(call.payload.chat_id) === fan.userId)).toHaveLength(1);
    expect(await notificationsOf(fan.subscriptionId)).toEqual([expect.objectContaining({ reminder_offset: '3d', status: 'failed', last_error: 'telegram_user_unreachable' })]);
    const { rows } = await testDb.db.query<{ dm_blocked_at: Date | null }>('SELECT dm_blocked_at FROM telegram_users WHERE id = $1', [fan.userId]);
    expect(rows[0]?.dm_blocked_at).toEqual(new Date(fan.expiresAt.getTime() - 3 * DAY_MS));
  });

  it('retries a reminder Telegram failed to take, after the lease, once', async () => {
    const fan = await subscriber();
    telegram.failNext('sendMessage', { errorCode: 500, description: 'Internal Server Error' });
    at(fan.expiresAt, -3 * DAY_MS);
    expect(await run()).toEqual({ ...nothing, retrying: 1 });
    expect(await notificationsOf(fan.subscriptionId)).toEqual([expect.objectContaining({ status: 'pending', last_error: 'telegram_unavailable' })]);

    at(fan.expiresAt, -3 * DAY_MS + NOTICE_LEASE_MS - 1000);
    expect(await run()).toEqual(nothing);
    at(fan.expiresAt, -3 * DAY_MS + 5 * MINUTE_MS);
    expect(await run()).toEqual({ ...nothing, reminded: 1 });
    expect(dmsTo(fan.userId)).toHaveLength(1);
    expect(await notificationsOf(fan.subscriptionId)).toEqual([expect.objectContaining({ status: 'sent', last_error: null })]);
  });

  it('closes a reminder left pending that a renewal made pointless, and sends the next one when due', async () => {
    const fan = await subscriber();
    telegram.failNext('sendMessage', { errorCode: 502, description: 'Bad Gateway' });
    at(fan.expiresAt, -3 * DAY_MS);
    await run();
    const renewedUntil = await fan.renew();
    at(fan.expiresAt, -3 * DAY_MS + 5 * MINUTE_MS);
    expect(await run()).toEqual({ ...nothing, closed: 1 });
    expect(await notificationsOf(fan.subscriptionId)).toEqual([expect.objectContaining({ reminder_offset: '3d', status: 'failed', last_error: 'reminder_obsolete' })]);
    expect(dmsTo(fan.userId)).toEqual([]);
    at(renewedUntil, -3 * DAY_MS);
    expect(await run()).toEqual({ ...nothing, reminded: 1 });
  });

  it('offers the channel’s tiers when the tier last paid for is no longer offered', async () => {
    const fan = await subscriber();
    await testDb.db.query('UPDATE channel_tiers SET is_active = false WHERE id = $1', [fan.tierId]);
    at(fan.expiresAt, -DAY_MS);
    await run();
    expect(keyboardOf(fan.userId)?.[0]).toEqual([{ text: '🔁 Renew', callback_data: `r1:${formatPublicId('channel', fan.channelId)}` }]);
  });

  it('speaks Russian to a subscriber whose Telegram is in Russian', async () => {
    const fan = await subscriber({ languageCode: 'ru', title: 'Клуб' });
    at(fan.expiresAt, -HOUR_MS);
    await run();
    expect(dmsTo(fan.userId)[0]?.text).toBe(
      `⏰ Ваша подписка на <b>Клуб</b> заканчивается через 1 час, ${formatUtc(fan.expiresAt)}.\n` +
        'Продлите сейчас: новый период начнётся, когда закончится текущий, — вы ничего не потеряете.',
    );
    expect(keyboardOf(fan.userId)?.flat().map((button) => button.text)).toEqual(['🔁 Продлить', '🔕 Отключить напоминания']);
  });

  describe.skipIf(!hasPostgresServer)('runs at the same moment [skipped: needs DATABASE_URL]', () => {
    it('send each reminder once when two runs overlap', async () => {
      const fans = await Promise.all(Array.from({ length: 6 }, () => subscriber()));
      at(fans[0]!.expiresAt, -DAY_MS);

      const reports = await Promise.all([run(), run(), run()]);

      expect(reports.reduce((sum, report) => sum + report.reminded, 0)).toBe(6);
      for (const fan of fans) {
        expect(dmsTo(fan.userId)).toHaveLength(1);
        expect(await notificationsOf(fan.subscriptionId)).toEqual([expect.objectContaining({ reminder_offset: '1d', status: 'sent' })]);
      }
    });
  });
});

describe('grace-period notices', () => {
  it('tells a member once, when access ends, until when they stay, with a Renew button', async () => {
    const fan = await subscriber({ graceHours: 24, title: 'A & B' });
    at(fan.expiresAt, -MINUTE_MS);
    await run(); // the 1-hour reminder
    const reminders = dmsTo(fan.userId).length;

    at(fan.expiresAt, 0);
    expect(await run()).toEqual({ ...nothing, graceNotices: 1 });
    at(fan.expiresAt, 5 * MINUTE_MS);
    expect(await run()).toEqual(nothing);

    const notices = dmsTo(fan.userId).slice(reminders);
    expect(notices.map((dm) => dm.text)).toEqual([
      `⌛ Your subscription to <b>A &amp; B</b> ended on ${formatUtc(fan.expiresAt)}.\n` +
        `You stay in the channel until ${formatUtc(new Date(fan.expiresAt.getTime() + DAY_MS))}. Renew before then to keep your place: the new period continues from ${formatUtc(fan.expiresAt)}.`,
    ]);
    expect(keyboardOf(fan.userId)).toEqual([[{ text: '🔁 Renew', callback_data: `rt1:${formatPublicId('channel', fan.channelId)}:2` }]]);
    expect(await notificationsOf(fan.subscriptionId)).toContainEqual(
      expect.objectContaining({
        kind: 'subscription_grace_started',
        status: 'sent',
        dedupe_key: `subscription_grace_started:${fan.subscriptionId}:${fan.expiresAt.toISOString()}`,
        reminder_offset: null,
      }),
    );
  });

  it('sends none without a grace period, none once it is over, and a new one for the next period’s end', async () => {
    const none = await subscriber({ graceHours: 0 });
    const late = await subscriber({ graceHours: 2 });
    at(none.expiresAt, 2 * HOUR_MS);
    expect(await run()).toEqual(nothing);
    expect(await notificationsOf(late.subscriptionId)).toEqual([]);

    const renewing = await subscriber({ graceHours: 48 });
    at(renewing.expiresAt, HOUR_MS);
    expect(await run()).toEqual({ ...nothing, graceNotices: 1 });
    const renewedUntil = await renewing.renew(); // in the grace period: stacks onto the lapsed end
    expect(renewedUntil).toEqual(new Date(renewing.expiresAt.getTime() + 30 * DAY_MS));
    at(renewedUntil, MINUTE_MS);
    await run();
    expect((await notificationsOf(renewing.subscriptionId)).filter((row) => row.kind === 'subscription_grace_started').map((row) => row.dedupe_key)).toEqual([
      `subscription_grace_started:${renewing.subscriptionId}:${renewing.expiresAt.toISOString()}`,
      `subscription_grace_started:${renewing.subscriptionId}:${renewedUntil.toISOString()}`,
    ]);
  });

  it('leaves the Renew button out for a channel that no longer sells', async () => {
    const fan = await subscriber({ graceHours: 24 });
    await testDb.db.query(`UPDATE channels SET status = 'paused' WHERE id = $1`, [fan.channelId]);
    at(fan.expiresAt, MINUTE_MS);
    expect(await run()).toEqual({ ...nothing, graceNotices: 1 });
    expect(dmsTo(fan.userId).at(-1)?.replyMarkup).toBeUndefined();
  });

  it('closes a notice left pending once the grace period is over', async () => {
    const fan = await subscriber({ graceHours: 1 });
    telegram.failNext('sendMessage', { errorCode: 500, description: 'Internal Server Error' });
    at(fan.expiresAt, 0);
    expect(await run()).toEqual({ ...nothing, retrying: 1 });
    at(fan.expiresAt, HOUR_MS);
    expect(await run()).toEqual({ ...nothing, closed: 1 });
    expect((await notificationsOf(fan.subscriptionId)).filter((row) => row.kind === 'subscription_grace_started')).toEqual([
      expect.objectContaining({ status: 'failed', last_error: 'grace_notice_obsolete' }),
    ]);
  });
});
