/**
 * The cost of one payment (issue 14), on the whole gateway as `npm start` runs it (every function,
 * the in-process bus, the NowPayments, Telegram and ChangeNow simulators, anvil), messages delivered
 * once as Pub/Sub normally does:
 *
 * 1. SQL statements and transactions per payment along the path NowPayments IPNs (waiting …
 *    finished) → settle-payment → send-invite → notify-owner → quote-payout → send-transfer →
 *    track-payouts until the instant payout is completed, for a small and a large number of
 *    payments (flat = the same per payment). Counted by wrapping the database port the functions
 *    get (shared/testing/statement-counter.ts); each statement is put down to the function serving
 *    the request that ran it. Setup (channels, tiers, checkouts, a warm-up payment per channel) is
 *    not counted; the only scheduled job run is the track-payouts tick the payout needs to complete,
 *    once per payment until it has.
 * 2. IPN → invite DM latency: from the POST of the `finished` IPN to the Telegram simulator
 *    receiving the invite message for the subscriber, 16 payments whose `finished` IPNs arrive at
 *    once against the same kind of payments one at a time (each after the previous one's work
 *    drained), in alternating rounds; medians over rounds of each round's p50 and p99.
 *
 * `npm run bench -- payment-cost [--quick]` (DATABASE_URL → PostgreSQL, else embedded PGlite).
 * BENCH_PAYMENTS_SMALL / BENCH_PAYMENTS_LARGE (default 100 / 1000; quick 10 / 30), BENCH_AT_ONCE
 * (16), BENCH_ROUNDS (3; quick 1) change the shape.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { countStatements, NO_SCOPE, type StatementCounter, type StatementCounts } from '../shared/testing/statement-counter.js';
import { checkoutFor, newSubscriber, type PayoutGateway, seedChannel, type SeededChannel, startPayoutGateway, type TestGateway } from '../tests/e2e/gateway-harness.js';
import { onCleanup, runBench } from './lib/cleanup.js';
import { cpuSnapshot, cpuSpentBetween, type ProcessSelector } from './lib/cpu.js';
import { databaseKind, integerFromEnv, isQuick, rounds } from './lib/options.js';
import { type BenchRow, writeBenchResults } from './lib/results.js';
import { alternateRounds } from './lib/rounds.js';
import { formatRatio, median, percentile, ratioOf } from './lib/stats.js';

const SMALL_N = integerFromEnv('BENCH_PAYMENTS_SMALL', isQuick ? 10 : 100);
const LARGE_N = integerFromEnv('BENCH_PAYMENTS_LARGE', isQuick ? 30 : 1000);
const AT_ONCE = integerFromEnv('BENCH_AT_ONCE', 16);
/** Channels the payments are spread over: one per concurrent payment, so concurrent payouts are different owners'. */
const CHANNELS = AT_ONCE;
const STATEMENTS_GOAL = 30;
/** "Flat": the large run's figure per payment within this fraction of the small run's. */
const FLAT_TOLERANCE = 0.05;
const LATENCY_GOAL_MS = 300;
const TOP_SHAPES = 15;
/** Places (stage and transaction) printed per statement shape; the JSON has them all. */
const PLACES_SHOWN = 4;
/** track-payouts ticks a payout may take to complete before the bench gives up on it. */
const MAX_TICKS = 10;
/** The NowPayments statuses before `finished`: sent while preparing a latency round. */
const IPNS_BEFORE_FINISHED = 4;
const AUTOCOMMIT = 'auto';

interface Prepared {
  channel: SeededChannel;
  subscriber: { id: number; username: string };
  invoiceId: string;
}

interface StatementRun {
  payments: number;
  counts: StatementCounts;
  requests: Map<string, number>;
  ticks: number;
  msPerPayment: number;
}

interface LatencyRound {
  latenciesMs: number[];
  p50: number;
  p99: number;
  /** 16-at-once rounds: CPU ms each process spent until the last invite; floorMs = max(total ÷ cores, gateway). */
  cpu?: { gateway: number; postgres: number; anvil: number; totalMs: number; floorMs: number };
}

