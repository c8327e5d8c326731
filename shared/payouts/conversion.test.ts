import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChangeNowClient, createChangeNowClient } from '../changenow/index.js';
import { balanceOf, ledgerAccountCodes } from '../ledger/index.js';
import { createLogger } from '../logging/index.js';
import { startChangeNowSimulator, type ChangeNowSimulator } from '../testing/simulators/changenow-simulator.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { creditOwner, FIXTURE_NOW, insertChannel, insertConversionBatch } from '../testing/fixtures.js';
import { convertAccumulated, MAX_DEFERRALS, quotePayout, transitionPayout } from './index.js';

const ETH = 1_000_000_000_000_000_000n;
const logger = createLogger({ write: () => undefined });

describe('parking threshold owners’ ETH', () => {
  let testDb: TestDatabase;
  let changenow: ChangeNowSimulator;
  let strictChangenow: ChangeNowSimulator;
  const clock = createFakeClock(FIXTURE_NOW);
  const db = () => testDb.db;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    changenow = await startChangeNowSimulator({ apiKey: 'test-key', pollIntervalMs: 0 });
    // An exchange whose minimum for ETH → USDT is far above any batch here.
    strictChangenow = await startChangeNowSimulator({ apiKey: 'test-key', pollIntervalMs: 0, minAmounts: { 'eth->usdt': '50' } });
  });
  afterAll(async () => {
    await changenow?.close();
    await strictChangenow?.close();
    await testDb?.dispose();
  });

  const clientOf = (simulator: ChangeNowSimulator) => createChangeNowClient({ apiUrl: simulator.apiUrl, apiKey: 'test-key' });
  const conversionDeps = (client: ChangeNowClient) => ({
    db: db(),
    clock,
    logger,
    changenow: client,
    hotWalletAddress: '0x1111111111111111111111111111111111111111',
    minBatchUsdCents: 2_000n,
  });
  const batchCount = () => db().query<{ n: bigint }>('SELECT count(*) AS n FROM conversion_batches').then((result) => result.rows[0]?.n);

  it('does not claim the dust an overlapping tick left: the minimums are checked again under the lock', async () => {
    const channel = await insertChannel(db(), { payoutStrategy: 'threshold' });
    await creditOwner(db(), channel.id, 'ETH', ETH / 100n); // 0.01 ETH ≈ $30: one batch's worth
    const batchesBefore = await batchCount();

    // Tick B reads the balances and asks ChangeNow; meanwhile tick A claims them and a payment of dust settles.
    const real = clientOf(changenow);
    let isFirstEstimate = true;
    const overlapped: ChangeNowClient = {
      ...real,
      estimate: async (pair, amount) => {
        const estimate = await real.estimate(pair, amount);
        if (isFirstEstimate) {
          isFirstEstimate = false;
          expect((await convertAccumulated(conversionDeps(real))).outcome).toBe('claimed');
          await creditOwner(db(), channel.id, 'ETH', ETH / 10_000n); // 0.0001 ETH
        }
        return estimate;
      },
    };
    const late = await convertAccumulated(conversionDeps(overlapped));

    expect(late).toMatchObject({ outcome: 'below_minimum', totalUnits: ETH / 10_000n });
    expect(await batchCount()).toBe((batchesBefore ?? 0n) + 1n);
    expect(await balanceOf(db(), ledgerAccountCodes.owner(channel.id, 'ETH'), 'ETH')).toBe(ETH / 10_000n);
  });

  it(`ends a batch deferred ${MAX_DEFERRALS} times: the batch fails, every share returns to its owner, one alert`, async () => {
    const inFlight = () => balanceOf(db(), ledgerAccountCodes.payoutsInFlight('ETH'), 'ETH');
    const inFlightBefore = await inFlight();
    const first = await insertChannel(db(), { payoutStrategy: 'threshold' });
    const second = await insertChannel(db(), { payoutStrategy: 'threshold' });
    const batch = await insertConversionBatch(db(), [
      { channelId: first.id, fromUnits: 3n * (ETH / 1000n) },
      { channelId: second.id, fromUnits: 4n * (ETH / 1000n) },
    ]);
    const deps = { db: db(), clock, logger, changenow: clientOf(strictChangenow), limits: { perPayoutMaxUsdCents: 10n ** 9n, dailyCapUsdCents: 10n ** 9n } };

    for (let deferral = 1; deferral <= MAX_DEFERRALS; deferral++) {
      expect(await quotePayout(deps, batch.payout.id)).toBe('deferred');
      clock.advance(3_600_000);
      await db().transaction((tx) => transitionPayout(tx, { payoutId: batch.payout.id, from: 'deferred', to: 'requested', at: clock.now() }));
    }
    expect(await quotePayout(deps, batch.payout.id)).toBe('failed');
    expect(await quotePayout(deps, batch.payout.id)).toBe('skipped');

    const { rows } = await db().query<{ state: string; failure_code: string; deferral_count: number; batch_state: string }>(
      `SELECT p.state, p.failure_code, p.deferral_count, b.state AS batch_state FROM payouts p JOIN conversion_batches b ON b.payout_id = p.id WHERE p.id = $1`,
      [batch.payout.id],
    );
    expect(rows[0]).toEqual({ state: 'failed', failure_code: 'deferral_limit_reached', deferral_count: MAX_DEFERRALS, batch_state: 'failed' });
    expect(await balanceOf(db(), ledgerAccountCodes.owner(first.id, 'ETH'), 'ETH')).toBe(3n * (ETH / 1000n));
    expect(await balanceOf(db(), ledgerAccountCodes.owner(second.id, 'ETH'), 'ETH')).toBe(4n * (ETH / 1000n));
    expect(await inFlight()).toBe(inFlightBefore);
    const alerts = await db().query('SELECT alert FROM operator_alerts WHERE subject_id = $1', [batch.payout.id]);
    expect(alerts.rows).toEqual([{ alert: 'payout.deferral_limit_reached' }]);
  });
});
