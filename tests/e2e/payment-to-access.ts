import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumLedgerByAsset } from '../../shared/ledger/index.js';
import { checkoutFor, newSubscriber, seedChannel, startTestGateway, type TestGateway } from './gateway-harness.js';

const DAY_MS = 86_400_000;

/** The journey under one duplicate-delivery mode; each mode runs in its own test file (one gateway per file). */
export function definePaymentToAccessTest(mode: 'after-ack' | 'concurrently'): void {
describe(`payment to channel access, every message delivered twice (${mode})`, () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ deliverTwice: mode });
  });
  afterAll(() => gateway?.stop());

  it('takes a subscriber from checkout to an active subscription, one invite, one owner notification and a balanced ledger', async () => {
    const db = gateway.testDb.db;
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 1999n, days: 30 });
    const subscriber = newSubscriber(gateway);
    const checkout = await checkoutFor(gateway, channel, subscriber);
    expect(checkout.priceCents).toBe(1999n);
    expect(checkout.publicId).toMatch(/^chk_[A-Za-z0-9_-]{22}$/);

    const payment = await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    expect(gateway.nowpayments.ipnDeliveries.filter((d) => d.paymentId === payment.paymentId).map((d) => [d.status, d.httpStatus])).toEqual([
      ['waiting', 200],
      ['confirming', 200],
      ['confirmed', 200],
      ['sending', 200],
      ['finished', 200],
    ]);

    // Subscription: active for exactly the tier's days.
    const { rows: subscriptions } = await db.query<{ id: string; status: string; expires_at: Date }>(
      'SELECT id, status, expires_at FROM subscriptions WHERE telegram_user_id = $1 AND channel_id = $2',
      [subscriber.id, channel.channelId],
    );
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]?.status).toBe('active');
    const { rows: periods } = await db.query<{ starts_at: Date; ends_at: Date }>('SELECT starts_at, ends_at FROM subscription_periods WHERE subscription_id = $1', [
      subscriptions[0]?.id,
    ]);
    expect(periods).toHaveLength(1);
    expect((periods[0]?.ends_at.getTime() ?? 0) - (periods[0]?.starts_at.getTime() ?? 0)).toBe(30 * DAY_MS);
    expect(subscriptions[0]?.expires_at).toEqual(periods[0]?.ends_at);

    // One invite link, DM'd once, and it admits the subscriber.
    const links = gateway.telegram.callsTo('createChatInviteLink').filter((call) => call.ok);
    expect(links).toHaveLength(1);
    const { rows: invites } = await db.query<{ invite_link: string; sent_at: Date | null }>('SELECT invite_link, sent_at FROM invite_links');
    expect(invites).toHaveLength(1);
    expect(invites[0]?.sent_at).toBeInstanceOf(Date);
    const dms = gateway.telegram.messagesTo(subscriber.id);
    expect(dms).toHaveLength(1);
    expect(dms[0]?.text).toContain(invites[0]?.invite_link);
    expect(await gateway.telegram.joinWithInviteLink(subscriber.id, invites[0]?.invite_link ?? '')).toMatchObject({ joined: true });

    // The owner hears about it once, with the subscriber's name escaped.
    const ownerMessages = gateway.telegram.messagesTo(channel.ownerTelegramId);
    expect(ownerMessages).toHaveLength(1);
    expect(ownerMessages[0]?.text).toContain(`@${subscriber.username}`);
    expect(ownerMessages[0]?.text).toContain('Premium &lt;Club&gt;'); // HTML-escaped

    // Ledger: balanced per asset; platform fee = PLATFORM_FEE_BPS of the outcome, rounded down.
    for (const [, sum] of await sumLedgerByAsset(db)) expect(sum).toBe(0n);
    const { rows: settlement } = await db.query<{ code: string; amount: string }>(
      `SELECT a.code, e.amount::text FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
       JOIN ledger_accounts a ON a.id = e.account_id JOIN payments p ON p.id = t.payment_id
       WHERE t.kind = 'payment_settled' AND p.provider_payment_id = $1`,
      [payment.paymentId],
    );
    const amountOf = (prefix: string) => BigInt(settlement.find((row) => row.code.startsWith(prefix))?.amount ?? '0');
    const outcome = amountOf('hot_wallet:');
    expect(outcome).toBeGreaterThan(0n);
    expect(-amountOf('platform:fees:')).toBe((outcome * 300n) / 10_000n);
    expect(-amountOf(`owner:${channel.channelId}:`)).toBe(outcome - (outcome * 300n) / 10_000n);

    // Instant channel: the owner's net is claimed into one payout, destination snapshotted, and sent
    // on the local chain (ETH to an ETH/ETH wallet: no swap); track-payouts, a scheduled tick, confirms it.
    const { rows: payouts } = await db.query<{ state: string; amount_units: string }>('SELECT state, amount_units::text FROM payouts');
    expect(payouts).toEqual([{ state: 'transfer_broadcast', amount_units: (outcome - (outcome * 300n) / 10_000n).toString() }]);

    // Each stage ran its effect once although every message arrived twice.
    const { rows: counts } = await db.query<{ topic: string; count: bigint }>('SELECT topic, count(*) AS count FROM outbox GROUP BY topic ORDER BY topic');
    expect(Object.fromEntries(counts.map((row) => [row.topic, Number(row.count)]))).toEqual({
      'invite-requested': 1,
      'owner-notification-requested': 1,
      'payment-settled': 1,
      'payout-requested': 1,
      'transfer-requested': 1,
    });
    const duplicates = gateway.runtime.bus?.events.filter((event) => event.type === 'delivered' && event.isDuplicate) ?? [];
    expect(duplicates.length).toBeGreaterThanOrEqual(3);
    const { rows: deadLetters } = await db.query('SELECT source, reason_code FROM dead_letters');
    expect(deadLetters).toEqual([]);
  });
});
}
