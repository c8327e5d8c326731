import type { Api } from 'grammy';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatPublicId } from '../ids/index.js';
import { createLogger } from '../logging/index.js';
import { watchStuckWork } from '../watchdog/index.js';
import { notifySubscriber } from '../notifications/index.js';
import { createBotApi } from '../telegram/index.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, hasPostgresServer, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertCheckout, insertPayment, insertSubscription, insertTelegramUser, insertTier } from '../testing/fixtures.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import { type ExpiryDeps, expireDueSubscriptions, removalRetryDelayMs } from './expiry.js';
import { extendSubscription } from './extend.js';
import { formatUtc } from '../clock/index.js';

const MINUTE_MS = 60_000;

let testDb: TestDatabase;
let clock: FakeClock;
let telegram: TelegramSimulator;
let api: Api;
let deps: ExpiryDeps;
let nextUserId = 840_000_000;

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
// Every run looks at the whole table: retire what a test left active so the next one starts clean.
afterEach(async () => {
  await testDb.db.query(`UPDATE subscriptions SET status = 'expired', expired_at = expires_at WHERE status = 'active'`);
});

interface Member {
  subscriptionId: string;
  channelId: string;
  userId: number;
  closedChatId: number;
  expiresAt: Date;
}

/**
 * A subscriber sitting in a closed channel the bot administers, whose subscription ends at
 * `expiresAt` (default: a minute ago). `inTelegram: false` leaves the user unknown to Telegram.
 */
async function member(options: { expiresAt?: Date; inTelegram?: boolean; title?: string; graceHours?: number } = {}): Promise<Member> {
  const db = testDb.db;
  const userId = nextUserId++;
  await insertTelegramUser(db, { id: BigInt(userId) });
  const channel = await insertChannel(db);
  const title = options.title ?? 'Premium Club';
  await db.query('UPDATE channels SET closed_title = $2, grace_period_hours = $3 WHERE id = $1', [channel.id, title, options.graceHours ?? 0]);
  const closedChatId = Number(channel.closedChatId);
  telegram.addChat({ id: closedChatId, type: 'channel', title });
  telegram.setBotMembership(closedChatId, 'administrator');
  if (options.inTelegram !== false) {
    telegram.addUser({ id: userId, first_name: 'Fan' });
    telegram.addMember(closedChatId, userId);
  }
  const expiresAt = options.expiresAt ?? new Date(clock.now().getTime() - MINUTE_MS);
  const subscription = await insertSubscription(db, { telegramUserId: BigInt(userId), channelId: channel.id, expiresAt });
  return { subscriptionId: subscription.id, channelId: channel.id, userId, closedChatId, expiresAt };
}

async function subscriptionRow(id: string) {
  const { rows } = await testDb.db.query<{
    status: string;
    expires_at: Date;
    expired_at: Date | null;
    removed_at: Date | null;
    removal_attempts: number;
    last_removal_error: string | null;
    next_removal_attempt_at: Date | null;
  }>(
    `SELECT status, expires_at, expired_at, removed_at, removal_attempts, last_removal_error, next_removal_attempt_at
     FROM subscriptions WHERE id = $1`,
    [id],
  );
  return rows[0];
}

async function expiryMessages(subscriptionId: string) {
  const { rows } = await testDb.db.query<{ message_id: string; payload: unknown }>(
    `SELECT message_id, payload FROM outbox WHERE topic = 'subscriber-notification-requested' AND payload->>'subjectId' = $1`,
    [subscriptionId],
  );
  return rows.map((row) => ({ messageId: row.message_id, payload: typeof row.payload === 'string' ? (JSON.parse(row.payload) as unknown) : row.payload }));
}

const callsIn = (method: string, chatId: number) => telegram.callsTo(method).filter((call) => Number(call.payload.chat_id) === chatId);
const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

describe('removalRetryDelayMs', () => {
  it.each([
    [1, 1 * MINUTE_MS],
    [2, 2 * MINUTE_MS],
    [3, 4 * MINUTE_MS],
    [6, 32 * MINUTE_MS],
    [7, 60 * MINUTE_MS],
    [50, 60 * MINUTE_MS],
  ])('waits after attempt %i for %i ms', (attempts, delayMs) => {
    expect(removalRetryDelayMs(attempts)).toBe(delayMs);
  });
});

