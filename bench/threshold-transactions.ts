/**
 * On-chain transactions per 1,000 threshold payments: ours (one parking swap per batch, one payout
 * per owner over threshold) next to the legacy figure (one ETH→USDT swap transfer per payment, the
 * accumulator design it replaced), and the hot wallet's gas for both counts. Runs the whole gateway
 * on anvil with the ChangeNow simulator, as the e2e test does. `npm run bench -- threshold-transactions`
 * (DATABASE_URL → PostgreSQL, else embedded PGlite). BENCH_PAYMENTS, BENCH_OWNERS, BENCH_PAID_OWNERS
 * change the shape; `--quick` runs 50 payments to 5 owners (2 over their threshold).
 */
import { startPayoutGateway } from '../tests/e2e/gateway-harness.js';
import { thresholdScenario } from '../tests/e2e/threshold-scenario.js';
import { onCleanup, runBench } from './lib/cleanup.js';
import { integerFromEnv, isQuick } from './lib/options.js';
import { rowWithoutGoal, writeBenchResults } from './lib/results.js';
import { formatInteger, ratioOf } from './lib/stats.js';
import { formatRows } from './lib/table.js';

const PAYMENTS = integerFromEnv('BENCH_PAYMENTS', isQuick ? 50 : 1000);
const OWNERS = integerFromEnv('BENCH_OWNERS', isQuick ? 5 : 50);
const PAID_OWNERS = integerFromEnv('BENCH_PAID_OWNERS', isQuick ? 2 : 5);

async function main(): Promise<void> {
  const measuredAt = new Date().toISOString();
  const { gateway, provider, hotWallet, stop } = await startPayoutGateway({ maxUsdCents: '10000000', dailyCapUsdCents: '1000000000', exchangeUsdtUnits: 10n ** 15n });
  onCleanup('payout gateway (anvil, simulators, database)', stop);
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
  const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;
  console.log(`${PAYMENTS} threshold payments to ${OWNERS} owners (${PAID_OWNERS} over their threshold), on ${gateway.testDb.kind}`);
  const figures = [
    rowWithoutGoal(`on-chain transactions from the hot wallet per ${formatInteger(PAYMENTS)} threshold payments`, formatInteger(ours), `${formatInteger(legacy)} (legacy: one swap per payment)`, ratioOf(ours, legacy)),
    rowWithoutGoal('gas at anvil prices (wei)', (gasPerTransfer * BigInt(ours)).toString(), `≈ ${(gasPerTransfer * BigInt(legacy)).toString()} (legacy)`, ratioOf(ours, legacy)),
  ];
  console.log(`\n${formatRows(figures)}`);
  console.log(`time: settle ${ms(started, settled).toFixed(0)} ms, park + pay ${ms(settled, finished).toFixed(0)} ms`);
  writeBenchResults({
    bench: 'threshold-transactions',
    quick: isQuick,
    database: gateway.testDb.kind,
    measuredAt,
    rows: figures,
    details: {
      payments: PAYMENTS,
      owners: OWNERS,
      paidOwners: PAID_OWNERS,
      transactions: { ours, legacy },
      gasPerTransferWei: gasPerTransfer.toString(),
      settleMs: ms(started, settled),
      parkAndPayMs: ms(settled, finished),
    },
  });
}

await runBench(main);
