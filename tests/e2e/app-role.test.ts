import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumLedgerByAsset } from '../../shared/ledger/index.js';
import { APP_ROLE, asAppRole } from '../../shared/testing/app-role.js';
import { checkoutFor, newSubscriber, seedChannel, startTestGateway, type TestGateway } from './gateway-harness.js';

/**
 * The whole money path with every function's statement run as `paygate_app` (sql/027), the role
 * production functions connect as: checkout, IPN, settlement, invite, ledger, the instant payout to
 * its confirmation, and a payout held by the limits with its audit row. Only the test's own set-up
 * and reads use the owner.
 */
describe(`the money path as ${APP_ROLE}, every message delivered twice`, () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    process.env.PAYOUT_MAX_USD_CENTS = '5000';
    process.env.PAYOUT_DAILY_CAP_USD_CENTS = '1000000';
    gateway = await startTestGateway({ wrapDb: asAppRole });
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
    delete process.env.PAYOUT_MAX_USD_CENTS;
    delete process.env.PAYOUT_DAILY_CAP_USD_CENTS;
  });

  const payoutsOf = async (channelId: string) =>
    (await gateway.testDb.db.query<{ id: string; state: string }>('SELECT id, state FROM payouts WHERE channel_id = $1', [channelId])).rows;

  it('takes a payment to access and an instant payout to completed, with nothing refused', async () => {
    const db = gateway.testDb.db;
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 1999n });
    const subscriber = newSubscriber(gateway);
    const checkout = await checkoutFor(gateway, channel, subscriber);
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    await gateway.runtime.bus?.publish('payout-tracking-requested', { job: 'track-payouts' });
    await gateway.settle();

    const { rows: subscriptions } = await db.query<{ status: string }>('SELECT status FROM subscriptions WHERE telegram_user_id = $1 AND channel_id = $2', [subscriber.id, channel.channelId]);
    expect(subscriptions).toEqual([{ status: 'active' }]);
    expect(gateway.telegram.callsTo('createChatInviteLink').filter((call) => call.ok)).toHaveLength(1);
    expect((await payoutsOf(channel.channelId)).map((payout) => payout.state)).toEqual(['completed']);
    for (const [, sum] of await sumLedgerByAsset(db)) expect(sum).toBe(0n);
    expect((await db.query('SELECT source, reason_code FROM dead_letters')).rows).toEqual([]);
    expect(gateway.logLines.filter((line) => line.includes('permission denied') || line.includes('42501'))).toEqual([]);
  });

  it('holds a payout over the limit and audits it', async () => {
    const channel = await seedChannel(gateway, { strategy: 'instant', priceCents: 9999n });
    const checkout = await checkoutFor(gateway, channel, newSubscriber(gateway));
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    const [payout] = await payoutsOf(channel.channelId);
    expect(payout?.state).toBe('held');
    const { rows } = await gateway.testDb.db.query<{ action: string; actor_type: string }>('SELECT action, actor_type FROM audit_log WHERE subject_id = $1', [payout?.id]);
    expect(rows).toEqual([{ action: 'payout.held', actor_type: 'system' }]);
  });
});
