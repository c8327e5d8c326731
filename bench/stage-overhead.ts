/**
 * What the delivery guarantees cost per message: a stage's effect (one insert in a transaction)
 * measured bare, then wrapped the way every stage runs it (processed_messages claim + effect +
 * outbox row), then with a duplicate delivery on top. Same database, alternating rounds (bare
 * effect, then the guarded stage and the duplicate; median over rounds), so the ratio is
 * meaningful on a noisy machine. `npm run bench -- stage-overhead [--quick]` (DATABASE_URL →
 * PostgreSQL, else embedded PGlite). BENCH_MESSAGES (default 1000; 50 in quick mode) and
 * BENCH_ROUNDS change the shape.
 */
import { randomUUID } from 'node:crypto';
import { claimMessage, enqueueMessage } from '../shared/bus/index.js';
import { runBench } from './lib/cleanup.js';
import { throwAwayDatabase } from './lib/database.js';
import { integerFromEnv, isQuick, rounds } from './lib/options.js';
import { rowWithoutGoal, writeBenchResults } from './lib/results.js';
import { alternateRounds } from './lib/rounds.js';
import { median, ratioOf } from './lib/stats.js';
import { formatRows } from './lib/table.js';

const MESSAGES = integerFromEnv('BENCH_MESSAGES', isQuick ? 50 : 1000);
const WARMUP = Math.min(50, MESSAGES);

async function main(): Promise<void> {
  const measuredAt = new Date().toISOString();
  const testDb = await throwAwayDatabase();
  const { db } = testDb;
  await db.exec('CREATE TABLE bench_effects (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payment_id uuid NOT NULL)');
  const at = new Date();

  /** µs per message over MESSAGES calls of `run`, after WARMUP unmeasured ones. */
  async function measure(run: (index: number) => Promise<void>, warmUp: (index: number) => Promise<void> = run): Promise<number> {
    for (let i = 0; i < WARMUP; i++) await warmUp(-1 - i);
    const started = process.hrtime.bigint();
    for (let i = 0; i < MESSAGES; i++) await run(i);
    return Number(process.hrtime.bigint() - started) / 1000 / MESSAGES;
  }

  const effectOnly = () =>
    measure(async () => {
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO bench_effects (payment_id) VALUES ($1)', [randomUUID()]);
      });
    });
  const guardedStage = (messageId: (index: number) => string) =>
    measure(async (index) => {
      const paymentId = randomUUID();
      await db.transaction(async (tx) => {
        if (!(await claimMessage(tx, { consumer: 'bench', messageId: messageId(index), topic: 'payment-settled' }, at))) return;
        await tx.query('INSERT INTO bench_effects (payment_id) VALUES ($1)', [paymentId]);
        await enqueueMessage(tx, 'invite-requested', { paymentId }, { at, dedupeKey: `invite:${paymentId}` });
      });
    });
  const duplicateDelivery = (messageId: (index: number) => string) =>
    measure(async (index) => {
      await db.transaction(async (tx) => {
        if (!(await claimMessage(tx, { consumer: 'bench', messageId: messageId(Math.max(index, 0)), topic: 'payment-settled' }, at))) return;
        throw new Error('a duplicate must not reach the effect');
      });
    });

  console.log(`${MESSAGES} messages per measurement, ${rounds} round(s), on ${db.kind}`);
  const measured = await alternateRounds({
    rounds,
    baseline: () => effectOnly(),
    subject: async (round) => {
      const messageId = (index: number) => `m-${round}-${index}`; // each round claims new messages
      const guarded = await guardedStage(messageId);
      const duplicate = await duplicateDelivery(messageId);
      return { guarded, duplicate };
    },
    onRound: (round, baseline, subject) =>
      console.log(`  round ${round}: effect only ${baseline.toFixed(0)} µs, stage ${subject.guarded.toFixed(0)} µs, duplicate ${subject.duplicate.toFixed(0)} µs`),
  });

  const baseline = median(measured.baseline);
  const guarded = median(measured.subject.map((round) => round.guarded));
  const duplicate = median(measured.subject.map((round) => round.duplicate));
  const micros = (value: number) => `${value.toFixed(0)} µs/message`;
  const rows = [
    rowWithoutGoal('stage: claim message + effect + outbox row', micros(guarded), `${micros(baseline)} (effect only)`, ratioOf(guarded, baseline)),
    rowWithoutGoal('duplicate delivery of an already handled message', micros(duplicate), `${micros(baseline)} (effect only)`, ratioOf(duplicate, baseline)),
  ];
  console.log(`\n${formatRows(rows)}`);
  writeBenchResults({
    bench: 'stage-overhead',
    quick: isQuick,
    database: db.kind,
    measuredAt,
    rows,
    details: { messages: MESSAGES, rounds, microsPerMessage: measured },
  });
}

await runBench(main);