describe('expireDueSubscriptions', () => {
  it('removes a due member once: ban with a short end, unban, mark expired, ask for the DM', async () => {
    const due = await member();

    expect(await expireDueSubscriptions(deps)).toEqual({ removed: 1, failed: 0 });

    const bans = callsIn('banChatMember', due.closedChatId);
    expect(bans).toHaveLength(1);
    expect(Number(bans[0]?.payload.user_id)).toBe(due.userId);
    const untilDate = Number(bans[0]?.payload.until_date);
    // Telegram bans for ever when until_date is less than 30 s away.
    expect(untilDate).toBeGreaterThan(nowSeconds() + 30);
    expect(untilDate).toBeLessThan(nowSeconds() + 366 * 86_400);
    const unbans = callsIn('unbanChatMember', due.closedChatId);
    expect(unbans).toHaveLength(1);
    expect(unbans[0]?.payload).toMatchObject({ user_id: due.userId, only_if_banned: true });
    expect(telegram.memberStatus(due.closedChatId, due.userId)).toBe('left');

    expect(await subscriptionRow(due.subscriptionId)).toMatchObject({
      status: 'expired',
      expires_at: due.expiresAt,
      expired_at: clock.now(),
      removed_at: clock.now(),
      last_removal_error: null,
      next_removal_attempt_at: null,
    });
    expect((await expiryMessages(due.subscriptionId)).map((message) => message.payload)).toEqual([
      { kind: 'subscription_expired', subjectId: due.subscriptionId },
    ]);

    clock.advance(10 * MINUTE_MS);
    expect(await expireDueSubscriptions(deps)).toEqual({ removed: 0, failed: 0 });
    expect(callsIn('banChatMember', due.closedChatId)).toHaveLength(1);
    expect(await expiryMessages(due.subscriptionId)).toHaveLength(1);
  });

  it('treats a subscription ending exactly now as due', async () => {
    const due = await member({ expiresAt: clock.now() });
    expect(await expireDueSubscriptions(deps)).toEqual({ removed: 1, failed: 0 });
    expect((await subscriptionRow(due.subscriptionId))?.status).toBe('expired');
  });

  it('leaves subscriptions that are not yet due alone', async () => {
    const later = await member({ expiresAt: new Date(clock.now().getTime() + MINUTE_MS) });

    expect(await expireDueSubscriptions(deps)).toEqual({ removed: 0, failed: 0 });

    expect(callsIn('banChatMember', later.closedChatId)).toEqual([]);
    expect(await subscriptionRow(later.subscriptionId)).toMatchObject({ status: 'active', removal_attempts: 0, next_removal_attempt_at: null });
    expect(telegram.memberStatus(later.closedChatId, later.userId)).toBe('member');
  });

  describe('when Telegram does not remove the member', () => {
    it.each([
      ['Telegram is down', { errorCode: 500, description: 'Internal Server Error' }, 'telegram_unavailable'],
      ['the bot lacks the right to ban', { errorCode: 400, description: 'Bad Request: not enough rights to restrict/unrestrict chat member' }, 'telegram_bad_request'],
    ])('keeps the row active and retries after the delay when %s', async (_case, failure, code) => {
      const due = await member();
      telegram.failNext('banChatMember', failure);

      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 0, failed: 1 });

      const failedAt = clock.now();
      const row = await subscriptionRow(due.subscriptionId);
      expect(row).toMatchObject({ status: 'active', expired_at: null, removed_at: null, removal_attempts: 1 });
      expect(row?.last_removal_error).toContain(code);
      expect(row?.last_removal_error).toContain(failure.description);
      expect(row?.next_removal_attempt_at).toEqual(new Date(failedAt.getTime() + removalRetryDelayMs(1)));
      expect(row!.next_removal_attempt_at!.getTime()).toBeGreaterThan(failedAt.getTime());
      expect(telegram.memberStatus(due.closedChatId, due.userId)).toBe('member');
      expect(await expiryMessages(due.subscriptionId)).toEqual([]);

      // Not before its time.
      clock.advance(removalRetryDelayMs(1) - 1000);
      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 0, failed: 0 });
      expect(callsIn('banChatMember', due.closedChatId)).toHaveLength(1);

      clock.advance(1000);
      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 1, failed: 0 });
      expect(callsIn('banChatMember', due.closedChatId)).toHaveLength(2);
      expect(telegram.memberStatus(due.closedChatId, due.userId)).toBe('left');
      expect(await subscriptionRow(due.subscriptionId)).toMatchObject({ status: 'expired', removed_at: clock.now(), last_removal_error: null, next_removal_attempt_at: null });
      expect(await expiryMessages(due.subscriptionId)).toHaveLength(1);
    });

    it('waits longer after each failed attempt', async () => {
      const due = await member();
      telegram.failNext('banChatMember', { errorCode: 500, description: 'Internal Server Error' }, 2);

      await expireDueSubscriptions(deps);
      clock.advance(removalRetryDelayMs(1));
      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 0, failed: 1 });

      const row = await subscriptionRow(due.subscriptionId);
      expect(row).toMatchObject({ status: 'active', removal_attempts: 2 });
      expect(row?.next_removal_attempt_at).toEqual(new Date(clock.now().getTime() + removalRetryDelayMs(2)));
    });

    it('counts a failed unban as a failed removal', async () => {
      const due = await member();
      telegram.failNext('unbanChatMember', { errorCode: 502, description: 'Bad Gateway' });

      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 0, failed: 1 });
      const row = await subscriptionRow(due.subscriptionId);
      expect(row).toMatchObject({ status: 'active', removal_attempts: 1 });
      expect(row?.last_removal_error).toContain('unban failed');
    });

    it('records a bot that was removed from the channel as a failure, not a removal', async () => {
      const due = await member();
      telegram.setBotMembership(due.closedChatId, 'left');

      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 0, failed: 1 });
      const row = await subscriptionRow(due.subscriptionId);
      expect(row).toMatchObject({ status: 'active', removed_at: null });
      expect(row?.last_removal_error).toContain('telegram_forbidden');
    });
  });

  describe('a member who is already gone', () => {
    it('counts a member who left the channel on their own as removed', async () => {
      const due = await member();
      await telegram.leaveChat(due.userId, due.closedChatId);

      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 1, failed: 0 });
      expect(telegram.memberStatus(due.closedChatId, due.userId)).toBe('left');
      expect((await subscriptionRow(due.subscriptionId))?.status).toBe('expired');
    });

    it('counts “user not found” as removed', async () => {
      const due = await member({ inTelegram: false });

      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 1, failed: 0 });
      expect(callsIn('banChatMember', due.closedChatId)).toEqual([expect.objectContaining({ ok: false })]);
      expect(await subscriptionRow(due.subscriptionId)).toMatchObject({ status: 'expired', removed_at: clock.now() });
      expect(await expiryMessages(due.subscriptionId)).toHaveLength(1);
    });

    it.each(['Bad Request: PARTICIPANT_ID_INVALID', 'Bad Request: USER_NOT_PARTICIPANT', 'Bad Request: user is not a member of the chat'])(
      'counts %s as removed',
      async (description) => {
        const due = await member();
        telegram.failNext('banChatMember', { errorCode: 400, description });
        expect(await expireDueSubscriptions(deps)).toEqual({ removed: 1, failed: 0 });
        expect((await subscriptionRow(due.subscriptionId))?.status).toBe('expired');
      },
    );
  });

  describe('a renewal that lands while the member is being removed', () => {
    /** An Api that runs `beforeBan` just before banChatMember reaches Telegram. */
    function apiWithBanHook(beforeBan: () => Promise<void>): Api {
      const hooked = createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot });
      hooked.config.use(async (prev, method, payload, signal) => {
        if (method === 'banChatMember') await beforeBan();
        return prev(method, payload, signal);
      });
      return hooked;
    }

    async function renew(due: Member): Promise<Date> {
      const tier = await insertTier(testDb.db, { channelId: due.channelId });
      const checkout = await insertCheckout(testDb.db, { telegramUserId: BigInt(due.userId), channelId: due.channelId, tierId: tier.id, status: 'paid' });
      const payment = await insertPayment(testDb.db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
      const extension = await testDb.db.transaction((tx) =>
        extendSubscription(tx, { telegramUserId: BigInt(due.userId), channelId: due.channelId, paymentId: payment.id, durationDays: 30, now: clock.now() }),
      );
      return extension.expiresAt;
    }

    it('does not mark the renewed subscription expired and reports it', async () => {
      const due = await member();
      let renewedUntil: Date | undefined;
      const lines: string[] = [];
      const report = await expireDueSubscriptions({
        ...deps,
        logger: createLogger({ write: (line) => lines.push(line) }),
        telegram: apiWithBanHook(async () => {
          renewedUntil = await renew(due);
        }),
      });

      expect(report).toEqual({ removed: 0, failed: 0 });
      expect(await subscriptionRow(due.subscriptionId)).toMatchObject({ status: 'active', expires_at: renewedUntil, removed_at: null });
      expect(await expiryMessages(due.subscriptionId)).toEqual([]);
      expect(lines.some((line) => line.includes('subscription.renewed_during_removal') && line.includes('CRITICAL'))).toBe(true);
    });

    it('does not write the failed removal onto the renewed period', async () => {
      const due = await member();
      telegram.failNext('banChatMember', { errorCode: 500, description: 'Internal Server Error' });

      const report = await expireDueSubscriptions({ ...deps, telegram: apiWithBanHook(async () => void (await renew(due))) });

      expect(report.failed).toBe(1);
      expect(await subscriptionRow(due.subscriptionId)).toMatchObject({
        status: 'active',
        removal_attempts: 0,
        last_removal_error: null,
        next_removal_attempt_at: null,
      });
    });
  });

  describe('with a grace period', () => {
    const HOUR_MS = 60 * MINUTE_MS;

    it('keeps the member until expires_at plus the grace period, then removes them once and asks for the DM', async () => {
      const graced = await member({ graceHours: 24 });

      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 0, failed: 0 });
      clock.set(new Date(graced.expiresAt.getTime() + 24 * HOUR_MS - 1000));
      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 0, failed: 0 });
      expect(callsIn('banChatMember', graced.closedChatId)).toEqual([]);
      expect(telegram.memberStatus(graced.closedChatId, graced.userId)).toBe('member');
      expect(await subscriptionRow(graced.subscriptionId)).toMatchObject({ status: 'active', removal_attempts: 0, next_removal_attempt_at: null });

      clock.advance(1000);
      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 1, failed: 0 });
      expect(telegram.memberStatus(graced.closedChatId, graced.userId)).toBe('left');
      expect(await subscriptionRow(graced.subscriptionId)).toMatchObject({ status: 'expired', expires_at: graced.expiresAt, removed_at: clock.now() });
      expect((await expiryMessages(graced.subscriptionId)).map((message) => message.payload)).toEqual([{ kind: 'subscription_expired', subjectId: graced.subscriptionId }]);
    });

    it('reads the grace period of each member’s own channel in one run', async () => {
      const now = await member({ graceHours: 0 });
      const later = await member({ graceHours: 1 });
      expect(await expireDueSubscriptions(deps)).toEqual({ removed: 1, failed: 0 });
      expect((await subscriptionRow(now.subscriptionId))?.status).toBe('expired');
      expect((await subscriptionRow(later.subscriptionId))?.status).toBe('active');
    });

    it('is not late for removal in the watchdog’s eyes while the grace period runs', async () => {
      const graced = await member({ graceHours: 24, expiresAt: new Date(clock.now().getTime() - 2 * HOUR_MS) });
      const late = await member({ graceHours: 0, expiresAt: new Date(clock.now().getTime() - 2 * HOUR_MS) });
      const lateInGrace = await member({ graceHours: 1, expiresAt: new Date(clock.now().getTime() - 3 * HOUR_MS) });
      const report = await watchStuckWork({ db: testDb.db, clock, logger: createLogger({ write: () => undefined }) });
      expect(report.failed).toEqual([]);
      const { rows } = await testDb.db.query<{ subject_id: string }>(`SELECT subject_id FROM operator_alerts WHERE alert = 'stuck.subscriptions.active'`);
      const alerted = rows.map((row) => row.subject_id);
      expect(alerted).toContain(late.subscriptionId);
      expect(alerted).toContain(lateInGrace.subscriptionId);
      expect(alerted).not.toContain(graced.subscriptionId);
    });
  });

  describe.skipIf(!hasPostgresServer)('overlapping runs [skipped: needs DATABASE_URL]', () => {
    it('removes each member once when two runs overlap', async () => {
      const due = await Promise.all(Array.from({ length: 6 }, () => member()));

      const reports = await Promise.all([expireDueSubscriptions(deps), expireDueSubscriptions(deps)]);

      expect(reports.reduce((sum, report) => sum + report.removed, 0)).toBe(6);
      expect(reports.reduce((sum, report) => sum + report.failed, 0)).toBe(0);
      for (const one of due) {
        expect(callsIn('banChatMember', one.closedChatId)).toHaveLength(1);
        expect(callsIn('unbanChatMember', one.closedChatId)).toHaveLength(1);
        expect((await subscriptionRow(one.subscriptionId))?.status).toBe('expired');
        expect(await expiryMessages(one.subscriptionId)).toHaveLength(1);
      }
    });
  });
});

