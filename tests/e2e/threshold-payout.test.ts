import { withDestinationWallets } from '../../shared/testing/encrypted-fields.js';
import type { Contract, JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangeNowClient } from '../../shared/changenow/index.js';
import { systemClock } from '../../shared/clock/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { balanceOf, ledgerAccountCodes, sumLedgerByAsset } from '../../shared/ledger/index.js';
import { convertAccumulated, runThresholdPayouts } from '../../shared/payouts/index.js';
import { type PayoutGateway, startPayoutGateway, type TestGateway } from './gateway-harness.js';
import { type SchedulerTopic, thresholdScenario } from './threshold-scenario.js';

// Functions read their configuration when loaded: set it before the gateway starts.
const PAYOUT_MAX_USD_CENTS = '100000';

const PAYMENT_COUNT = 1000;
const CHANNEL_COUNT = 50;
/** Channels 0..4 reach a $20 threshold; the others have one they cannot reach. */
const PAID_CHANNELS = 5;
const OUTCOME_WEI = 1_000_000_000_000_000n; // 0.001 ETH per payment
const logger = createLogger({ write: () => undefined });

/**
 * Threshold owners: many small payments, parked as USDT in one swap, paid when their balance
 * reaches the threshold — every message delivered twice, on anvil with the ChangeNow simulator.
 */