/** Transactions named per stage: T1 is the stage's most frequent transaction shape. */
interface NamedTransaction {
  stage: string;
  name: string;
  labels: string[];
  count: number;
}

const perPayment = (count: number, payments: number) => count / payments;
const fixed = (value: number, digits = 2) => value.toFixed(digits);

function nameTransactions(counts: StatementCounts): NamedTransaction[] {
  const byStage = new Map<string, NamedTransaction[]>();
  for (const shape of counts.transactionShapes) {
    const list = byStage.get(shape.scope) ?? [];
    list.push({ stage: shape.scope, name: `T${list.length + 1}`, labels: shape.labels, count: shape.count });
    byStage.set(shape.scope, list);
  }
  return [...byStage.values()].flat();
}

/** Per stage: function requests, statements and transactions per payment, most statements first. */
function stageTable(run: StatementRun) {
  const stages = new Map<string, { statements: number; outside: number; transactions: number }>();
  for (const shape of run.counts.shapes) {
    const stage = stages.get(shape.scope) ?? { statements: 0, outside: 0, transactions: 0 };
    stage.statements += shape.count;
    if (!shape.inTransaction) stage.outside += shape.count;
    stages.set(shape.scope, stage);
  }
  for (const shape of run.counts.transactionShapes) {
    const stage = stages.get(shape.scope);
    if (stage) stage.transactions += shape.count;
  }
  return [...stages]
    .map(([stage, figures]) => ({
      stage,
      requestsPerPayment: perPayment(run.requests.get(stage) ?? 0, run.payments),
      statementsPerPayment: perPayment(figures.statements, run.payments),
      outsideTransactionsPerPayment: perPayment(figures.outside, run.payments),
      transactionsPerPayment: perPayment(figures.transactions, run.payments),
    }))
    .sort((a, b) => b.statementsPerPayment - a.statementsPerPayment);
}

/** The costliest statement shapes, each with where it runs: stage and transaction (or outside one). */
function topShapes(run: StatementRun, transactions: NamedTransaction[], limit = TOP_SHAPES) {
  const byLabel = new Map<string, Map<string, number>>();
  for (const shape of run.counts.shapes) {
    const where = byLabel.get(shape.label) ?? new Map<string, number>();
    if (shape.inTransaction) {
      for (const transaction of transactions) {
        if (transaction.stage !== shape.scope) continue;
        const inside = transaction.labels.filter((label) => label === shape.label).length;
        if (inside === 0) continue;
        const key = `${shape.scope} ${transaction.name}`;
        where.set(key, (where.get(key) ?? 0) + inside * transaction.count);
      }
    } else {
      const key = `${shape.scope} ${AUTOCOMMIT}`;
      where.set(key, (where.get(key) ?? 0) + shape.count);
    }
    byLabel.set(shape.label, where);
  }
  return [...run.counts.byLabel]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([label, count]) => ({
      label,
      perPayment: perPayment(count, run.payments),
      where: [...(byLabel.get(label) ?? new Map<string, number>())]
        .sort((a, b) => b[1] - a[1])
        .map(([place, placeCount]) => ({ place, perPayment: perPayment(placeCount, run.payments) })),
      sql: run.counts.sqlByLabel.get(label) ?? label,
    }));
}

/** Consecutive repeats folded: [a, a, b] → ['a ×2', 'b']. */
function fold(labels: readonly string[]): string[] {
  const folded: string[] = [];
  for (let index = 0; index < labels.length; ) {
    let end = index + 1;
    while (labels[end] === labels[index]) end++;
    folded.push(end - index > 1 ? `${labels[index]} ×${end - index}` : (labels[index] ?? ''));
    index = end;
  }
  return folded;
}

