import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../shared/bus/topology.js';
import { createInProcessBus, type BusEvent } from '../../shared/testing/fakes/in-process-bus.js';
import type { SeededRandom } from '../../shared/testing/seeded-random.js';
import { describeDeadLetter } from './chaos-invariants.js';
import { decideDeliveryFault } from './chaos-run.js';

/** A generator whose every draw is 0: every fault's chance comes up. */
const alwaysStrikes: SeededRandom = {
  next64: () => 0n,
  below: () => 0n,
  bigintUpToBits: () => 0n,
  signedUpToBits: () => 0n,
  pick: (items) => items[0] as (typeof items)[number],
};

describe('the chaos bus faults', () => {
  it('never lose the ack of a message’s last allowed attempt, so a tick whose work was done is not dead-lettered', async () => {
    const bus = createInProcessBus({
      topology: loadTopology(),
      backoffScale: 0,
      validateSchemas: false,
      invoke: async () => 204,
      faults: { onDelivery: (delivery) => decideDeliveryFault(alwaysStrikes, delivery, () => undefined) },
    });
    await bus.publish('reconciliation-requested', { job: 'reconcile' });
    await bus.drain();
    const reconcile = bus.events.filter((event): event is Extract<BusEvent, { type: 'delivered' }> => event.type === 'delivered' && event.function === 'reconcile');
    // Every attempt before the last: a lost ack; the fifth (reconcile's maxDeliveryAttempts) stands.
    expect(Math.max(...reconcile.map((event) => event.attempt))).toBeGreaterThanOrEqual(5);
    expect(bus.events.filter((event) => event.type === 'dead-lettered')).toEqual([]);
    await bus.close();
  });

  it('decide per attempt: a lost ack before the last attempt, none on it', () => {
    const decide = (attempt: number) => decideDeliveryFault(alwaysStrikes, { topic: 'reconciliation-requested', attempt, maxAttempts: 5 }, () => undefined);
    expect(decide(1).loseAck).toBe(true);
    expect(decide(4).loseAck).toBe(true);
    expect(decide(5).loseAck).toBe(false);
  });
});

describe('the dead-letter violation’s detail', () => {
  it('names each attempt’s answer and the last error the consumer logged', () => {
    const events: BusEvent[] = [
      { type: 'delivered', topic: 'reconciliation-requested', function: 'reconcile', pubsubMessageId: 'm-1', attempt: 1, status: 500, isAck: false, isDuplicate: false },
      { type: 'delivered', topic: 'reconciliation-requested', function: 'reconcile', pubsubMessageId: 'm-1', attempt: 2, status: 204, isAck: true, isDuplicate: false },
      { type: 'dead-lettered', topic: 'reconciliation-requested', function: 'reconcile', deadLetterTopic: 'reconciliation-requested-dlq', pubsubMessageId: 'm-1', attempts: 2 },
      { type: 'published', topic: 'reconciliation-requested-dlq', pubsubMessageId: 'd-1', attributes: {}, data: '{}' },
    ];
    const logLines = [
      JSON.stringify({ severity: 'ERROR', message: 'message.failed', consumer: 'reconcile', messageId: 'm-1', error: { name: 'TransientError', code: 'database_unavailable', message: 'The database is unreachable' } }),
      JSON.stringify({ severity: 'ERROR', message: 'message.failed', consumer: 'settle-payment', messageId: 'm-1', error: { name: 'TransientError', code: 'other', message: 'not this one' } }),
    ];
    const detail = describeDeadLetter(events, logLines, {
      source: 'reconciliation-requested--reconcile',
      topic: 'reconciliation-requested',
      messageId: 'd-1',
      reasonCode: 'max_delivery_attempts',
      reason: 'Delivery failed 2 times',
    });
    expect(detail).toBe('attempts (attempt:status) 1:500, 2:204; last error: TransientError[database_unavailable]: The database is unreachable');
  });
});
