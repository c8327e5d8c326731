import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../errors/index.js';
import { createLogger } from '../logging/index.js';
import { settlePayment } from '../payments/index.js';
import { formatUtc } from '../clock/index.js';
import { createBotApi } from '../telegram/index.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertCheckout, insertPayment, insertTelegramUser, insertTier } from '../testing/fixtures.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import { type NotificationDeps, notifyOwner } from './owner-notifications.js';
import { OWNER_NOTICE_CLAIM_MS } from './owner-notification-delivery.js';
import { holdFirstCall } from '../testing/held-call.js';

const DAY_MS = 86_400_000;

let testDb: TestDatabase;
let clock: FakeClock;
let telegram: TelegramSimulator;
let deps: NotificationDeps;
let nextUserId = 830_000_000;

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock(FIXTURE_NOW);
  telegram = await startTelegramSimulator({ clock });
  deps = {
    db: testDb.db,
    clock,
    logger: createLogger({ write: () => undefined }),
    telegram: createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot }),
  };
});
afterAll(async () => {
  await telegram?.close();
  await testDb?.dispose();
});

interface Paid {
  channelId: string;
  ownerId: number;
  paymentId: string;
  subscriberId: number;
}

/**
 * A settled payment (subscription by default) in a channel whose owner has started the bot and
 * gets notifications in their private chat, unless told otherwise.
 */