async function main(): Promise<void> {
  console.log(
    databaseKind === 'postgres'
      ? 'database: PostgreSQL (DATABASE_URL), a throw-away database on that server'
      : 'database: embedded PGlite (DATABASE_URL unset): single connection, transactions serialized',
  );
  console.log(
    `settings: ${isQuick ? 'quick, ' : ''}statements over ${SMALL_N} and ${LARGE_N} payments; latency ${AT_ONCE} payments per round, ${rounds} round(s) of each; ${CHANNELS} instant channels (ETH payouts, no swap); every message delivered once`,
  );

  // Which function a statement comes from: the function host serves each function under /<name> on
  // one port; every request it receives runs in an async context naming that function.
  const stageOfRequest = new AsyncLocalStorage<string>();
  const requests = new Map<string, number>();
  let hostPort: number | undefined;
  const onRequestStart = (message: unknown) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    if (hostPort === undefined || socket.localPort !== hostPort) return;
    const stage = new URL(request.url ?? '/', 'http://host').pathname.split('/')[1] || '/';
    requests.set(stage, (requests.get(stage) ?? 0) + 1);
    stageOfRequest.enterWith(stage);
  };
  diagnosticsChannel.subscribe('http.server.request.start', onRequestStart);
  onCleanup('http.server.request.start subscription', () => {
    diagnosticsChannel.unsubscribe('http.server.request.start', onRequestStart);
  });

  let counter: StatementCounter | undefined;
  const payouts: PayoutGateway = await startPayoutGateway({
    maxUsdCents: '100000000',
    dailyCapUsdCents: '100000000000',
    exchangeUsdtUnits: 1n, // no swap on this path
    gateway: {
      deliverTwice: false,
      wrapDb: (db) => {
        counter = countStatements(db, { scope: () => stageOfRequest.getStore() });
        return counter.db;
      },
    },
  });
  onCleanup('payment-cost gateway', () => payouts.stop());
  const gateway: TestGateway = payouts.gateway;
  const bus = gateway.runtime.bus;
  if (!counter || !bus) throw new Error('the gateway did not take the counting database, or runs without the in-process bus');
  const statementCounter: StatementCounter = counter;
  hostPort = gateway.runtime.port;
  const db = gateway.testDb.db; // unwrapped: the bench's own reads are not counted

  const channels: SeededChannel[] = [];
  for (let index = 0; index < CHANNELS; index++) channels.push(await seedChannel(gateway, { strategy: 'instant', priceCents: 1999n, days: 30 }));

  const prepare = async (count: number): Promise<Prepared[]> => {
    const prepared: Prepared[] = [];
    for (let index = 0; index < count; index++) {
      const channel = channels[index % channels.length] as SeededChannel;
      const subscriber = newSubscriber(gateway);
      const checkout = await checkoutFor(gateway, channel, subscriber);
      prepared.push({ channel, subscriber, invoiceId: checkout.invoiceId });
    }
    await gateway.settle();
    return prepared;
  };

  const payoutStateOf = async (providerPaymentId: string): Promise<string | undefined> => {
    const { rows } = await db.query<{ state: string }>(
      `SELECT po.state FROM payouts po JOIN payments p ON p.id = po.payment_id WHERE p.provider = 'nowpayments' AND p.provider_payment_id = $1`,
      [providerPaymentId],
    );
    return rows[0]?.state;
  };

  const inviteDmOf = (subscriberId: number) => {
    const dms = gateway.telegram.calls.filter(
      (call) => call.ok && call.method.toLowerCase() === 'sendmessage' && String(call.payload.chat_id) === String(subscriberId) && String(call.payload.text ?? '').includes('https://t.me/+'),
    );
    if (dms.length !== 1) throw new Error(`subscriber ${subscriberId} got ${dms.length} invite DMs, expected 1`);
    return dms[0] as (typeof dms)[number];
  };

  /** Owner notices sent so far, by kind (payment_received, payout_completed, …). */
  const ownerNoticesSent = async (): Promise<Map<string, number>> => {
    const { rows } = await db.query<{ kind: string; count: bigint }>(`SELECT kind, count(*) AS count FROM owner_notifications WHERE status = 'sent' GROUP BY kind`);
    return new Map(rows.map((row) => [row.kind, Number(row.count)]));
  };

  /** One payment, the whole path: every IPN, the stages it starts, then track-payouts until the payout completed. Returns the ticks it took. */
  const payAndComplete = async (item: Prepared): Promise<number> => {
    const payment = await gateway.nowpayments.pay(item.invoiceId);
    const unanswered = gateway.nowpayments.ipnDeliveries.filter((delivery) => delivery.paymentId === payment.paymentId && delivery.httpStatus !== 200);
    if (payment.status !== 'finished' || unanswered.length > 0) throw new Error(`payment ${payment.paymentId}: ${payment.status}, ${unanswered.length} IPNs not answered 200`);
    await gateway.settle();
    for (let ticks = 0; ; ticks++) {
      const state = await payoutStateOf(payment.paymentId);
      if (state === 'completed') return ticks;
      if (ticks >= MAX_TICKS) throw new Error(`the payout of payment ${payment.paymentId} is ${state ?? 'missing'} after ${ticks} track-payouts ticks`);
      await bus.publish('payout-tracking-requested', { job: 'track-payouts' });
      await gateway.settle();
    }
  };

  const countPayments = async (payments: number): Promise<StatementRun> => {
    const prepared = await prepare(payments);
    const noticesBefore = await ownerNoticesSent();
    statementCounter.reset();
    requests.clear();
    const started = process.hrtime.bigint();
    let ticks = 0;
    for (const item of prepared) ticks += await payAndComplete(item);
    const msPerPayment = Number(process.hrtime.bigint() - started) / 1e6 / payments;
    const counts = statementCounter.counts();
    const run: StatementRun = { payments, counts, requests: new Map(requests), ticks, msPerPayment };
    // The path really ran, once per payment: one invite DM each, one payment notice to the owner each.
    for (const item of prepared) inviteDmOf(item.subscriber.id);
    const notices = [...(await ownerNoticesSent())].map(([kind, count]) => [kind, count - (noticesBefore.get(kind) ?? 0)] as const).filter(([, count]) => count > 0);
    const received = notices.find(([kind]) => kind === 'payment_received')?.[1] ?? 0;
    if (received !== payments) throw new Error(`${received} payment_received notices for ${payments} payments`);
    const unscoped = counts.shapes.filter((shape) => shape.scope === NO_SCOPE).reduce((sum, shape) => sum + shape.count, 0);
    console.log(
      `  N=${payments}: ${fixed(perPayment(counts.statements, payments))} statements, ${fixed(perPayment(counts.transactions, payments))} transactions, ${fixed(ticks / payments)} track-payouts ticks per payment; ${fixed(msPerPayment, 0)} ms per payment; owner notices ${notices.map(([kind, count]) => `${kind} ${fixed(count / payments)}`).join(', ')}${unscoped > 0 ? `; ${unscoped} statements outside any function request` : ''}`,
    );
    return run;
  };

  // Warm-up (not counted): a first payment per channel creates the owner's ledger accounts and warms the functions.
  console.log(`\nwarm-up: one payment per channel (${CHANNELS}), not counted`);
  for (const item of await prepare(CHANNELS)) await payAndComplete(item);

  console.log('\nSQL statements per payment, IPN → settle → invite → owner notice → instant payout completed:');
  const small = await countPayments(SMALL_N);
  const large = await countPayments(LARGE_N);

  // ---- latency -----------------------------------------------------------------------------------------------
  /** Payments paid up to `sending`: their `finished` IPN is what a round sends. */
  const prepareLatencyRound = async (): Promise<Array<Prepared & { paymentId: string }>> => {
    const prepared = await prepare(AT_ONCE);
    const ready: Array<Prepared & { paymentId: string }> = [];
    for (const item of prepared) {
      const payment = await gateway.nowpayments.pay(item.invoiceId, { deliverFirstIpns: IPNS_BEFORE_FINISHED });
      ready.push({ ...item, paymentId: payment.paymentId });
    }
    await gateway.settle();
    return ready;
  };

  const sendFinished = async (item: Prepared & { paymentId: string }): Promise<number> => {
    const sentAt = Date.now();
    const status = await gateway.nowpayments.resendIpn(item.paymentId);
    if (status !== 200) throw new Error(`the finished IPN of ${item.paymentId} was answered ${status}`);
    return sentAt;
  };

  const summarise = (items: Array<Prepared & { paymentId: string }>, sentAt: number[], cpu?: LatencyRound['cpu']): LatencyRound => {
    const latenciesMs = items.map((item, index) => inviteDmOf(item.subscriber.id).at.getTime() - (sentAt[index] as number));
    return { latenciesMs, p50: percentile(latenciesMs, 50), p99: percentile(latenciesMs, 99), ...(cpu ? { cpu } : {}) };
  };

  // CPU every process of the gateway spent between the first IPN and the last invite DM: the gateway
  // (this process: every function, the bus, the simulators, on one JavaScript thread), its PostgreSQL
  // backends and anvil. The larger of that work divided by the cores and the gateway's own share is
  // the shortest the round could have taken on this machine.
  const databaseName = gateway.testDb.url ? new URL(gateway.testDb.url).pathname.slice(1) : undefined;
  const cpuSelectors: Record<'gateway' | 'postgres' | 'anvil', ProcessSelector> = {
    gateway: { pids: [process.pid] },
    postgres: databaseName ? { commandLineIncludes: ` postgres ${databaseName} ` } : { pids: [] },
    anvil: { commandLineIncludes: 'anvil' },
  };
  const hasEveryInvite = (items: Array<Prepared & { paymentId: string }>) =>
    items.every((item) => gateway.telegram.calls.some((call) => call.ok && call.method.toLowerCase() === 'sendmessage' && String(call.payload.chat_id) === String(item.subscriber.id) && String(call.payload.text ?? '').includes('https://t.me/+')));

  console.log(`\nIPN → invite DM, ${AT_ONCE} payments per round (ms; nearest-rank p99 of ${AT_ONCE} samples is the slowest):`);
  const latency = await alternateRounds<LatencyRound, LatencyRound>({
    rounds,
    baseline: async () => {
      const items = await prepareLatencyRound();
      const sentAt: number[] = [];
      for (const item of items) {
        sentAt.push(await sendFinished(item));
        await gateway.settle(); // nothing else in flight when the next IPN arrives
      }
      return summarise(items, sentAt);
    },
    subject: async () => {
      const items = await prepareLatencyRound();
      const before = cpuSnapshot(cpuSelectors);
      const sentAt = await Promise.all(items.map((item) => sendFinished(item)));
      while (!hasEveryInvite(items)) await new Promise((resolve) => setTimeout(resolve, 2));
      const cpuMs = cpuSpentBetween(before, cpuSnapshot(cpuSelectors));
      await gateway.settle();
      const totalMs = cpuMs.gateway + cpuMs.postgres + cpuMs.anvil;
      // The gateway is one JavaScript thread hosting every function: its own CPU cannot be spread.
      const floorMs = Math.round(Math.max(totalMs / availableParallelism(), cpuMs.gateway));
      return summarise(items, sentAt, { ...cpuMs, totalMs, floorMs });
    },
    onRound: (round, baseline, subject) =>
      console.log(
        `  round ${round}: one at a time p50 ${baseline.p50} p99 ${baseline.p99}   ${AT_ONCE} at once p50 ${subject.p50} p99 ${subject.p99}` +
          (subject.cpu
            ? `   (CPU until the last invite: gateway ${subject.cpu.gateway} + postgres ${subject.cpu.postgres} + anvil ${subject.cpu.anvil} = ${subject.cpu.totalMs} ms; at least ${subject.cpu.floorMs} ms on ${availableParallelism()} cores with the gateway on one thread)`
            : ''),
      ),
  });
  const oneAtATime = { p50: median(latency.baseline.map((round) => round.p50)), p99: median(latency.baseline.map((round) => round.p99)) };
  const atOnce = { p50: median(latency.subject.map((round) => round.p50)), p99: median(latency.subject.map((round) => round.p99)) };
  const cpuFloorMs = median(latency.subject.map((round) => round.cpu?.floorMs ?? 0));

  // ---- report ------------------------------------------------------------------------------------------------
  const transactions = nameTransactions(large.counts);
  const stages = stageTable(large);
  const shapes = topShapes(large, transactions);

  console.log(`\nPer stage, per payment (N=${LARGE_N}):`);
  console.log(`  ${'stage'.padEnd(22)} ${'requests'.padStart(8)} ${'statements'.padStart(10)} ${'of which outside a transaction'.padStart(30)} ${'transactions'.padStart(12)}`);
  for (const stage of stages) {
    console.log(
      `  ${stage.stage.padEnd(22)} ${fixed(stage.requestsPerPayment).padStart(8)} ${fixed(stage.statementsPerPayment).padStart(10)} ${fixed(stage.outsideTransactionsPerPayment).padStart(30)} ${fixed(stage.transactionsPerPayment).padStart(12)}`,
    );
  }

  console.log(`\nTop ${TOP_SHAPES} statement shapes per payment (N=${LARGE_N}); where: stage and transaction (T# below; ${AUTOCOMMIT} = outside a transaction):`);
  for (const shape of shapes) {
    const shown = shape.where.slice(0, PLACES_SHOWN).map((where) => `${where.place} ${fixed(where.perPayment)}`);
    if (shape.where.length > PLACES_SHOWN) shown.push(`+${shape.where.length - PLACES_SHOWN} more`);
    console.log(`  ${fixed(shape.perPayment).padStart(6)}  ${shape.label.padEnd(60)}  ${shown.join(', ')}`);
  }

  console.log(`\nTransactions per payment (N=${LARGE_N}), by stage, with their statements in order (BEGIN and COMMIT left out):`);
  for (const transaction of transactions) {
    const inner = transaction.labels.slice(1, -1);
    console.log(
      `  ${transaction.stage} ${transaction.name}  ${fixed(perPayment(transaction.count, LARGE_N))} per payment, ${transaction.labels.length} statements${transaction.labels.at(-1) === 'ROLLBACK' ? ', rolled back' : ''}`,
    );
    for (const label of fold(inner)) console.log(`      ${label}`);
  }

  const statementsSmall = perPayment(small.counts.statements, SMALL_N);
  const statementsLarge = perPayment(large.counts.statements, LARGE_N);
  const transactionsSmall = perPayment(small.counts.transactions, SMALL_N);
  const transactionsLarge = perPayment(large.counts.transactions, LARGE_N);
  const statementsRatio = ratioOf(statementsLarge, statementsSmall);
  const transactionsRatio = ratioOf(transactionsLarge, transactionsSmall);
  const isFlat = (ratio: number) => Number.isFinite(ratio) && Math.abs(ratio - 1) <= FLAT_TOLERANCE;
  const statementsGoal = `≤ ${STATEMENTS_GOAL}, flat`;
  const latencyRatio = ratioOf(atOnce.p99, oneAtATime.p99);
  const rows: BenchRow[] = [
    {
      figure: `SQL statements per payment (N=${SMALL_N})`,
      subject: fixed(statementsSmall, 1),
      baseline: null,
      ratio: null,
      goal: statementsGoal,
      meetsGoal: statementsSmall <= STATEMENTS_GOAL,
    },
    {
      figure: `SQL statements per payment (N=${LARGE_N})`,
      subject: fixed(statementsLarge, 1),
      baseline: `${fixed(statementsSmall, 1)} (N=${SMALL_N})`,
      ratio: statementsRatio,
      goal: statementsGoal,
      meetsGoal: statementsLarge <= STATEMENTS_GOAL && isFlat(statementsRatio),
    },
    {
      figure: `transactions per payment (N=${LARGE_N})`,
      subject: fixed(transactionsLarge, 1),
      baseline: `${fixed(transactionsSmall, 1)} (N=${SMALL_N})`,
      ratio: transactionsRatio,
      goal: 'flat',
      meetsGoal: isFlat(transactionsRatio),
    },
    {
      figure: `IPN → invite DM p99, ${AT_ONCE} at once`,
      subject: `${atOnce.p99} ms`,
      baseline: `${oneAtATime.p99} ms (one at a time)`,
      ratio: latencyRatio,
      goal: `≤ ${LATENCY_GOAL_MS} ms`,
      meetsGoal: atOnce.p99 <= LATENCY_GOAL_MS,
    },
    {
      figure: `IPN → invite DM p50, ${AT_ONCE} at once`,
      subject: `${atOnce.p50} ms`,
      baseline: `${oneAtATime.p50} ms (one at a time)`,
      ratio: ratioOf(atOnce.p50, oneAtATime.p50),
      goal: null,
      meetsGoal: null,
    },
    {
      // The machine's limit for that round: the CPU all its processes needed until the last invite,
      // spread over every core. A p99 near it means the round was bound by CPU, not by waiting.
      figure: `least time the CPU allows, ${AT_ONCE} at once`,
      subject: `${cpuFloorMs} ms`,
      baseline: `${atOnce.p99} ms (p99)`,
      ratio: ratioOf(cpuFloorMs, atOnce.p99),
      goal: null,
      meetsGoal: null,
    },
  ];

  console.log('');
  console.log(`  ${'figure'.padEnd(42)} ${'subject'.padStart(10)} ${'baseline'.padStart(26)} ${'ratio'.padStart(7)}  ${'goal'.padEnd(14)} met`);
  for (const row of rows) {
    const met = row.meetsGoal === null ? '' : row.meetsGoal ? 'yes' : 'no';
    console.log(`  ${row.figure.padEnd(42)} ${row.subject.padStart(10)} ${(row.baseline ?? '—').padStart(26)} ${formatRatio(row.ratio).padStart(7)}  ${(row.goal ?? '—').padEnd(14)} ${met}`);
  }

  const statementDetails = (run: StatementRun) => {
    const named = nameTransactions(run.counts);
    return {
      payments: run.payments,
      statementsPerPayment: perPayment(run.counts.statements, run.payments),
      transactionsPerPayment: perPayment(run.counts.transactions, run.payments),
      trackPayoutsTicksPerPayment: run.ticks / run.payments,
      msPerPayment: run.msPerPayment,
      stages: stageTable(run),
      topShapes: topShapes(run, named),
      allShapes: topShapes(run, named, Number.POSITIVE_INFINITY),
      transactions: named.map((transaction) => ({
        stage: transaction.stage,
        name: transaction.name,
        perPayment: perPayment(transaction.count, run.payments),
        statements: transaction.labels,
      })),
    };
  };
  const file = writeBenchResults({
    bench: 'payment-cost',
    quick: isQuick,
    database: databaseKind,
    measuredAt: new Date().toISOString(),
    rows,
    details: {
      settings: { smallN: SMALL_N, largeN: LARGE_N, atOnce: AT_ONCE, channels: CHANNELS, rounds, flatTolerance: FLAT_TOLERANCE, deliverTwice: false },
      statements: { small: statementDetails(small), large: statementDetails(large) },
      latency: {
        oneAtATime,
        atOnce,
        rounds: latency.baseline.map((baseline, index) => ({ oneAtATime: baseline, atOnce: latency.subject[index] })),
      },
    },
  });
  console.log(`\nresults: ${file}`);
}

await runBench(main);
