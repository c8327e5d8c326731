/**
 * On-chain transactions per 1,000 threshold payments: ours (one parking swap per batch, one payout
 * per owner over threshold) next to the legacy figure (one ETH→USDT swap transfer per payment, the
 * accumulator design it replaced), and the hot wallet's gas for both counts. Runs the whole gateway
 * on anvil with the ChangeNow simulator, as the e2e test does. `npm run bench -- threshold-transactions`
 * (DATABASE_URL → PostgreSQL, else embedded PGlite). BENCH_PAYMENTS, BENCH_OWNERS, BENCH_PAID_OWNERS
 * change the shape.
 */
import { startPayoutGateway } from '../tests/e2e/gateway-harness.js';
import { thresholdScenario } from '../tests/e2e/threshold-scenario.js';

const PAYMENTS = Number.parseInt(process.env.BENCH_PAYMENTS ?? '1000', 10);
const OWNERS = Number.parseInt(process.env.BENCH_OWNERS ?? '50', 10);
const PAID_OWNERS = Number.parseInt(process.env.BENCH_PAID_OWNERS ?? '5', 10);

const { gateway, provider, hotWallet, stop } = await startPayoutGateway({ maxUsdCents: '10000000', dailyCapUsdCents: '1000000000', exchangeUsdtUnits: 10n ** 15n });
try {
  const scenario = thresholdScenario(gateway);
  const channelIds: string[] = [];
  for (let index = 0; index < OWNERS; index += 1) channelIds.push((await scenario.thresholdChannel(index < PAID_OWNERS ? 2_000n : 100_000_000n)).id);
  const nonceBefore = await provider.getTransactionCount(hotWallet);
  const started = process.hrtime.bigint();
  await scenario.settleDonations(channelIds, PAYMENTS, 1_000_000_000_000_000n);
  const settled = process.hrtime.bigint();
  await scenario.tick('conversion-requested');
  await scenario.trackUntilSettled();
  await scenario.tick('threshold-payouts-requested');
  await scenario.trackUntilSettled();
  const finished = process.hrtime.bigint();

  const ours = (await provider.getTransactionCount(hotWallet)) - nonceBefore;
  const { rows } = await gateway.testDb.db.query<{ gas: string | null; count: string }>(
    `SELECT sum(fee_units)::text AS gas, count(*)::text AS count FROM chain_transfers WHERE status = 'confirmed'`,
  );
  const gasPerTransfer = rows[0]?.gas && rows[0].count !== '0' ? BigInt(rows[0].gas) / BigInt(rows[0].count) : 0n;
  const legacy = PAYMENTS; // one swap transfer per payment
  const ms = (from: bigint, to: bigint) => (Number(to - from) / 1e6).toFixed(0);
  console.log(`${PAYMENTS} threshold payments to ${OWNERS} owners (${PAID_OWNERS} over their threshold), on ${gateway.testDb.kind}`);
  console.log(`on-chain transactions from the hot wallet   ours ${String(ours).padStart(6)}   legacy ${String(legacy).padStart(6)}   ×${(legacy / Math.max(ours, 1)).toFixed(0)} fewer`);
  console.log(`gas at anvil prices (wei)                   ours ${(gasPerTransfer * BigInt(ours)).toString().padStart(16)}   legacy ≈ ${(gasPerTransfer * BigInt(legacy)).toString()}`);
  console.log(`time: settle ${ms(started, settled)} ms, park + pay ${ms(settled, finished)} ms`);
} finally {
  await stop();
}
