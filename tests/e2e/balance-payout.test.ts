import { setChannelWallet, withDestinationWallets } from '../../shared/testing/encrypted-fields.js';
import { type Contract, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, ledgerAccountCodes, sumLedgerByAsset } from '../../shared/ledger/index.js';
import { checkoutFor, newSubscriber, type PayoutGateway, seedChannel, startPayoutGateway, type TestGateway } from './gateway-harness.js';

/**
 * An instant channel's payout fails and its amount comes back to the owner's balance: the balance is
 * paid again by the hourly run, once the owner has fixed the wallet the exchange refused — on anvil
 * with the ChangeNow simulator, every message delivered twice.
 */
describe('an instant owner’s returned balance', () => {
  let payouts: PayoutGateway;
  let gateway: TestGateway;
  let token: Contract;

  beforeAll(async () => {
    payouts = await startPayoutGateway({ maxUsdCents: '5000', dailyCapUsdCents: '1000000', exchangeUsdtUnits: 1_000_000_000_000n });
    ({ gateway, token } = payouts);
  }, 120_000);
  afterAll(() => payouts?.stop());

  const db = () => gateway.testDb.db;
  const tick = async (topic: 'threshold-payouts-requested' | 'payout-tracking-requested', job: string) => {
    await gateway.runtime.bus?.publish(topic, { job });
    await gateway.settle();
  };

  it('is paid to the wallet the owner fixed, after the exchange refused the old one', async () => {
    const channel = await seedChannel(gateway, { strategy: 'instant' });
    const refused = Wallet.createRandom().address;
    await db().query(`UPDATE channels SET payout_currency = 'USDT', payout_network = 'ETH' WHERE id = $1`, [channel.channelId]);
    await setChannelWallet(db(), channel.channelId, refused);
    payouts.changenow.failNext('POST /v2/exchange', 400, { error: 'not_valid_address', message: 'Invalid address' });
    const checkout = await checkoutFor(gateway, channel, newSubscriber(gateway));
    await gateway.nowpayments.pay(checkout.invoiceId);
    await gateway.settle();
    const owner = ledgerAccountCodes.owner(channel.channelId, 'ETH');
    const returned = await balanceOf(db(), owner, 'ETH');
    expect(returned).toBeGreaterThan(0n);

    // The same wallet would be refused again: the run leaves it.
    await tick('threshold-payouts-requested', 'run-threshold-payouts');
    expect((await db().query(`SELECT 1 FROM payouts WHERE channel_id = $1 AND kind = 'balance'`, [channel.channelId])).rows).toEqual([]);

    const fixed = Wallet.createRandom().address;
    await setChannelWallet(db(), channel.channelId, fixed);
    await tick('threshold-payouts-requested', 'run-threshold-payouts');
    const rows = await withDestinationWallets(
      db(),
      (await db().query<{ id: string; amount_units: string }>(`SELECT id, amount_units::text FROM payouts WHERE channel_id = $1 AND kind = 'balance'`, [channel.channelId])).rows,
    );
    expect(rows).toEqual([{ id: expect.any(String), amount_units: returned.toString(), destination_wallet: fixed }]);
    expect(await balanceOf(db(), owner, 'ETH')).toBe(0n);

    let state = '';
    for (let round = 0; round < 30 && state !== 'completed'; round += 1) {
      await payouts.changenow.advance();
      await tick('payout-tracking-requested', 'track-payouts');
      state = (await db().query<{ state: string }>('SELECT state FROM payouts WHERE id = $1', [rows[0]?.id])).rows[0]?.state ?? '';
    }
    expect(state).toBe('completed');
    expect(BigInt(await token.getFunction('balanceOf')(fixed))).toBeGreaterThan(0n);
    expect(BigInt(await token.getFunction('balanceOf')(refused))).toBe(0n);
    expect(gateway.telegram.messagesTo(channel.ownerTelegramId).some((message) => message.text?.includes('Payout sent'))).toBe(true);
    for (const [, sum] of await sumLedgerByAsset(db())) expect(sum).toBe(0n);
    expect((await db().query('SELECT source, reason_code FROM dead_letters')).rows).toEqual([]);
  });
});
