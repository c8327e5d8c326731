import * as ff from '@google-cloud/functions-framework';
import { expect, it } from 'vitest';
import { enqueueMessage, handleOnce, relayOutbox } from '../bus/index.js';
import { consume } from '../pubsub-entry/index.js';
import type { Db } from '../db/index.js';
import { defineErrors } from '../errors/index.js';
import type { Services } from '../runtime/index.js';

/** The errors the contract's consumer raises on purpose. */
const contractError = defineErrors({ unknown_payment: 'invalid', provider_unavailable: 'unavailable' });

/**
 * The delivery contract every bus must honour, run against the in-process bus and the Pub/Sub
 * emulator. Test functions subscribe to `payment-settled` and record effects in `bus_test_effects`;
 * a payment id's behaviour is chosen by its registered script (succeed, fail N times, reject).
 */
export const CONTRACT_CONSUMER = 'bus-contract-effect';

export type Behaviour = { kind: 'succeed' } | { kind: 'fail-transiently'; times: number } | { kind: 'reject' } | { kind: 'always-fail' };

const behaviours = new Map<string, Behaviour>();
const attempts = new Map<string, number>();
const finished = new Map<string, number>();

export function attemptsFor(paymentId: string): number {
  return attempts.get(paymentId) ?? 0;
}

/** Deliveries whose handler returned (an emulator push is counted when it starts, and may still be committing). */
function finishedFor(paymentId: string): number {
  return finished.get(paymentId) ?? 0;
}

/** Registers the contract's test function with the Functions Framework (once per module instance). */
export function registerContractFunction(): void {
  ff.cloudEvent(
    CONTRACT_CONSUMER,
    consume({
      consumer: CONTRACT_CONSUMER,
      topic: 'payment-settled',
      handle: async (delivery, services) => {
        const { paymentId } = delivery.message;
        const attempt = (attempts.get(paymentId) ?? 0) + 1;
        attempts.set(paymentId, attempt);
        const behaviour = behaviours.get(paymentId) ?? { kind: 'succeed' };
        if (behaviour.kind === 'reject') throw contractError('unknown_payment', 'No such payment', { paymentId });
        if (behaviour.kind === 'always-fail') throw contractError('provider_unavailable', 'Still down');
        if (behaviour.kind === 'fail-transiently' && attempt <= behaviour.times) {
          throw contractError('provider_unavailable', `Failing attempt ${attempt} on purpose`);
        }
        await handleOnce(services.db, delivery, services.clock.now(), async (tx) => {
          await tx.query('INSERT INTO bus_test_effects (payment_id, message_id) VALUES ($1, $2)', [paymentId, delivery.messageId]);
        });
        finished.set(paymentId, finishedFor(paymentId) + 1);
      },
    }),
  );
}

export async function createEffectsTable(db: Db): Promise<void> {
  await db.exec('CREATE TABLE IF NOT EXISTS bus_test_effects (id bigint GENERATED ALWAYS AS IDENTITY, payment_id uuid NOT NULL, message_id text NOT NULL)');
}

export interface BusHarness {
  services: Services;
  /** Waits until nothing is in flight (in-process) or for pushes to land (emulator: polls). */
  settle(): Promise<void>;
  /** Publishes a scheduler tick the way Cloud Scheduler does. */
  publishTick(topic: string, body: Record<string, unknown>): Promise<void>;
  /** The maximum delivery attempts configured for the contract subscription. */
  maxDeliveryAttempts: number;
  /** How often the bus delivers an acknowledged message: 2 in duplicate-delivery mode, else 1. */
  deliveriesPerMessage: number;
}

