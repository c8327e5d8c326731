/**
 * What the delivery guarantees cost per message: a stage's effect (one insert in a transaction)
 * measured bare, then wrapped the way every stage runs it (processed_messages claim + effect +
 * outbox row), then with a duplicate delivery on top. Same database, same run, so the ratio is
 * meaningful on a noisy machine. `npm run bench -- stage-overhead` (DATABASE_URL → PostgreSQL,
 * else embedded PGlite).
 */
import { randomUUID } from 'node:crypto';
import { claimMessage, enqueueMessage } from '../shared/bus/index.js';
import { createTestDatabase } from '../shared/testing/database.js';

const MESSAGES = Number.parseInt(process.env.BENCH_MESSAGES ?? '1000', 10);

const testDb = await createTestDatabase();
const { db } = testDb;
await db.exec('CREATE TABLE bench_effects (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payment_id uuid NOT NULL)');
const at = new Date();

async function measure(label: string, run: (index: number) => Promise<void>): Promise<number> {
  for (let i = 0; i < 50; i++) await run(-1 - i); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < MESSAGES; i++) await run(i);
  const microsPerMessage = Number(process.hrtime.bigint() - started) / 1000 / MESSAGES;
  console.log(`${label.padEnd(58)} ${microsPerMessage.toFixed(0).padStart(7)} µs/message`);
  return microsPerMessage;
}

console.log(`${MESSAGES} messages on ${db.kind}`);
const baseline = await measure('baseline: effect only (insert in a transaction)', async () => {
  await db.transaction(async (tx) => {
    await tx.query('INSERT INTO bench_effects (payment_id) VALUES ($1)', [randomUUID()]);
  });
});
const guarded = await measure('stage: claim message + effect + outbox row', async (index) => {
  const paymentId = randomUUID();
  await db.transaction(async (tx) => {
    if (!(await claimMessage(tx, { consumer: 'bench', messageId: `m-${index}`, topic: 'payment-settled' }, at))) return;
    await tx.query('INSERT INTO bench_effects (payment_id) VALUES ($1)', [paymentId]);
    await enqueueMessage(tx, 'invite-requested', { paymentId }, { at, dedupeKey: `invite:${paymentId}` });
  });
});
const duplicate = await measure('duplicate delivery of an already handled message', async (index) => {
  await db.transaction(async (tx) => {
    if (!(await claimMessage(tx, { consumer: 'bench', messageId: `m-${Math.max(index, 0)}`, topic: 'payment-settled' }, at))) return;
    throw new Error('a duplicate must not reach the effect');
  });
});
console.log(`overhead of the guarantees: ×${(guarded / baseline).toFixed(2)} the bare effect; a duplicate costs ×${(duplicate / baseline).toFixed(2)}`);
await testDb.dispose();
