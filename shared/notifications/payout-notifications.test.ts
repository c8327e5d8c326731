import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import type { OwnerNotificationRequested } from '../messages/index.js';
import { formatUnits } from '../money/index.js';
import { settlePayment } from '../payments/index.js';
import { holdPayout, rejectPayout, runThresholdPayouts } from '../payouts/index.js';
import { LANGUAGES, translate } from '../texts/catalogue.js';
import { createBotApi } from '../telegram/index.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { holdFirstCall } from '../testing/held-call.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertCheckout, insertPayment, insertPayout, insertTelegramUser, insertTier, movePayout } from '../testing/fixtures.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import { type NotificationDeps, notifyOwner } from './owner-notifications.js';

/** Each test payment: a $10.00 invoice; 0.003 ETH, or `usdtUnits` of USDT. The owner nets 97 %. */
const PRICE_CENTS = 1_000n;
const THRESHOLD_CENTS = 4_000n;

let testDb: TestDatabase;
let clock: FakeClock;
let telegram: TelegramSimulator;
let deps: NotificationDeps;
let nextUserId = 840_000_000;

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock(FIXTURE_NOW);
  telegram = await startTelegramSimulator({ clock });
  deps = { db: testDb.db, clock, logger: createLogger({ write: () => undefined }), telegram: createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot }) };
});
afterAll(async () => {
  await telegram?.close();
  await testDb?.dispose();
});

interface Owned {
  channelId: string;
  tierId: string;
  ownerId: number;
}

/** A threshold channel ($40) whose owner gets notifications in their private chat, in `language`. */
async function thresholdChannel(options: { language?: 'en' | 'ru'; notifications?: boolean } = {}): Promise<Owned> {
  const ownerId = nextUserId++;
  telegram.addUser({ id: ownerId, first_name: 'Owner' });
  await insertTelegramUser(testDb.db, { id: BigInt(ownerId) });
  await testDb.db.query('UPDATE telegram_users SET language_code = $2 WHERE id = $1', [ownerId, options.language ?? 'en']);
  const channel = await insertChannel(testDb.db, { payoutStrategy: 'threshold', payoutThresholdCents: THRESHOLD_CENTS, payoutCurrency: 'USDT' });
  await testDb.db.query(`UPDATE channels SET closed_title = 'VIP <Club>', notifications_enabled = $2, notification_chat_id = $3 WHERE id = $1`, [
    channel.id,
    options.notifications ?? true,
    ownerId,
  ]);
  const tier = await insertTier(testDb.db, { channelId: channel.id, priceCents: PRICE_CENTS });
  return { channelId: channel.id, tierId: tier.id, ownerId };
}