describe('notifySubscriber for an expired subscription', () => {
  async function expired(options: { title?: string } = {}): Promise<Member & { dedupeKey: string }> {
    const due = await member(options);
    await expireDueSubscriptions(deps);
    const [message] = await expiryMessages(due.subscriptionId);
    if (!message) throw new Error('no expiry message was enqueued');
    return { ...due, dedupeKey: message.messageId };
  }

  it('sends one DM with the end date and a renew button that deep-links to the channel', async () => {
    const gone = await expired({ title: 'Tips & <Tricks>' });
    const subscriberDeps = { ...deps, botUsername: telegram.botInfo.username };
    const request = { kind: 'subscription_expired', subjectId: gone.subscriptionId } as const;

    expect(await notifySubscriber(subscriberDeps, request, gone.dedupeKey)).toBe('sent');
    expect(await notifySubscriber(subscriberDeps, request, gone.dedupeKey)).toBe('already_done');

    const dms = telegram.messagesTo(gone.userId);
    expect(dms).toHaveLength(1);
    expect(dms[0]?.text).toContain('<b>Tips &amp; &lt;Tricks&gt;</b>');
    expect(dms[0]?.text).toContain(`ended on ${formatUtc(gone.expiresAt)}`);
    const startParameter = `c_${formatPublicId('channel', gone.channelId)}`;
    expect(startParameter).toMatch(/^c_ch_[A-Za-z0-9_-]{22}$/);
    expect(dms[0]?.replyMarkup).toEqual({
      inline_keyboard: [[{ text: '🔄 Renew', url: `https://t.me/${telegram.botInfo.username}?start=${startParameter}` }]],
    });
    const { rows } = await testDb.db.query<{ status: string; subscription_id: string }>(
      'SELECT status, subscription_id FROM subscriber_notifications WHERE dedupe_key = $1',
      [gone.dedupeKey],
    );
    expect(rows).toEqual([{ status: 'sent', subscription_id: gone.subscriptionId }]);
  });

  it('sends no button without a bot username', async () => {
    const gone = await expired();
    expect(await notifySubscriber(deps, { kind: 'subscription_expired', subjectId: gone.subscriptionId }, gone.dedupeKey)).toBe('sent');
    expect(telegram.messagesTo(gone.userId)[0]?.replyMarkup).toBeUndefined();
  });

  it('records a subscriber who blocked the bot as unreachable without retrying', async () => {
    const gone = await expired();
    telegram.blockBot(gone.userId);
    const request = { kind: 'subscription_expired', subjectId: gone.subscriptionId } as const;

    expect(await notifySubscriber(deps, request, gone.dedupeKey)).toBe('unreachable');
    expect(await notifySubscriber(deps, request, gone.dedupeKey)).toBe('already_done');
    expect(telegram.callsTo('sendMessage').filter((call) => Number(call.payload.chat_id) === gone.userId)).toHaveLength(1);
  });
});
