import { setChannelWallet, withDestinationWallets } from '../testing/encrypted-fields.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Tx } from '../db/index.js';
import { balanceOf, ledgerAccountCodes } from '../ledger/index.js';
import { creditOwner, insertChannel, insertCheckout, insertPayment, insertPayout, randomEvmAddress } from '../testing/fixtures.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { retrievePayout, runBalancePayouts, runThresholdPayouts, transitionPayout } from './index.js';
import { returnToOwners } from './payout-row.js';


const HOUR = 3_600_000;

/**
 * An instant channel's owner is owed whatever comes back to their balance (a payout that failed or
 * was refunded, a top-up's net, what the channel held when it left the threshold strategy): the
 * hourly run pays it, after the wallet is fixed when the wallet was the problem, with the same
 * stages, limits and deferrals as any payout.
 */
describe('runBalancePayouts', () => {
  let h: StageHarness;
  const db = () => h.db;

  beforeAll(async () => {
    h = await createStageHarness();
  });
  afterAll(() => h?.close());
  beforeEach(() => h.clock.set(new Date('2026-01-01T00:00:00Z')));

  const run = () => runBalancePayouts(h);
  const ownerBalance = (channelId: string, asset = 'ETH') => balanceOf(db(), ledgerAccountCodes.owner(channelId, asset), asset);

  /** An instant channel with one payment's payout that ended `code` and gave its amount back. */
  async function channelWithReturnedPayout(code: string, options: { at?: Date } = {}) {
    const { channel, tier } = await h.seedChannel({ payoutStrategy: 'instant' });
    const checkout = await insertCheckout(db(), { channelId: channel.id, tierId: tier.id, status: 'paid' });
    const payment = await insertPayment(db(), { checkoutId: checkout.id, status: 'finished', isSettled: true });
    const payout = await insertPayout(db(), { kind: 'instant', channelId: channel.id, paymentId: payment.id, amountUnits: 5_000_000_000_000_000n });
    const at = options.at ?? h.clock.now();
    await db().transaction(async (tx: Tx) => {
      expect(await transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'failed', at, failureCode: code, failureReason: code })).toBe(true);
      await returnToOwners(tx, await retrievePayout(tx, payout.id), { at, kind: 'payout_returned', description: code, backInHotWallet: null });
    });
    return { channel, payout };
  }

  async function balancePayoutsOf(channelId: string) {
    const { rows } = await db().query<{ id: string; asset: string; amount_units: string; state: string; amount_usd_cents: string | null }>(
      `SELECT id, asset, amount_units::text, state, amount_usd_cents::text FROM payouts WHERE channel_id = $1 AND kind = 'balance' ORDER BY created_at`,
      [channelId],
    );
    return withDestinationWallets(db(), rows);
  }

  it('waits while the wallet that failed is still set, and pays the whole balance to the wallet the owner fixed', async () => {
    const { channel } = await channelWithReturnedPayout('invalid_wallet_address');
    expect(await ownerBalance(channel.id)).toBe(5_000_000_000_000_000n);

    h.clock.advance(48 * HOUR);
    await run();
    expect(await balancePayoutsOf(channel.id)).toEqual([]);

    const fixed = randomEvmAddress();
    await setChannelWallet(db(), channel.id, fixed);
    const report = await run();
    expect(report).toMatchObject({ requested: 1 });
    const [payout] = await balancePayoutsOf(channel.id);
    expect(payout).toMatchObject({ asset: 'ETH', amount_units: '5000000000000000', state: 'requested', destination_wallet: fixed });
    // Valued at the channel's latest payment (0.003 ETH for the tier's price), for the outflow limits.
    expect(payout?.amount_usd_cents).not.toBeNull();
    expect(await ownerBalance(channel.id)).toBe(0n);
    const { rows } = await db().query(`SELECT 1 FROM outbox WHERE topic = 'payout-requested' AND payload->>'payoutId' = $1`, [payout?.id]);
    expect(rows).toHaveLength(1);

    // Claimed: an overlapping or later run finds nothing.
    expect(await run()).toMatchObject({ requested: 0 });
    expect(await balancePayoutsOf(channel.id)).toHaveLength(1);
  });

  it('retries a balance that came back for another reason a day later, not at once', async () => {
    const { channel } = await channelWithReturnedPayout('swap_failed');
    h.clock.advance(2 * HOUR);
    expect(await run()).toMatchObject({ requested: 0 });
    h.clock.advance(23 * HOUR);
    expect(await run()).toMatchObject({ requested: 1 });
    expect(await balancePayoutsOf(channel.id)).toHaveLength(1);
  });

  it('after the deferral limit, waits until the balance has grown', async () => {
    const { channel } = await channelWithReturnedPayout('deferral_limit_reached');
    h.clock.advance(48 * HOUR);
    expect(await run()).toMatchObject({ requested: 0 });
    await creditOwner(db(), channel.id, 'ETH', 1_000_000_000_000_000n);
    expect(await run()).toMatchObject({ requested: 1 });
    expect((await balancePayoutsOf(channel.id))[0]?.amount_units).toBe('6000000000000000');
  });

  it('pays what a channel held when it switched from threshold to instant, in each asset', async () => {
    const channel = await insertChannel(db(), { payoutStrategy: 'threshold', payoutThresholdCents: 100_000n });
    await creditOwner(db(), channel.id, 'USDT_ERC20', 12_340_000n);
    await creditOwner(db(), channel.id, 'ETH', 2_000_000_000_000_000n);
    expect(await run()).toMatchObject({ requested: 0 });

    await db().query(`UPDATE channels SET payout_strategy = 'instant', payout_threshold_cents = NULL WHERE id = $1`, [channel.id]);
    expect(await run()).toMatchObject({ requested: 2 });
    const payouts = await balancePayoutsOf(channel.id);
    expect(payouts.map((payout) => [payout.asset, payout.amount_units, payout.amount_usd_cents]).sort()).toEqual([
      // No payment to value the ETH by: its USD value is unknown, so the limits hold it for an operator.
      ['ETH', '2000000000000000', null],
      ['USDT_ERC20', '12340000', '1234'],
    ]);
    expect(await ownerBalance(channel.id, 'USDT_ERC20')).toBe(0n);
  });

  it('holds a threshold owner to the same rules: no hourly retry to a wallet the exchange refused', async () => {
    const channel = await insertChannel(db(), { payoutStrategy: 'threshold', payoutThresholdCents: 1_000n });
    const payout = await insertPayout(db(), { kind: 'threshold', channelId: channel.id, asset: 'USDT_ERC20', amountUnits: 12_000_000n });
    await db().transaction(async (tx: Tx) => {
      await transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'failed', at: h.clock.now(), failureCode: 'changenow_invalid_address', failureReason: 'refused' });
      await returnToOwners(tx, await retrievePayout(tx, payout.id), { at: h.clock.now(), kind: 'payout_returned', description: 'refused', backInHotWallet: null });
    });
    h.clock.advance(48 * HOUR);
    expect(await runThresholdPayouts(h)).toEqual({ due: 1, requested: 0, waiting: 1 });
    await setChannelWallet(db(), channel.id, randomEvmAddress());
    expect(await runThresholdPayouts(h)).toEqual({ due: 1, requested: 1, waiting: 0 });
  });

  it('leaves threshold channels to the threshold run', async () => {
    const channel = await insertChannel(db(), { payoutStrategy: 'threshold' });
    await creditOwner(db(), channel.id, 'ETH', 2_000_000_000_000_000n);
    expect(await run()).toMatchObject({ requested: 0 });
  });
});
