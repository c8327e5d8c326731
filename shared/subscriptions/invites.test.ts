import { randomUUID } from 'node:crypto';
import type { Api } from 'grammy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../errors/index.js';
import { createLogger } from '../logging/index.js';
import { settlePayment } from '../payments/index.js';
import { createBotApi } from '../telegram/index.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertCheckout, insertPayment, insertTelegramUser, insertTier } from '../testing/fixtures.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import { formatUtc } from '../clock/index.js';
import { INVITE_SEND_CLAIM_MS, type InviteDeps, sendInvite } from './invites.js';
import { holdFirstCall } from '../testing/held-call.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

let testDb: TestDatabase;
let clock: FakeClock;
let telegram: TelegramSimulator;
let api: Api;
let deps: InviteDeps;
let nextUserId = 820_000_000;

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

interface SettledPayment {
  paymentId: string;
  userId: number;
  closedChatId: number;
  expiresAt: Date;
}

/**
 * A subscriber who paid for 30 days, settled by `settlePayment` (so the payment has its period), in a
 * closed channel the bot administers in the Telegram simulator.
 */
async function settledSubscriptionPayment(options: { title?: string } = {}): Promise<SettledPayment> {
  const db = testDb.db;
  const userId = nextUserId++;
  await insertTelegramUser(db, { id: BigInt(userId) });
  telegram.addUser({ id: userId, first_name: 'Fan' });
  const channel = await insertChannel(db);
  const title = options.title ?? 'Premium Club';
  await db.query('UPDATE channels SET closed_title = $2 WHERE id = $1', [channel.id, title]);
  const closedChatId = Number(channel.closedChatId);
  telegram.addChat({ id: closedChatId, type: 'channel', title });
  telegram.setBotMembership(closedChatId, 'administrator');
  const tier = await insertTier(db, { channelId: channel.id, durationDays: 30 });
  const checkout = await insertCheckout(db, { telegramUserId: BigInt(userId), channelId: channel.id, tierId: tier.id, status: 'paid' });
  const payment = await insertPayment(db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
  const settled = await settlePayment(
    { db, clock, logger: deps.logger, platformFeeBps: 300 },
    { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' },
    payment.id,
  );
  if (!settled?.expiresAt) throw new Error('settlement granted no period');
  return { paymentId: payment.id, userId, closedChatId, expiresAt: settled.expiresAt };
}

async function inviteRows(paymentId: string) {
  const { rows } = await testDb.db.query<{ id: string; invite_link: string; name: string; expires_at: Date; sent_at: Date | null; chat_id: bigint }>(
    'SELECT id, invite_link, name, expires_at, sent_at, chat_id FROM invite_links WHERE payment_id = $1',
    [paymentId],
  );
  return rows;
}

const createCallsFor = (chatId: number) => telegram.callsTo('createChatInviteLink').filter((call) => Number(call.payload.chat_id) === chatId);

describe('sendInvite', () => {
  it('creates one single-use link for the payment, valid for an hour, and DMs it with the subscription’s end', async () => {
    const paid = await settledSubscriptionPayment();

    expect(await sendInvite(deps, paid.paymentId)).toBe('sent');

    const links = telegram.inviteLinks(paid.closedChatId);
    expect(links).toHaveLength(1);
    const link = links[0]!;
    expect(link.member_limit).toBe(1);
    expect(link.creates_join_request).toBe(false);
    expect(link.expire_date).toBe(Math.floor(clock.now().getTime() / 1000) + 3600);
    expect(link.name).toMatch(/^pay:[0-9a-f]{28}$/);
    expect([...(link.name ?? '')].length).toBeLessThanOrEqual(32);
    expect(link.name).toBe(`pay:${paid.paymentId.replaceAll('-', '').slice(0, 28)}`);

    const [row] = await inviteRows(paid.paymentId);
    expect(row).toMatchObject({ invite_link: link.invite_link, name: link.name, expires_at: new Date(clock.now().getTime() + HOUR_MS), chat_id: BigInt(paid.closedChatId) });
    expect(row?.sent_at).toEqual(clock.now());

    const dms = telegram.messagesTo(paid.userId);
    expect(dms).toHaveLength(1);
    expect(dms[0]?.parseMode).toBe('HTML');
    expect(dms[0]?.text).toContain(link.invite_link);
    expect(paid.expiresAt).toEqual(new Date(FIXTURE_NOW.getTime() + 30 * DAY_MS));
    expect(dms[0]?.text).toContain(`Your subscription runs until ${formatUtc(paid.expiresAt)}`);
    expect(dms[0]?.text).toContain(`valid until ${formatUtc(new Date(clock.now().getTime() + HOUR_MS))}`);

    expect(await telegram.joinWithInviteLink(paid.userId, link.invite_link)).toMatchObject({ joined: true });
    expect(telegram.memberStatus(paid.closedChatId, paid.userId)).toBe('member');
  });

  it('escapes the channel title in the DM', async () => {
    const paid = await settledSubscriptionPayment({ title: 'Tips & <Tricks>' });
    await sendInvite(deps, paid.paymentId);
    expect(telegram.messagesTo(paid.userId)[0]?.text).toContain('<b>Tips &amp; &lt;Tricks&gt;</b>');
  });

  it('does nothing on a redelivery: no second link, no second DM', async () => {
    const paid = await settledSubscriptionPayment();
    await sendInvite(deps, paid.paymentId);
    clock.advance(10 * 60_000);

    expect(await sendInvite(deps, paid.paymentId)).toBe('already_sent');
    expect(await sendInvite(deps, paid.paymentId)).toBe('already_sent');

    expect(createCallsFor(paid.closedChatId)).toHaveLength(1);
    expect(telegram.inviteLinks(paid.closedChatId)).toHaveLength(1);
    expect(telegram.messagesTo(paid.userId)).toHaveLength(1);
    expect(await inviteRows(paid.paymentId)).toHaveLength(1);
  });

  it('keeps one link when two deliveries create links at the same moment: the other is revoked, and every DM carries the stored one', async () => {
    const paid = await settledSubscriptionPayment();
    // Both deliveries reach Telegram before either stores its link.
    let arrived = 0;
    let releaseBoth = () => undefined as void;
    const bothArrived = new Promise<void>((resolve) => (releaseBoth = resolve));
    const racingTelegram = new Proxy(api, {
      get(target, property, receiver) {
        if (property !== 'createChatInviteLink') return Reflect.get(target, property, receiver) as unknown;
        return async (...args: Parameters<Api['createChatInviteLink']>) => {
          arrived += 1;
          if (arrived === 2) releaseBoth();
          await bothArrived;
          return target.createChatInviteLink(...args);
        };
      },
    });
    const racing = { ...deps, telegram: racingTelegram };

    const outcomes = await Promise.allSettled([sendInvite(racing, paid.paymentId), sendInvite(racing, paid.paymentId)]);

    // One sends the stored link; the other finds it sent, or is told to retry while it is being sent.
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value === 'sent')).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'invite_in_progress', isRetryable: true });
      else expect(['sent', 'already_sent']).toContain(outcome.value);
    }
    expect(createCallsFor(paid.closedChatId)).toHaveLength(2);
    const rows = await inviteRows(paid.paymentId);
    expect(rows).toHaveLength(1);
    const live = telegram.inviteLinks(paid.closedChatId).filter((link) => !link.is_revoked);
    expect(live.map((link) => link.invite_link)).toEqual([rows[0]?.invite_link]);
    const dms = telegram.messagesTo(paid.userId);
    expect(dms).toHaveLength(1);
    expect(dms[0]?.text).toContain(rows[0]?.invite_link);
    expect(rows[0]?.sent_at).not.toBeNull();
    expect(await sendInvite(deps, paid.paymentId)).toBe('already_sent');
  });

  it('sends one DM when a duplicate arrives while the first delivery is sending; the duplicate is told to retry', async () => {
    const paid = await settledSubscriptionPayment();
    const held = holdFirstCall(api, 'sendMessage');
    const first = sendInvite({ ...deps, telegram: held.client }, paid.paymentId);
    await held.arrived;

    await expect(sendInvite(deps, paid.paymentId)).rejects.toMatchObject({ code: 'invite_in_progress', isRetryable: true });
    held.release();

    expect(await first).toBe('sent');
    expect(telegram.messagesTo(paid.userId)).toHaveLength(1);
    expect(await sendInvite(deps, paid.paymentId)).toBe('already_sent');
  });

  it('takes over the DM of a delivery that stopped before sending it, once its claim ran out', async () => {
    const paid = await settledSubscriptionPayment();
    const stopped = holdFirstCall(api, 'sendMessage');
    void sendInvite({ ...deps, telegram: stopped.client }, paid.paymentId); // never released: its instance was killed
    await stopped.arrived;
    await expect(sendInvite(deps, paid.paymentId)).rejects.toMatchObject({ code: 'invite_in_progress' });

    clock.advance(INVITE_SEND_CLAIM_MS);
    expect(await sendInvite(deps, paid.paymentId)).toBe('sent');
    expect(telegram.messagesTo(paid.userId)).toHaveLength(1);
    expect(createCallsFor(paid.closedChatId)).toHaveLength(1); // the stored link, not a new one
  });

  it('replaces a link that expired unused: revokes the old one and updates the same row', async () => {
    const paid = await settledSubscriptionPayment();
    await sendInvite(deps, paid.paymentId);
    const [before] = await inviteRows(paid.paymentId);
    clock.advance(HOUR_MS + 1000);
    expect(await telegram.joinWithInviteLink(paid.userId, before!.invite_link)).toMatchObject({ joined: false, reason: 'link_expired' });

    expect(await sendInvite(deps, paid.paymentId)).toBe('sent');

    const rows = await inviteRows(paid.paymentId);
    expect(rows).toHaveLength(1);
    const after = rows[0]!;
    expect(after.id).toBe(before!.id);
    expect(after.invite_link).not.toBe(before!.invite_link);
    expect(after.expires_at).toEqual(new Date(clock.now().getTime() + HOUR_MS));
    expect(after.sent_at).toEqual(clock.now());
    expect(telegram.callsTo('revokeChatInviteLink').filter((call) => call.payload.invite_link === before!.invite_link)).toEqual([
      expect.objectContaining({ ok: true }),
    ]);
    const links = telegram.inviteLinks(paid.closedChatId);
    expect(links.map((link) => [link.invite_link, link.is_revoked])).toEqual([
      [before!.invite_link, true],
      [after.invite_link, false],
    ]);
    const dms = telegram.messagesTo(paid.userId);
    expect(dms).toHaveLength(2);
    expect(dms[1]?.text).toContain(after.invite_link);
    expect(await telegram.joinWithInviteLink(paid.userId, after.invite_link)).toMatchObject({ joined: true });
  });

  it('keeps a link that was used: once joined, an expired link is not replaced', async () => {
    const paid = await settledSubscriptionPayment();
    await sendInvite(deps, paid.paymentId);
    const [row] = await inviteRows(paid.paymentId);
    await telegram.joinWithInviteLink(paid.userId, row!.invite_link);
    // What the bot's chat_member handler records when the subscriber joins.
    await testDb.db.query('UPDATE invite_links SET joined_at = $2, joined_by_telegram_user_id = $3 WHERE id = $1', [row!.id, clock.now(), paid.userId]);
    clock.advance(2 * HOUR_MS);

    expect(await sendInvite(deps, paid.paymentId)).toBe('already_sent');
    expect(createCallsFor(paid.closedChatId)).toHaveLength(1);
    expect(telegram.messagesTo(paid.userId)).toHaveLength(1);
  });

  it('reuses the stored link when the DM failed transiently, instead of creating another', async () => {
    const paid = await settledSubscriptionPayment();
    telegram.failNext('sendMessage', { errorCode: 502, description: 'Bad Gateway' });

    const failed = sendInvite(deps, paid.paymentId);
    await expect(failed).rejects.toBeInstanceOf(TransientError);
    await expect(failed).rejects.toMatchObject({ code: 'telegram_unavailable' });
    const [stored] = await inviteRows(paid.paymentId);
    expect(stored?.sent_at).toBeNull();

    expect(await sendInvite(deps, paid.paymentId)).toBe('sent');
    expect(createCallsFor(paid.closedChatId)).toHaveLength(1);
    const dms = telegram.messagesTo(paid.userId);
    expect(dms).toHaveLength(1);
    expect(dms[0]?.text).toContain(stored!.invite_link);
  });

  describe('when Telegram refuses', () => {
    it('records a subscriber who blocked the bot as unreachable and fails permanently, every time', async () => {
      const paid = await settledSubscriptionPayment();
      telegram.blockBot(paid.userId);

      const first = sendInvite(deps, paid.paymentId);
      await expect(first).rejects.toBeInstanceOf(PermanentError);
      await expect(first).rejects.toMatchObject({ code: 'telegram_user_unreachable', isRetryable: false });
      const { rows } = await testDb.db.query<{ dm_blocked_at: Date | null }>('SELECT dm_blocked_at FROM telegram_users WHERE id = $1', [paid.userId]);
      expect(rows[0]?.dm_blocked_at).toEqual(clock.now());

      clock.advance(60_000);
      await expect(sendInvite(deps, paid.paymentId)).rejects.toMatchObject({ code: 'telegram_user_unreachable', isRetryable: false });
      expect(createCallsFor(paid.closedChatId)).toHaveLength(1);
      expect(telegram.messagesTo(paid.userId)).toEqual([]);
    });

    it('treats 429 on the link as transient and stores nothing', async () => {
      const paid = await settledSubscriptionPayment();
      telegram.failNext('createChatInviteLink', { errorCode: 429, description: 'Too Many Requests: retry after 7', retryAfter: 7 });

      const limited = sendInvite(deps, paid.paymentId);
      await expect(limited).rejects.toBeInstanceOf(TransientError);
      await expect(limited).rejects.toMatchObject({ code: 'telegram_rate_limited', context: expect.objectContaining({ retryAfterSeconds: 7 }) });
      expect(await inviteRows(paid.paymentId)).toEqual([]);

      expect(await sendInvite(deps, paid.paymentId)).toBe('sent');
      expect(telegram.inviteLinks(paid.closedChatId)).toHaveLength(1);
      expect(telegram.messagesTo(paid.userId)).toHaveLength(1);
    });

    it('treats 429 on the DM as transient and keeps the link for the retry', async () => {
      const paid = await settledSubscriptionPayment();
      telegram.failNext('sendMessage', { errorCode: 429, description: 'Too Many Requests: retry after 3', retryAfter: 3 });

      await expect(sendInvite(deps, paid.paymentId)).rejects.toMatchObject({ code: 'telegram_rate_limited', isRetryable: true });
      expect(await sendInvite(deps, paid.paymentId)).toBe('sent');
      expect(createCallsFor(paid.closedChatId)).toHaveLength(1);
      expect(telegram.messagesTo(paid.userId)).toHaveLength(1);
    });

    it('fails permanently when the bot may not invite users to the closed channel', async () => {
      const paid = await settledSubscriptionPayment();
      telegram.setBotMembership(paid.closedChatId, 'administrator', { can_invite_users: false });

      const refused = sendInvite(deps, paid.paymentId);
      await expect(refused).rejects.toBeInstanceOf(PermanentError);
      await expect(refused).rejects.toMatchObject({ code: 'telegram_bad_request' });
      expect(telegram.messagesTo(paid.userId)).toEqual([]);
    });
  });

  describe('what gets no invite', () => {
    it('sends nothing for a subscription that has ended', async () => {
      const paid = await settledSubscriptionPayment();
      clock.set(new Date(paid.expiresAt.getTime() + 1000));

      expect(await sendInvite(deps, paid.paymentId)).toBe('subscription_inactive');
      expect(createCallsFor(paid.closedChatId)).toEqual([]);
      expect(telegram.messagesTo(paid.userId)).toEqual([]);
    });

    it('refuses a payment without a subscription period (unsettled or unknown) permanently', async () => {
      const unsettled = await insertPayment(testDb.db, { status: 'waiting' });
      await expect(sendInvite(deps, unsettled.id)).rejects.toMatchObject({ code: 'unknown_payment', isRetryable: false });
      await expect(sendInvite(deps, randomUUID())).rejects.toBeInstanceOf(PermanentError);
    });
  });
});