/** A payment settled by settle-payment (its message delivered twice); returns its id. */
async function pay(owned: Owned, options: { usdtUnits?: bigint } = {}): Promise<string> {
  const checkout = await insertCheckout(testDb.db, { channelId: owned.channelId, tierId: owned.tierId, status: 'paid' });
  const isUsdt = options.usdtUnits !== undefined;
  const payment = await insertPayment(testDb.db, { checkoutId: checkout.id, status: 'finished', isSettled: !isUsdt });
  if (options.usdtUnits !== undefined) {
    await testDb.db.query(
      `UPDATE payments SET outcome_currency = 'usdterc20', outcome_asset = 'USDT_ERC20', outcome_amount = $2, outcome_units = $3,
                           settled_outcome_units = $3, settled_at = $4 WHERE id = $1`,
      [payment.id, formatUnits(options.usdtUnits, 6), options.usdtUnits.toString(), clock.now()],
    );
  }
  const key = { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' };
  for (let delivery = 0; delivery < 2; delivery++) await settlePayment({ db: testDb.db, clock, logger: deps.logger, platformFeeBps: 300 }, key, payment.id);
  return payment.id;
}

/** The progress messages settle-payment queued for the channel, oldest first. */
async function queued(owned: Owned): Promise<OwnerNotificationRequested[]> {
  const { rows } = await testDb.db.query<{ payload: OwnerNotificationRequested }>(
    `SELECT payload FROM outbox WHERE topic = 'owner-notification-requested' AND payload->>'kind' = 'threshold_progress' AND payload->>'channelId' = $1 ORDER BY id`,
    [owned.channelId],
  );
  return rows.map((row) => row.payload);
}

async function statusOf(request: OwnerNotificationRequested): Promise<string | undefined> {
  const { rows } = await testDb.db.query<{ status: string }>('SELECT status FROM owner_notifications WHERE dedupe_key = $1', [
    `threshold_progress:${request.channelId}:${request.subjectId}`,
  ]);
  return rows[0]?.status;
}

const texts = (owned: Owned) => telegram.messagesTo(owned.ownerId).map((message) => message.text ?? '');

describe('notifyOwner: threshold progress', () => {
  it('tells the owner once at 50 %: balance, threshold, percent, the ETH still to park and what comes next', async () => {
    const owned = await thresholdChannel();
    for (let index = 0; index < 3; index++) await pay(owned); // 3 × $9.70 in ETH
    const [halfway] = await queued(owned);
    expect(halfway).toEqual({ kind: 'threshold_progress', channelId: owned.channelId, subjectId: 'first:50' });

    expect(await notifyOwner(deps, halfway!)).toBe('sent');
    expect(await notifyOwner(deps, halfway!)).toBe('already_done');
    expect(texts(owned)).toEqual([
      [
        '📈 <b>Halfway to your payout</b> for <b>VIP &lt;Club&gt;</b>',
        'Balance: ≈ $29.10 of your $40.00 payout threshold (72 %).',
        'Of it, 0.00873 ETH (≈ $29.10 at your latest payment\'s rate) is still to be converted to USDT.',
        'A payout starts automatically once your balance reaches $40.00.',
      ].join('\n'),
    ]);
    expect(await statusOf(halfway!)).toBe('sent');
  });

  it('sends one message when duplicates arrive while the first delivery is sending', async () => {
    const owned = await thresholdChannel();
    for (let index = 0; index < 3; index++) await pay(owned);
    const [halfway] = await queued(owned);
    const held = holdFirstCall(deps.telegram, 'sendMessage');
    const first = notifyOwner({ ...deps, telegram: held.client }, halfway!);
    await held.arrived;

    const duplicates = await Promise.allSettled([notifyOwner(deps, halfway!), notifyOwner(deps, halfway!)]);
    held.release();

    expect(await first).toBe('sent');
    for (const duplicate of duplicates) expect(duplicate).toMatchObject({ status: 'rejected', reason: { code: 'owner_notification_in_progress', isRetryable: true } });
    expect(texts(owned)).toHaveLength(1);
    expect(await notifyOwner(deps, halfway!)).toBe('already_done');
    expect(await statusOf(halfway!)).toBe('sent');
  });

  it('says at 100 % that the next hourly run pays parked USDT, in the owner’s language', async () => {
    const owned = await thresholdChannel({ language: 'ru' });
    await pay(owned, { usdtUnits: 45_000_000n }); // 43.65 USDT: both marks at once
    const [halfway, reached] = await queued(owned);
    expect(reached?.subjectId).toBe('first:100');
    // The 50 % message is overtaken by the 100 % one queued with it: only the latter is sent.
    expect(await notifyOwner(deps, halfway!)).toBe('skipped');
    expect(await notifyOwner(deps, reached!)).toBe('sent');
    expect(texts(owned)).toEqual([
      [
        '🎯 <b>Порог выплаты достигнут</b> по каналу <b>VIP &lt;Club&gt;</b>',
        'Баланс: $43.65 из порога выплаты $40.00 (109 %).',
        'Выплата баланса начнётся при ближайшем ежечасном запуске.',
      ].join('\n'),
    ]);
  });

  it('says at 100 % that ETH is parked first when the USDT alone is short of the threshold', async () => {
    const owned = await thresholdChannel();
    for (let index = 0; index < 5; index++) await pay(owned); // $48.50 in ETH
    const reached = (await queued(owned)).find((request) => request.subjectId === 'first:100');
    expect(await notifyOwner(deps, reached!)).toBe('sent');
    const text = texts(owned).at(-1) ?? '';
    expect(text).toContain('🎯 <b>Payout threshold reached</b>');
    expect(text).toContain('(121 %)');
    expect(text).toContain('Once the ETH is converted to USDT');
  });

  it('sends nothing when the owner turned notifications off', async () => {
    const owned = await thresholdChannel({ notifications: false });
    await pay(owned, { usdtUnits: 25_000_000n });
    const [halfway] = await queued(owned);
    expect(await notifyOwner(deps, halfway!)).toBe('skipped');
    expect(texts(owned)).toEqual([]);
  });

  it('drops a crossing a refund undid before it was told, and does not tell it again in that cycle', async () => {
    const owned = await thresholdChannel();
    await pay(owned, { usdtUnits: 10_000_000n }); // 9.70: 24 %
    const paymentId = await pay(owned, { usdtUnits: 15_000_000n }); // 24.25: 60 %
    const [halfway] = await queued(owned);
    await testDb.db.query(`UPDATE payments SET status = 'refunded' WHERE id = $1`, [paymentId]);
    await settlePayment({ db: testDb.db, clock, logger: deps.logger, platformFeeBps: 300 }, { consumer: 'settle-payment', messageId: randomUUID(), topic: 'payment-settled' }, paymentId);

    expect(await notifyOwner(deps, halfway!)).toBe('skipped'); // back at 24 %
    expect(await statusOf(halfway!)).toBe('skipped');
    await pay(owned, { usdtUnits: 15_000_000n }); // 60 % again: the mark was used in this cycle
    expect(await queued(owned)).toHaveLength(1);
    expect(texts(owned)).toEqual([]);
  });

  it('drops a message whose cycle a threshold payout ended before it went out', async () => {
    const owned = await thresholdChannel();
    await pay(owned, { usdtUnits: 45_000_000n });
    await runThresholdPayouts({ db: testDb.db, clock, logger: deps.logger });
    const reached = (await queued(owned)).find((request) => request.subjectId === 'first:100');
    expect(await notifyOwner(deps, reached!)).toBe('skipped');
    expect(texts(owned)).toEqual([]);
  });

  it('says after a payout that came back unpaid that it goes out as that message said', async () => {
    const owned = await thresholdChannel();
    await pay(owned, { usdtUnits: 45_000_000n });
    await runThresholdPayouts({ db: testDb.db, clock, logger: deps.logger });
    const { rows } = await testDb.db.query<{ id: string }>(`SELECT id FROM payouts WHERE channel_id = $1`, [owned.channelId]);
    await testDb.db.transaction((tx) => holdPayout(tx, rows[0]!.id, 'test', clock.now()));
    await rejectPayout(testDb.db, { payoutId: rows[0]!.id, operator: 'test', reason: 'test', at: clock.now() });
    // The rejected payout's USDT and its cycle are back: the delayed 100 % message holds again.
    const reached = (await queued(owned)).find((request) => request.subjectId === 'first:100');
    expect(await notifyOwner(deps, reached!)).toBe('sent');
    expect(texts(owned).at(-1)).toContain('Your last payout did not go through');
  });

  it('refuses a subject that names no cycle and mark', async () => {
    const owned = await thresholdChannel();
    await expect(notifyOwner(deps, { kind: 'threshold_progress', channelId: owned.channelId, subjectId: randomUUID() })).rejects.toMatchObject({
      code: 'invalid_notification_subject',
    });
  });

  it.each(LANGUAGES)('escapes the title and states every next step in %s', (language) => {
    const facts = { channelTitle: '<VIP>', mark: 100 as const, balance: '$41.00', threshold: '$40.00', percent: '102', unparked: null };
    const steps = (['hourly_run', 'after_parking', 'after_failed_payout'] as const).map((next) => translate(language, 'thresholdProgress', { ...facts, next }));
    expect(new Set(steps).size).toBe(3);
    for (const text of steps) expect(text).toContain('&lt;VIP&gt;');
    expect(translate(language, 'thresholdProgress', { ...facts, mark: 50, next: null })).toContain('$40.00');
  });
});

describe('notifyOwner: payout news', () => {
  const noticeStatus = async (kind: string, payoutId: string) =>
    (await testDb.db.query<{ status: string }>('SELECT status FROM owner_notifications WHERE dedupe_key = $1', [`${kind}:${payoutId}`])).rows[0]?.status;

  it('tells the owner once that a payout was sent, however many deliveries arrive at once', async () => {
    const owned = await thresholdChannel();
    const payout = await insertPayout(testDb.db, { channelId: owned.channelId });
    await movePayout(testDb.db, payout.id, 'completed', { isDirect: true });
    const request = { kind: 'payout_completed', channelId: owned.channelId, subjectId: payout.id } as const;
    const settled = await Promise.allSettled([notifyOwner(deps, request), notifyOwner(deps, request), notifyOwner(deps, request)]);
    const outcomes = settled.map((result) => (result.status === 'fulfilled' ? result.value : (result.reason as { code?: string }).code));
    expect(outcomes.filter((outcome) => outcome === 'sent')).toHaveLength(1);
    for (const outcome of outcomes) expect(['sent', 'already_done', 'owner_notification_in_progress']).toContain(outcome);
    expect(await notifyOwner(deps, request)).toBe('already_done');
    expect(texts(owned).filter((text) => text.includes('Payout sent'))).toHaveLength(1);
    expect(await noticeStatus('payout_completed', payout.id)).toBe('sent');
  });

  it('records a sent payout as skipped for an owner with notifications off, but tells them of a held one', async () => {
    const owned = await thresholdChannel({ notifications: false });
    const sent = await insertPayout(testDb.db, { channelId: owned.channelId });
    await movePayout(testDb.db, sent.id, 'completed', { isDirect: true });
    expect(await notifyOwner(deps, { kind: 'payout_completed', channelId: owned.channelId, subjectId: sent.id })).toBe('skipped');
    expect(await notifyOwner(deps, { kind: 'payout_completed', channelId: owned.channelId, subjectId: sent.id })).toBe('skipped');
    expect(await noticeStatus('payout_completed', sent.id)).toBe('skipped');

    const held = await insertPayout(testDb.db, { channelId: owned.channelId });
    await movePayout(testDb.db, held.id, 'held');
    expect(await notifyOwner(deps, { kind: 'payout_held', channelId: owned.channelId, subjectId: held.id })).toBe('sent');
    expect(texts(owned)).toHaveLength(1);
    expect(texts(owned)[0]).not.toContain('Payout sent');
  });

  it('refuses news of a payout that is not the channel\'s, and writes nothing for it', async () => {
    const owned = await thresholdChannel();
    const other = await thresholdChannel();
    const payout = await insertPayout(testDb.db, { channelId: other.channelId });
    await expect(notifyOwner(deps, { kind: 'payout_held', channelId: owned.channelId, subjectId: payout.id })).rejects.toMatchObject({ code: 'unknown_payout' });
    expect(await noticeStatus('payout_held', payout.id)).toBeUndefined();
  });
});
