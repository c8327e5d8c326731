import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangeNowClient } from '../changenow/index.js';
import { createChain } from '../chain/index.js';
import { createChainProvider } from '../testing/ethers-provider.js';
import { startChangeNowSimulator, type ChangeNowSimulator } from '../testing/simulators/changenow-simulator.js';
import { FIXTURE_NOW, insertChannel, insertPayout, insertSwap, movePayout, type PayoutFixture } from '../testing/fixtures.js';
import { createStageHarness, type StageHarness } from '../testing/stage-harness.js';
import { type PayoutState, trackPayouts } from './index.js';

const MINUTE = 60_000;

describe('trackPayouts: the owner of every non-terminal payout', () => {
  let h: StageHarness;
  let changenow: ChangeNowSimulator;
  const db = () => h.db;

  beforeAll(async () => {
    h = await createStageHarness();
    changenow = await startChangeNowSimulator({ apiKey: 'test-key', pollIntervalMs: 0 });
  });
  afterAll(async () => {
    await changenow?.close();
    await h?.close();
  });

  const deps = () => ({
    db: db(),
    clock: h.clock,
    logger: h.logger,
    changenow: createChangeNowClient({ apiUrl: changenow.apiUrl, apiKey: 'test-key' }),
    // Nothing here is signed or broadcast: a node that is never asked.
    chain: createChain(createChainProvider('http://127.0.0.1:9', { chainId: 31337 })),
    settings: { chainId: 31337n, maxFeePerGasCapWei: 1n, tokenContracts: {} },
    confirmations: 1,
  });

  async function payoutIn(state: PayoutState, options: { channelId?: string; at?: Date } = {}): Promise<PayoutFixture> {
    const payout = await insertPayout(db(), { channelId: options.channelId });
    await movePayout(db(), payout.id, state, { at: options.at ?? h.clock.now() });
    return payout;
  }

  const stageMessages = (payoutId: string) =>
    db()
      .query<{ topic: string }>(`SELECT topic FROM outbox WHERE payload->>'payoutId' = $1 AND dedupe_key LIKE 'redrive:%' ORDER BY id`, [payoutId])
      .then((result) => result.rows.map((row) => row.topic));

  it('publishes the stage message again for a payout whose message was lost, after 10 minutes, then spaced out', async () => {
    h.clock.set(FIXTURE_NOW);
    const requested = await payoutIn('requested');
    h.clock.advance(5 * MINUTE);
    await trackPayouts(deps());
    expect(await stageMessages(requested.id)).toEqual([]);

    h.clock.advance(6 * MINUTE);
    const report = await trackPayouts(deps());
    expect(report.redriven).toBeGreaterThanOrEqual(1);
    expect(await stageMessages(requested.id)).toEqual(['payout-requested']);

    // Two more ticks a minute apart (one overlapping the other) publish nothing more.
    h.clock.advance(MINUTE);
    await Promise.all([trackPayouts(deps()), trackPayouts(deps())]);
    expect(await stageMessages(requested.id)).toEqual(['payout-requested']);

    // Half its age later (about 6 minutes at 12 minutes old, at least 10) it is published again.
    h.clock.advance(10 * MINUTE);
    await trackPayouts(deps());
    expect(await stageMessages(requested.id)).toEqual(['payout-requested', 'payout-requested']);
  });

  it('re-drives each stage state with the message of the stage it waits for', async () => {
    h.clock.set(new Date(FIXTURE_NOW.getTime() + 86_400_000));
    const swapChannel = await insertChannel(db(), { payoutCurrency: 'BTC', payoutNetwork: 'BTC', payoutWallet: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq' });
    const directQuoted = await payoutIn('quoted');
    const swapQuoted = await payoutIn('quoted', { channelId: swapChannel.id });
    const swapCreated = await payoutIn('swap_created', { channelId: swapChannel.id });
    await insertSwap(db(), swapCreated);
    const held = await payoutIn('held');
    h.clock.advance(11 * MINUTE);
    await trackPayouts(deps());
    expect(await stageMessages(directQuoted.id)).toEqual(['transfer-requested']);
    expect(await stageMessages(swapQuoted.id)).toEqual(['payout-quoted']);
    expect(await stageMessages(swapCreated.id)).toEqual(['transfer-requested']);
    expect(await stageMessages(held.id)).toEqual([]);
  });

  it('leaves a payout that moved on alone', async () => {
    h.clock.set(new Date(FIXTURE_NOW.getTime() + 2 * 86_400_000));
    const payout = await payoutIn('requested');
    h.clock.advance(11 * MINUTE);
    await movePayout(db(), payout.id, 'quoted', { at: h.clock.now() });
    await trackPayouts(deps());
    expect(await stageMessages(payout.id)).toEqual([]);
  });

  it('looks at every due payout in one tick, oldest check first, however many never change state', async () => {
    h.clock.set(new Date(FIXTURE_NOW.getTime() + 3 * 86_400_000));
    const client = createChangeNowClient({ apiUrl: changenow.apiUrl, apiKey: 'test-key' });
    const channel = await insertChannel(db(), { payoutCurrency: 'BTC', payoutNetwork: 'BTC', payoutWallet: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq' });
    const swapIds: string[] = [];
    // 150 exchanges ChangeNow never moves (no deposit seen), and one newer.
    for (let i = 0; i < 151; i++) {
      if (i === 150) h.clock.advance(MINUTE);
      const payout = await payoutIn('awaiting_swap', { channelId: channel.id });
      const exchange = await client.createExchange({
        pair: { fromCurrency: 'eth', fromNetwork: 'eth', toCurrency: 'btc', toNetwork: 'btc' },
        fromAmount: '0.002',
        address: payout.destinationWallet,
        refundAddress: '0x1111111111111111111111111111111111111111',
        flow: 'standard',
      });
      swapIds.push((await insertSwap(db(), payout, { providerExchangeId: exchange.id })).id);
    }
    h.clock.advance(MINUTE);
    const report = await trackPayouts(deps());
    expect(report.checked).toBeGreaterThanOrEqual(151);
    const { rows } = await db().query<{ unchecked: bigint }>('SELECT count(*) AS unchecked FROM swaps WHERE id = ANY($1) AND status_checked_at IS DISTINCT FROM $2', [swapIds, h.clock.now()]);
    expect(rows[0]?.unchecked).toBe(0n);

    // The next tick looks at them all again, the oldest check first.
    h.clock.advance(MINUTE);
    expect((await trackPayouts(deps())).checked).toBeGreaterThanOrEqual(151);
  }, 60_000);
});
