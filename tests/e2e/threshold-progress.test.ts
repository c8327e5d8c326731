import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumLedgerByAsset } from '../../shared/ledger/index.js';
import { checkoutFor, newSubscriber, type PayoutGateway, seedChannel, type SeededChannel, startPayoutGateway, type TestGateway } from './gateway-harness.js';
import { thresholdScenario } from './threshold-scenario.js';

/** $15 a payment: the owner's net, $14.55, is 32 % of a $45 threshold. */
const PRICE_CENTS = 1_500n;
const THRESHOLD_CENTS = 4_500n;

/**
 * A threshold owner hears when their balance passes 50 % and reaches 100 % of the threshold: once
 * per mark and cycle, with every message delivered twice at once and two payments settling at the
 * same moment (each alone would leave the balance at 97 %, together they pass 100 %); after the
 * threshold payout takes the balance, the next cycle is announced again. On the whole gateway
 * (in-process bus, NowPayments, Telegram and ChangeNow simulators, anvil).
 */
describe('threshold progress messages to the owner', () => {
  let payouts: PayoutGateway;
  let gateway: TestGateway;

  beforeAll(async () => {
    // The parking batch of four payments is worth about $58: below the default minimum batch.
    process.env.CONVERSION_MIN_BATCH_USD_CENTS = '100';
    payouts = await startPayoutGateway({
      maxUsdCents: '100000',
      dailyCapUsdCents: '100000000',
      exchangeUsdtUnits: 10_000_000_000_000n,
      gateway: { deliverTwice: 'concurrently' },
    });
    gateway = payouts.gateway;
  }, 120_000);
  afterAll(async () => {
    await payouts?.stop();
    delete process.env.CONVERSION_MIN_BATCH_USD_CENTS;
  });

  const db = () => gateway.testDb.db;

  /** Subscribers pay the channel's tier at the same moment; then everything they set off runs. */
  async function payAtOnce(channel: SeededChannel, count: number): Promise<void> {
    const checkouts = [];
    for (let index = 0; index < count; index++) checkouts.push(await checkoutFor(gateway, channel, newSubscriber(gateway)));
    await Promise.all(checkouts.map((checkout) => gateway.nowpayments.pay(checkout.invoiceId)));
    await gateway.settle();
  }

  const progressTexts = (channel: SeededChannel) =>
    gateway.telegram
      .messagesTo(channel.ownerTelegramId)
      .map((message) => message.text ?? '')
      .filter((text) => text.includes('Halfway to your payout') || text.includes('Payout threshold reached'));

  it('announces 50 % and 100 % once per cycle, and again after the threshold payout', async () => {
    const channel = await seedChannel(gateway, { strategy: 'threshold', priceCents: PRICE_CENTS });
    await db().query('UPDATE channels SET payout_threshold_cents = $2 WHERE id = $1', [channel.channelId, THRESHOLD_CENTS.toString()]);

    await payAtOnce(channel, 1); // 32 %
    expect(progressTexts(channel)).toEqual([]);
    await payAtOnce(channel, 1); // 64 %
    expect(progressTexts(channel)).toEqual([expect.stringContaining('Halfway to your payout')]);
    expect(progressTexts(channel)[0]).toContain('Balance: ≈ $29.10 of your $45.00 payout threshold (64 %).');
    expect(progressTexts(channel)[0]).toContain('Premium &lt;Club&gt;');

    await payAtOnce(channel, 2); // 97 % for each alone, 129 % together
    expect(progressTexts(channel)).toEqual([expect.stringContaining('Halfway to your payout'), expect.stringContaining('Payout threshold reached')]);
    expect(progressTexts(channel)[1]).toContain('$58.20 of your $45.00 payout threshold (129 %)');
    expect(progressTexts(channel)[1]).toContain('Once the ETH is converted to USDT');

    // Parked in USDT and paid at the threshold: the payout takes the balance and ends the cycle.
    const scenario = thresholdScenario(gateway);
    await scenario.tick('conversion-requested');
    await scenario.trackUntilSettled();
    await scenario.tick('threshold-payouts-requested');
    await scenario.trackUntilSettled();
    const { rows: paid } = await db().query<{ id: string; state: string }>(`SELECT id, state FROM payouts WHERE channel_id = $1 AND kind = 'threshold'`, [channel.channelId]);
    expect(paid).toEqual([{ id: expect.any(String), state: 'completed' }]);
    expect(progressTexts(channel)).toHaveLength(2); // parking and paying announce no mark

    await payAtOnce(channel, 2); // the new cycle: 64 %
    await payAtOnce(channel, 2); // 129 %
    const texts = progressTexts(channel);
    expect(texts).toHaveLength(4);
    expect(texts[2]).toContain('Halfway to your payout');
    expect(texts[3]).toContain('Payout threshold reached');

    // One outbox row per cycle and mark, keyed by the payout that opened the cycle.
    const { rows } = await db().query<{ dedupe_key: string }>(
      `SELECT dedupe_key FROM outbox WHERE topic = 'owner-notification-requested' AND payload->>'kind' = 'threshold_progress' ORDER BY id`,
    );
    const key = (cycle: string, mark: number) => `threshold_progress:${channel.channelId}:${cycle}:${mark}`;
    expect(rows.map((row) => row.dedupe_key)).toEqual([key('first', 50), key('first', 100), key(paid[0]!.id, 50), key(paid[0]!.id, 100)]);
    const { rows: sent } = await db().query<{ status: string; count: bigint }>(
      `SELECT status, count(*) AS count FROM owner_notifications WHERE kind = 'threshold_progress' GROUP BY status`,
    );
    expect(sent).toEqual([{ status: 'sent', count: 4n }]);

    for (const [, sum] of await sumLedgerByAsset(db())) expect(sum).toBe(0n);
    expect((await db().query('SELECT source, reason_code FROM dead_letters')).rows).toEqual([]);
  }, 600_000);
});
