import { systemClock } from '../../shared/clock/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { formatUnits } from '../../shared/money/index.js';
import { settlePayment } from '../../shared/payments/index.js';
import { insertChannel, insertTelegramUser, randomEvmAddress } from '../../shared/testing/fixtures.js';
import type { TestGateway } from './gateway-harness.js';

export type SchedulerTopic = 'conversion-requested' | 'threshold-payouts-requested' | 'payout-tracking-requested' | 'outbox-relay-requested';

const JOBS: Record<SchedulerTopic, string> = {
  'conversion-requested': 'convert-accumulated',
  'threshold-payouts-requested': 'run-threshold-payouts',
  'payout-tracking-requested': 'track-payouts',
  'outbox-relay-requested': 'relay-outbox',
};

/**
 * The moves of a threshold-payout scenario on a test gateway (tests/e2e/threshold-payout.test.ts
 * and bench/threshold-transactions.ts): owners, many small settled payments, scheduler ticks, and
 * tracking until nothing is in flight.
 */
export function thresholdScenario(gateway: TestGateway) {
  const db = gateway.testDb.db;

  async function thresholdChannel(thresholdCents: bigint, payout: { currency: 'USDT' | 'ETH' } = { currency: 'USDT' }): Promise<{ id: string; wallet: string }> {
    const wallet = randomEvmAddress();
    const channel = await insertChannel(db, { payoutStrategy: 'threshold', payoutThresholdCents: thresholdCents, payoutCurrency: payout.currency, payoutNetwork: 'ETH', payoutWallet: wallet });
    return { id: channel.id, wallet };
  }

  /**
   * `count` donations of `outcomeWei` each (no invite to send), round-robin over the channels, settled
   * by the settle-payment stage twice each (the second does nothing). Called directly rather than
   * through the bus: a thousand payments at once would mostly measure the in-process bus, and the
   * bus path of settlement has its own tests.
   */
  async function settleDonations(channelIds: readonly string[], count: number, outcomeWei: bigint): Promise<void> {
    const donor = await insertTelegramUser(db);
    const { rows } = await db.query<{ id: string }>(
      `WITH donations AS (
         SELECT gen_random_uuid() AS checkout_id, gen_random_uuid() AS payment_id, ($2::uuid[])[1 + (n % array_length($2::uuid[], 1))] AS channel_id, n
           FROM generate_series(0, $3 - 1) AS n),
       checkouts_in AS (
         INSERT INTO checkouts (id, kind, telegram_user_id, channel_id, price_cents, status, created_at, expires_at, paid_at, updated_at)
         SELECT checkout_id, 'donation', $1, channel_id, 300, 'paid', now(), now() + interval '1 day', now(), now() FROM donations
         RETURNING id)
       INSERT INTO payments (id, provider, provider_payment_id, checkout_id, status, pay_currency, pay_amount, actually_paid, price_amount_cents,
                             outcome_currency, outcome_amount, outcome_asset, outcome_units, settled_at, settled_outcome_units, created_at, updated_at)
       SELECT d.payment_id, 'nowpayments', (floor(random() * 1e11)::bigint * 10000 + n)::text, d.checkout_id, 'finished', 'btc',
              '0.00005', '0.00005', 300, 'eth', $4, 'ETH', $5, now(), $5, now(), now()
         FROM donations d JOIN checkouts_in c ON c.id = d.checkout_id
       RETURNING id`,
      [donor.id.toString(), channelIds, count, formatUnits(outcomeWei, 18), outcomeWei.toString()],
    );
    const deps = { db, clock: systemClock, logger: createLogger({ write: () => undefined }), platformFeeBps: 300 };
    for (let start = 0; start < rows.length; start += 10) {
      await Promise.all(
        rows.slice(start, start + 10).flatMap(({ id }) => {
          const key = { consumer: 'settle-payment', topic: 'payment-settled', messageId: `settled:${id}` };
          return [settlePayment(deps, key, id), settlePayment(deps, key, id)];
        }),
      );
    }
  }

  /** What Cloud Scheduler would publish, then everything it sets off. */
  async function tick(topic: SchedulerTopic): Promise<void> {
    await gateway.runtime.bus?.publish(topic, { job: JOBS[topic] });
    await gateway.settle();
  }

  /** Track-payouts ticks (the exchange simulator moving between them) until no payout is in flight. */
  async function trackUntilSettled(): Promise<void> {
    const exchange = gateway.runtime.simulators.changenow;
    if (!exchange) throw new Error('the runtime did not start the ChangeNow simulator');
    for (let round = 0; round < 40; round += 1) {
      const { rows } = await db.query<{ open: string }>(
        `SELECT count(*)::text AS open FROM payouts WHERE state IN ('requested', 'quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap', 'needs_attention')`,
      );
      if (rows[0]?.open === '0') return;
      await exchange.advance();
      await tick('payout-tracking-requested');
    }
    throw new Error('payouts still in flight after 40 tracking rounds');
  }

  return { thresholdChannel, settleDonations, tick, trackUntilSettled };
}