describe('threshold payouts: accumulate, park in USDT in batches, pay at the threshold', () => {
  let payouts: PayoutGateway;
  let gateway: TestGateway;
  let provider: JsonRpcProvider;
  let token: Contract;
  let hotWallet: string;

  beforeAll(async () => {
    payouts = await startPayoutGateway({ maxUsdCents: PAYOUT_MAX_USD_CENTS, dailyCapUsdCents: '100000000', exchangeUsdtUnits: 10_000_000_000_000n });
    ({ gateway, provider, token, hotWallet } = payouts);
  }, 120_000);
  afterAll(() => payouts?.stop());

  const db = () => gateway.testDb.db;
  const changenowSimulator = () => payouts.changenow;
  const changenow = () => createChangeNowClient({ apiUrl: process.env.CHANGENOW_API_URL ?? '', apiKey: process.env.CHANGENOW_API_KEY ?? '' });
  const usdtOf = async (address: string): Promise<bigint> => BigInt(await token.getFunction('balanceOf')(address));

  const scenario = () => thresholdScenario(gateway);
  const thresholdChannel = (thresholdCents: bigint, payout?: { currency: 'USDT' | 'ETH' }) => scenario().thresholdChannel(thresholdCents, payout);
  const settleDonations = (channelIds: readonly string[], count: number) => scenario().settleDonations(channelIds, count, OUTCOME_WEI);
  const tick = (topic: SchedulerTopic) => scenario().tick(topic);
  const trackUntilSettled = () => scenario().trackUntilSettled();

  async function ownerBalance(channelId: string, asset: 'ETH' | 'USDT_ERC20'): Promise<bigint> {
    return balanceOf(db(), ledgerAccountCodes.owner(channelId, asset), asset);
  }

  async function expectLedgerBalancedAndNoDeadLetters(): Promise<void> {
    for (const [, sum] of Object.entries(Object.fromEntries(await sumLedgerByAsset(db())))) expect(sum).toBe(0n);
    const { rows } = await db().query('SELECT source, reason_code FROM dead_letters');
    expect(rows).toEqual([]);
  }

  it(`turns ${PAYMENT_COUNT} payments to ${CHANNEL_COUNT} owners into one parking swap and one payout per owner over threshold`, async () => {
    const channels: { id: string; wallet: string; isPaid: boolean }[] = [];
    for (let index = 0; index < CHANNEL_COUNT; index += 1) {
      const isPaid = index < PAID_CHANNELS;
      // One paid owner takes ETH: their payout is a USDT → ETH swap; the others get USDT directly.
      const channel = await thresholdChannel(isPaid ? 2_000n : 10_000_000n, { currency: index === 0 ? 'ETH' : 'USDT' });
      channels.push({ ...channel, isPaid });
    }
    const nonceBefore = await provider.getTransactionCount(hotWallet);
    const usdtBefore = await usdtOf(hotWallet);

    await settleDonations(channels.map((channel) => channel.id), PAYMENT_COUNT);
    const netPerChannel = await ownerBalance(channels[0]!.id, 'ETH');
    expect(netPerChannel).toBeGreaterThan(0n);
    for (const channel of channels) expect(await ownerBalance(channel.id, 'ETH')).toBe(netPerChannel);
    // Nothing is converted or sent at settlement.
    expect(await provider.getTransactionCount(hotWallet)).toBe(nonceBefore);

    // Parking: one batch claims every owner's ETH (their net only: the platform fee stays in ETH).
    await tick('conversion-requested');
    const { rows: batches } = await db().query<{ id: string; total_from_units: string }>('SELECT id, total_from_units::text FROM conversion_batches');
    expect(batches).toHaveLength(1);
    expect(BigInt(batches[0]!.total_from_units)).toBe(netPerChannel * BigInt(CHANNEL_COUNT));
    const platformFees = await balanceOf(db(), ledgerAccountCodes.platformFees('ETH'), 'ETH');
    expect(platformFees + BigInt(batches[0]!.total_from_units)).toBe(OUTCOME_WEI * BigInt(PAYMENT_COUNT));
    await tick('conversion-requested'); // a second tick finds nothing left to claim
    expect((await db().query('SELECT 1 FROM conversion_batches')).rows).toHaveLength(1);
    await trackUntilSettled();

    // What arrived is split exactly: Σ shares = USDT received = what the hot wallet got on chain.
    const { rows: distributed } = await db().query<{ state: string; received_to_units: string }>('SELECT state, received_to_units::text FROM conversion_batches');
    expect(distributed[0]?.state).toBe('distributed');
    const received = BigInt(distributed[0]!.received_to_units);
    const { rows: shares } = await db().query<{ channel_id: string; to_units: string }>('SELECT channel_id, to_units::text FROM conversion_batch_shares');
    expect(shares).toHaveLength(CHANNEL_COUNT);
    expect(shares.reduce((sum, share) => sum + BigInt(share.to_units), 0n)).toBe(received);
    expect((await usdtOf(hotWallet)) - usdtBefore).toBe(received);
    for (const share of shares) expect(await ownerBalance(share.channel_id, 'USDT_ERC20')).toBe(BigInt(share.to_units));
    for (const channel of channels) expect(await ownerBalance(channel.id, 'ETH')).toBe(0n);

    // Payouts: exactly the owners over their threshold, each for exactly their balance.
    await tick('threshold-payouts-requested');
    await tick('threshold-payouts-requested'); // an overlapping or repeated run claims nothing twice
    await trackUntilSettled();
    const payouts = await withDestinationWallets(
      db(),
      (await db().query<{ id: string; channel_id: string; state: string; amount_units: string }>(`SELECT id, channel_id, state, amount_units::text FROM payouts WHERE kind = 'threshold' ORDER BY channel_id`)).rows,
    );
    expect(payouts).toHaveLength(PAID_CHANNELS);
    const paid = channels.filter((channel) => channel.isPaid);
    for (const payout of payouts) {
      expect(payout.state).toBe('completed');
      const channel = paid.find((candidate) => candidate.id === payout.channel_id);
      expect(channel).toBeDefined();
      expect(payout.destination_wallet).toBe(channel?.wallet);
      expect(BigInt(payout.amount_units)).toBe(BigInt(shares.find((share) => share.channel_id === payout.channel_id)!.to_units));
      expect(await ownerBalance(payout.channel_id, 'USDT_ERC20')).toBe(0n);
    }
    for (const channel of paid.slice(1)) {
      expect(await usdtOf(channel.wallet)).toBe(BigInt(payouts.find((payout) => payout.channel_id === channel.id)!.amount_units));
    }
    expect(await provider.getBalance(paid[0]!.wallet)).toBeGreaterThan(0n); // the ETH taker, through ChangeNow
    for (const channel of channels.filter((candidate) => !candidate.isPaid)) expect(await ownerBalance(channel.id, 'USDT_ERC20')).toBeGreaterThan(0n);

    // 1 parking transfer + 1 per paid owner, against one per payment before.
    const transactions = (await provider.getTransactionCount(hotWallet)) - nonceBefore;
    expect(transactions).toBe(1 + PAID_CHANNELS);
    expect(transactions).toBeLessThanOrEqual(10);
    await expectLedgerBalancedAndNoDeadLetters();
  }, 600_000);

  it('claims nothing twice when two ticks overlap, and a payment settled while a batch is in flight joins the next batch', async () => {
    const channels = [await thresholdChannel(10_000_000n), await thresholdChannel(10_000_000n), await thresholdChannel(10_000_000n)];
    await settleDonations(channels.map((channel) => channel.id), 30);
    const deps = { db: db(), clock: systemClock, logger, changenow: changenow(), hotWalletAddress: hotWallet, minBatchUsdCents: 1n };
    const results = await Promise.all([convertAccumulated(deps), convertAccumulated(deps), convertAccumulated(deps)]);
    const claimed = results.filter((result) => result.outcome === 'claimed');
    expect(claimed).toHaveLength(1);
    const first = claimed[0]!;
    if (first.outcome !== 'claimed') throw new Error('unreachable');
    expect(first.channelCount).toBe(3);

    // The first batch is in flight (claimed, not yet swapped); a new payment arrives for one owner.
    await settleDonations([channels[1]!.id], 2); // two: one alone is below the exchange minimum
    const second = await convertAccumulated(deps);
    expect(second.outcome).toBe('claimed');
    if (second.outcome !== 'claimed') throw new Error('unreachable');
    expect(second.channelCount).toBe(1);
    const { rows: secondShares } = await db().query<{ channel_id: string }>('SELECT channel_id FROM conversion_batch_shares WHERE batch_id = $1', [second.batchId]);
    expect(secondShares.map((share) => share.channel_id)).toEqual([channels[1]!.id]);
    await tick('outbox-relay-requested');
    await trackUntilSettled();
    const { rows } = await db().query<{ state: string }>('SELECT state FROM conversion_batches WHERE id = ANY($1) ORDER BY state', [[first.batchId, second.batchId]]);
    expect(rows.map((row) => row.state)).toEqual(['distributed', 'distributed']);

    // Two threshold runs at once pay an owner over the threshold once.
    await db().query('UPDATE channels SET payout_threshold_cents = 100 WHERE id = $1', [channels[2]!.id]);
    const reports = await Promise.all([runThresholdPayouts({ db: db(), clock: systemClock, logger }), runThresholdPayouts({ db: db(), clock: systemClock, logger })]);
    expect(reports.reduce((sum, report) => sum + report.requested, 0)).toBe(1);
    expect((await db().query(`SELECT 1 FROM payouts WHERE kind = 'threshold' AND channel_id = $1`, [channels[2]!.id])).rows).toHaveLength(1);
    await tick('outbox-relay-requested');
    await trackUntilSettled();
    await expectLedgerBalancedAndNoDeadLetters();
  }, 300_000);

  it('returns every share when the parking swap fails, and restores the balance when a threshold payout fails', async () => {
    const channels = [await thresholdChannel(10_000_000n), await thresholdChannel(10_000_000n)];
    await settleDonations(channels.map((channel) => channel.id), 20);
    const before = await Promise.all(channels.map((channel) => ownerBalance(channel.id, 'ETH')));
    const deps = { db: db(), clock: systemClock, logger, changenow: changenow(), hotWalletAddress: hotWallet, minBatchUsdCents: 1n };
    const batch = await convertAccumulated(deps);
    if (batch.outcome !== 'claimed') throw new Error(`expected a batch, got ${batch.outcome}`);
    for (const channel of channels) expect(await ownerBalance(channel.id, 'ETH')).toBe(0n);
    await tick('outbox-relay-requested'); // quote, swap, transfer
    const { rows: swaps } = await db().query<{ provider_exchange_id: string }>('SELECT provider_exchange_id FROM swaps WHERE payout_id = $1', [batch.payoutId]);
    // Failed, then refunded by ChangeNow support: only then does the batch fail and every share return.
    changenowSimulator().setOutcome(swaps[0]!.provider_exchange_id, 'failed');
    await trackUntilSettled();
    const { rows: failed } = await db().query<{ state: string }>('SELECT state FROM conversion_batches WHERE id = $1', [batch.batchId]);
    expect(failed[0]?.state).toBe('failed');
    expect(await Promise.all(channels.map((channel) => ownerBalance(channel.id, 'ETH')))).toEqual(before);

    // A threshold payout ChangeNow refuses (bad address for the ETH swap) gives the USDT back.
    const owner = await thresholdChannel(100n, { currency: 'ETH' });
    await settleDonations([owner.id], 10);
    const parked = await convertAccumulated(deps);
    expect(parked.outcome).toBe('claimed');
    await tick('outbox-relay-requested');
    await trackUntilSettled();
    const usdt = await ownerBalance(owner.id, 'USDT_ERC20');
    expect(usdt).toBeGreaterThan(0n);
    changenowSimulator().failNext('POST /v2/exchange', 400, { error: 'not_valid_address', message: 'Invalid address' });
    await tick('threshold-payouts-requested');
    const { rows: payouts } = await db().query<{ state: string; failure_code: string }>(`SELECT state, failure_code FROM payouts WHERE channel_id = $1`, [owner.id]);
    expect(payouts).toEqual([{ state: 'failed', failure_code: 'changenow_invalid_address' }]);
    expect(await ownerBalance(owner.id, 'USDT_ERC20')).toBe(usdt);
    await expectLedgerBalancedAndNoDeadLetters();
  }, 300_000);
});