/** Polls an assertion until it holds (emulator pushes are asynchronous). */
export async function eventually(assertion: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

let sequence = 0;
function paymentIdWith(behaviour: Behaviour): string {
  sequence++;
  const id = `00000000-0000-4000-8000-${String(Date.now() % 1e6).padStart(6, '0')}${String(sequence).padStart(6, '0')}`;
  behaviours.set(id, behaviour);
  return id;
}

async function effectsFor(db: Db, paymentId: string): Promise<number> {
  const { rows } = await db.query<{ count: bigint }>('SELECT count(*)::int8 AS count FROM bus_test_effects WHERE payment_id = $1', [paymentId]);
  return Number(rows[0]?.count ?? 0n);
}

async function deadLettersFor(db: Db, paymentId: string) {
  const { rows } = await db.query<{ source: string; reason_code: string; delivery_attempt: number | null; topic: string | null }>(
    `SELECT source, reason_code, delivery_attempt, topic FROM dead_letters WHERE data LIKE '%' || $1 || '%' ORDER BY id`,
    [paymentId],
  );
  return rows;
}

async function enqueueSettled(services: Services, paymentId: string, options: { rollback?: boolean } = {}) {
  return services.db
    .transaction(async (tx) => {
      const enqueued = await enqueueMessage(tx, 'payment-settled', { paymentId }, { at: services.clock.now(), dedupeKey: `payment-settled:${paymentId}` });
      if (options.rollback) throw new Error('roll back on purpose');
      return enqueued;
    })
    .catch((error: unknown) => {
      if (options.rollback) return undefined;
      throw error;
    });
}

/** The acceptance behaviours of the foundation issue, for any bus. */
export function defineBusContract(getHarness: () => BusHarness): void {
  it('applies a message published twice (same pgp_message_id) exactly once', async () => {
    const { services, settle } = getHarness();
    const paymentId = paymentIdWith({ kind: 'succeed' });
    await enqueueSettled(services, paymentId);
    await relayOutbox(services);
    // A relay that crashed after publishing but before marking publishes the row again.
    await services.db.query('UPDATE outbox SET published_at = NULL, provider_message_id = NULL WHERE payload->>\'paymentId\' = $1', [paymentId]);
    await relayOutbox(services);
    await settle();
    await eventually(async () => expect(finishedFor(paymentId)).toBeGreaterThanOrEqual(2));
    await settle();
    expect(await effectsFor(services.db, paymentId)).toBe(1);
  });

  it('retries a transient failure and then succeeds, with one effect', async () => {
    const { services, settle } = getHarness();
    const paymentId = paymentIdWith({ kind: 'fail-transiently', times: 2 });
    await enqueueSettled(services, paymentId);
    await relayOutbox(services);
    await settle();
    await eventually(async () => expect(await effectsFor(services.db, paymentId)).toBe(1));
    expect(attemptsFor(paymentId)).toBeGreaterThanOrEqual(3);
    expect(await deadLettersFor(services.db, paymentId)).toEqual([]);
  });

  it('records a permanent failure as one dead letter and does not retry it', async () => {
    const { services, settle } = getHarness();
    const paymentId = paymentIdWith({ kind: 'reject' });
    await enqueueSettled(services, paymentId);
    await relayOutbox(services);
    await settle();
    await eventually(async () => expect(await deadLettersFor(services.db, paymentId)).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await settle();
    const [letter] = await deadLettersFor(services.db, paymentId);
    expect(letter).toMatchObject({ source: CONTRACT_CONSUMER, reason_code: 'unknown_payment', topic: 'payment-settled' });
    expect(attemptsFor(paymentId)).toBe(getHarness().deliveriesPerMessage); // acknowledged, so not redelivered
    expect(await effectsFor(services.db, paymentId)).toBe(0);
    expect(await deadLettersFor(services.db, paymentId)).toHaveLength(1);
  });

  it('never publishes a message written in a rolled-back transaction', async () => {
    const { services, settle } = getHarness();
    const paymentId = paymentIdWith({ kind: 'succeed' });
    await enqueueSettled(services, paymentId, { rollback: true });
    const report = await relayOutbox(services);
    await settle();
    const { rowCount } = await services.db.query(`SELECT 1 FROM outbox WHERE payload->>'paymentId' = $1`, [paymentId]);
    expect(rowCount).toBe(0);
    expect(report.published).toBe(0);
    expect(attemptsFor(paymentId)).toBe(0);
  });

  it('publishes an outbox row left unsent when the scheduled relay ticks', async () => {
    const { services, settle, publishTick } = getHarness();
    const paymentId = paymentIdWith({ kind: 'succeed' });
    await enqueueSettled(services, paymentId); // committed, never published (a crash right after commit)
    await publishTick('outbox-relay-requested', { job: 'relay-outbox' });
    await settle();
    await eventually(async () => expect(await effectsFor(services.db, paymentId)).toBe(1));
    const { rows } = await services.db.query<{ published_at: Date | null }>(`SELECT published_at FROM outbox WHERE payload->>'paymentId' = $1`, [paymentId]);
    expect(rows[0]?.published_at).toBeInstanceOf(Date);
  });

  it('forwards a message to its dead-letter topic after the maximum attempts, where it is recorded', async () => {
    const { services, settle, maxDeliveryAttempts } = getHarness();
    const paymentId = paymentIdWith({ kind: 'always-fail' });
    await enqueueSettled(services, paymentId);
    await relayOutbox(services);
    await settle();
    await eventually(async () => expect(await deadLettersFor(services.db, paymentId)).toHaveLength(1), 60_000);
    const [letter] = await deadLettersFor(services.db, paymentId);
    expect(letter).toMatchObject({ reason_code: 'max_delivery_attempts', delivery_attempt: maxDeliveryAttempts, topic: 'payment-settled' });
    expect(attemptsFor(paymentId)).toBe(maxDeliveryAttempts);
    expect(await effectsFor(services.db, paymentId)).toBe(0);
  });
}