async function settledPayment(
  options: {
    kind?: 'subscription' | 'donation';
    closedTitle?: string;
    subscriber?: { username: string | null; firstName: string };
    notifications?: 'on' | 'off' | 'no_chat';
  } = {},
): Promise<Paid> {
  const db = testDb.db;
  const ownerId = nextUserId++;
  telegram.addUser({ id: ownerId, first_name: 'Owner' });
  const channel = await insertChannel(db);
  const notifications = options.notifications ?? 'on';
  await db.query('UPDATE channels SET closed_title = $2, notifications_enabled = $3, notification_chat_id = $4 WHERE id = $1', [
    channel.id,
    options.closedTitle ?? 'Premium Club',
    notifications === 'on',
    notifications === 'no_chat' ? null : ownerId,
  ]);
  const subscriberId = nextUserId++;
  const subscriber = options.subscriber ?? { username: `fan${subscriberId}`, firstName: 'Fan' };
  await insertTelegramUser(db, { id: BigInt(subscriberId), username: subscriber.username, firstName: subscriber.firstName });
  const checkout =
    options.kind === 'donation'
      ? await insertCheckout(db, { kind: 'donation', telegramUserId: BigInt(subscriberId), channelId: channel.id, priceCents: 2500n, status: 'paid' })
      : await insertCheckout(db, {
          telegramUserId: BigInt(subscriberId),
          channelId: channel.id,
          tierId: (await insertTier(db, { channelId: channel.id, tierNumber: 1, priceCents: 999n, durationDays: 30 })).id,
          status: 'paid',
        });
  const payment = await insertPayment(db, { checkoutId: checkout.id, status: 'finished', isSettled: true });
  await settlePayment(
    { db, clock, logger: deps.logger, platformFeeBps: 300 },
    { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' },
    payment.id,
  );
  return { channelId: channel.id, ownerId, paymentId: payment.id, subscriberId };
}

const received = (paid: Paid) => ({ kind: 'payment_received', channelId: paid.channelId, subjectId: paid.paymentId });

async function notificationRows(paid: Paid) {
  const { rows } = await testDb.db.query<{ kind: string; status: string; attempts: number; last_error: string | null; telegram_message_id: bigint | null; dedupe_key: string }>(
    'SELECT kind, status, attempts, last_error, telegram_message_id, dedupe_key FROM owner_notifications WHERE channel_id = $1',
    [paid.channelId],
  );
  return rows;
}

const sendCallsTo = (chatId: number) => telegram.callsTo('sendMessage').filter((call) => Number(call.payload.chat_id) === chatId);

describe('notifyOwner', () => {
  it('notifies once per event: a second delivery sends nothing', async () => {
    const paid = await settledPayment();

    expect(await notifyOwner(deps, received(paid))).toBe('sent');
    expect(await notifyOwner(deps, received(paid))).toBe('already_done');

    const dms = telegram.messagesTo(paid.ownerId);
    expect(dms).toHaveLength(1);
    expect(await notificationRows(paid)).toEqual([
      { kind: 'payment_received', status: 'sent', attempts: 1, last_error: null, telegram_message_id: BigInt(dms[0]!.messageId), dedupe_key: `payment_received:${paid.paymentId}` },
    ]);
  });

  it('sends one DM when duplicates arrive while the first delivery is sending; they are told to retry, and then find it sent', async () => {
    const paid = await settledPayment();
    const held = holdFirstCall(deps.telegram, 'sendMessage');
    const first = notifyOwner({ ...deps, telegram: held.client }, received(paid));
    await held.arrived;

    const duplicates = await Promise.allSettled([notifyOwner(deps, received(paid)), notifyOwner(deps, received(paid))]);
    held.release();

    expect(await first).toBe('sent');
    for (const duplicate of duplicates) expect(duplicate).toMatchObject({ status: 'rejected', reason: { code: 'owner_notification_in_progress', isRetryable: true } });
    expect(telegram.messagesTo(paid.ownerId)).toHaveLength(1);
    expect(await notifyOwner(deps, received(paid))).toBe('already_done');
    expect(telegram.messagesTo(paid.ownerId)).toHaveLength(1);
  });

  it('takes over a notification whose sender stopped before recording it, once its claim ran out', async () => {
    const paid = await settledPayment();
    // A delivery created the row and stopped before sending (its instance was killed).
    await testDb.db.query(
      `INSERT INTO owner_notifications (channel_id, kind, dedupe_key, chat_id, payment_id, status, created_at, updated_at, claimed_until)
       VALUES ($1, 'payment_received', $2, $3, $4, 'pending', $5, $5, $6)`,
      [paid.channelId, `payment_received:${paid.paymentId}`, paid.ownerId, paid.paymentId, clock.now(), new Date(clock.now().getTime() + OWNER_NOTICE_CLAIM_MS)],
    );
    await expect(notifyOwner(deps, received(paid))).rejects.toMatchObject({ code: 'owner_notification_in_progress' });
    expect(telegram.messagesTo(paid.ownerId)).toHaveLength(0);

    clock.advance(OWNER_NOTICE_CLAIM_MS);
    try {
      expect(await notifyOwner(deps, received(paid))).toBe('sent');
      expect(telegram.messagesTo(paid.ownerId)).toHaveLength(1);
    } finally {
      clock.set(FIXTURE_NOW); // the other tests read their dates from the fixture's clock
    }
  });

  it('tells the owner the tier, price, their share after fees, the subscriber and the access end', async () => {
    const paid = await settledPayment();
    await notifyOwner(deps, received(paid));

    const text = telegram.messagesTo(paid.ownerId)[0]?.text ?? '';
    expect(text).toContain('<b>New subscription</b> to <b>Premium Club</b>');
    expect(text).toContain('Tier 1 · 30 days · $9.99');
    expect(text).toContain('Paid: 0.00012345 BTC');
    // 0.003 ETH outcome less the 3 % platform fee.
    expect(text).toContain('Your share after fees: 0.00291 ETH');
    expect(text).toContain(`From: @fan${paid.subscriberId}`);
    expect(text).toContain(`Access until: ${formatUtc(new Date(FIXTURE_NOW.getTime() + 30 * DAY_MS))}`);
  });

  it('tells the owner about a donation without a tier or an access end', async () => {
    const paid = await settledPayment({ kind: 'donation' });
    expect(await notifyOwner(deps, { kind: 'donation_received', channelId: paid.channelId, subjectId: paid.paymentId })).toBe('sent');

    const text = telegram.messagesTo(paid.ownerId)[0]?.text ?? '';
    expect(text).toContain('<b>Donation</b> to <b>Premium Club</b>');
    expect(text).toContain('Amount: $25.00');
    expect(text).not.toContain('Access until');
  });

  it('escapes HTML in the subscriber’s name and the channel title', async () => {
    const paid = await settledPayment({ closedTitle: 'Premium <Club> & "Friends"', subscriber: { username: null, firstName: '<i>Eve</i> & <Co>' } });

    expect(await notifyOwner(deps, received(paid))).toBe('sent');

    const text = telegram.messagesTo(paid.ownerId)[0]?.text ?? '';
    expect(text).toContain('<b>Premium &lt;Club&gt; &amp; &quot;Friends&quot;</b>');
    expect(text).toContain(`From: &lt;i&gt;Eve&lt;/i&gt; &amp; &lt;Co&gt; (id ${paid.subscriberId})`);
    expect(text).not.toContain('<i>');
  });

  it('skips without a DM when the owner turned notifications off', async () => {
    const paid = await settledPayment({ notifications: 'off' });

    expect(await notifyOwner(deps, received(paid))).toBe('skipped');
    expect(await notifyOwner(deps, received(paid))).toBe('skipped');

    expect(sendCallsTo(paid.ownerId)).toEqual([]);
    expect(await notificationRows(paid)).toEqual([expect.objectContaining({ status: 'skipped', attempts: 0 })]);
  });

  it('skips without a DM when the channel has no notification chat', async () => {
    const paid = await settledPayment({ notifications: 'no_chat' });
    expect(await notifyOwner(deps, received(paid))).toBe('skipped');
    expect(sendCallsTo(paid.ownerId)).toEqual([]);
    expect(await notificationRows(paid)).toEqual([]);
  });

  it('records an owner who blocked the bot as failed instead of retrying, and does not try again', async () => {
    const paid = await settledPayment();
    telegram.blockBot(paid.ownerId);

    await expect(notifyOwner(deps, received(paid))).resolves.not.toBe('sent');
    expect(await notificationRows(paid)).toEqual([
      expect.objectContaining({ status: 'failed', attempts: 1, last_error: 'telegram_user_unreachable', telegram_message_id: null }),
    ]);

    await expect(notifyOwner(deps, received(paid))).resolves.toBe('already_done');
    expect(sendCallsTo(paid.ownerId)).toHaveLength(1);
  });

  it('records an owner who never started the bot as failed', async () => {
    const paid = await settledPayment();
    const neverStarted = nextUserId++;
    telegram.addUser({ id: neverStarted, first_name: 'Shy owner' }, { startedBot: false });
    await testDb.db.query('UPDATE channels SET notification_chat_id = $2 WHERE id = $1', [paid.channelId, neverStarted]);

    await expect(notifyOwner(deps, received(paid))).resolves.not.toBe('sent');
    expect(await notificationRows(paid)).toEqual([expect.objectContaining({ status: 'failed', last_error: 'telegram_user_unreachable' })]);
  });

  it('throws a transient error when Telegram is down, and sends once on the retry', async () => {
    const paid = await settledPayment();
    telegram.failNext('sendMessage', { errorCode: 502, description: 'Bad Gateway' });

    const attempt = notifyOwner(deps, received(paid));
    await expect(attempt).rejects.toBeInstanceOf(TransientError);
    await expect(attempt).rejects.toMatchObject({ code: 'telegram_unavailable' });
    expect(await notificationRows(paid)).toEqual([expect.objectContaining({ status: 'pending', attempts: 1, last_error: 'telegram_unavailable' })]);

    expect(await notifyOwner(deps, received(paid))).toBe('sent');
    expect(telegram.messagesTo(paid.ownerId)).toHaveLength(1);
    expect(await notificationRows(paid)).toEqual([expect.objectContaining({ status: 'sent', attempts: 2 })]);
  });

  it('refuses a kind it has no message for, and an unknown channel, permanently', async () => {
    const paid = await settledPayment();
    await expect(notifyOwner(deps, { kind: 'payment_problem', channelId: paid.channelId, subjectId: paid.paymentId })).rejects.toMatchObject({
      code: 'unsupported_notification',
    });
    // A payout notice naming something that is not a payout of the channel is refused, not guessed at.
    await expect(notifyOwner(deps, { kind: 'payout_completed', channelId: paid.channelId, subjectId: paid.paymentId })).rejects.toMatchObject({
      code: 'unknown_payout',
    });
    const unknown = notifyOwner(deps, { kind: 'payment_received', channelId: randomUUID(), subjectId: paid.paymentId });
    await expect(unknown).rejects.toBeInstanceOf(PermanentError);
    await expect(unknown).rejects.toMatchObject({ code: 'unknown_channel' });
  });
});
