import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { type BurstRule, countBurstEvent, recordBurstEvent } from './bursts.js';
import { loadBurstLimits } from './burst-limits.js';
import { raiseOperatorAlert } from './operator-alerts.js';

let testDb: TestDatabase;
const lines: string[] = [];
const logger = createLogger({ write: (line) => lines.push(line) });
const clock = createFakeClock('2026-12-01T12:00:00Z');

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb?.dispose());

function rule(kind: string, overrides: Partial<BurstRule> = {}): BurstRule {
  return {
    kind,
    subjectType: 'thing',
    limit: { maxEvents: 3, windowMinutes: 10, coolDownMinutes: 60 },
    describe: (subject, counts) => `${counts.events} events for ${subject}`,
    ...overrides,
  };
}

const record = (burst: BurstRule, subjectId: string, actorKey?: string) =>
  testDb.db.transaction((tx) => recordBurstEvent(tx, logger, burst, { subjectId, actorKey, at: clock.now() }));
const alertsOf = async (kind: string) =>
  (await testDb.db.query<{ subject_id: string; message: string }>('SELECT subject_id, message FROM operator_alerts WHERE alert = $1 ORDER BY id', [kind])).rows;
const criticalLinesOf = (kind: string) => lines.filter((line) => line.includes('"CRITICAL"') && line.includes(`"${kind}"`));

describe('recordBurstEvent', () => {
  it('raises nothing up to the limit, one alert and one CRITICAL line above it, and nothing more inside the cool-down', async () => {
    const burst = rule('test.limit_burst');
    for (let i = 0; i < 3; i += 1) expect(await record(burst, 'a')).toMatchObject({ events: i + 1, isRaised: false });
    expect(await alertsOf('test.limit_burst')).toEqual([]);

    expect(await record(burst, 'a')).toMatchObject({ events: 4, isRaised: true });
    expect(await alertsOf('test.limit_burst')).toEqual([{ subject_id: 'a', message: '4 events for a' }]);
    expect(criticalLinesOf('test.limit_burst')).toHaveLength(1);

    // The burst goes on, and a second one comes after the window, both inside the cool-down.
    for (let i = 0; i < 5; i += 1) expect((await record(burst, 'a')).isRaised).toBe(false);
    clock.advance(20 * 60_000);
    for (let i = 0; i < 5; i += 1) expect((await record(burst, 'a')).isRaised).toBe(false);
    expect(await alertsOf('test.limit_burst')).toHaveLength(1);
    expect(criticalLinesOf('test.limit_burst')).toHaveLength(1);

    // After the cool-down a burst is a new incident.
    clock.advance(60 * 60_000);
    for (let i = 0; i < 3; i += 1) expect((await record(burst, 'a')).isRaised).toBe(false);
    expect((await record(burst, 'a')).isRaised).toBe(true);
    expect(await alertsOf('test.limit_burst')).toHaveLength(2);
  });

  it('counts a sliding window per subject: older events and other subjects do not add up', async () => {
    const burst = rule('test.window_burst');
    await record(burst, 'a');
    await record(burst, 'a');
    clock.advance(6 * 60_000);
    await record(burst, 'a');
    await record(burst, 'b');
    clock.advance(5 * 60_000); // the first two are now older than 10 minutes
    expect(await record(burst, 'a')).toMatchObject({ events: 2, isRaised: false });
    expect(await record(burst, 'a')).toMatchObject({ events: 3, isRaised: false });
    expect(await alertsOf('test.window_burst')).toEqual([]);
  });

  it('requires the distinct actors a rule asks for, or counts only distinct actors', async () => {
    const needsActors = rule('test.actors_burst', { limit: { maxEvents: 3, windowMinutes: 10, minActors: 3, coolDownMinutes: 60 } });
    for (let i = 0; i < 8; i += 1) await record(needsActors, 'net', i % 2 === 0 ? 'x' : 'y');
    expect(await alertsOf('test.actors_burst')).toEqual([]);
    // Counts stop at the limit + 1: enough to tell a burst.
    expect(await record(needsActors, 'net', 'z')).toMatchObject({ events: 4, actors: 3, isRaised: true });

    const distinct = rule('test.distinct_burst', { countsActors: true });
    for (const actor of ['p1', 'p1', 'p2', 'p2', 'p3', 'p3', 'p3']) expect((await record(distinct, 'channel', actor)).isRaised).toBe(false);
    expect(await record(distinct, 'channel', 'p4')).toMatchObject({ actors: 4, isRaised: true });
  });

  it('counts events that arrive at once exactly, and raises exactly one alert for them', async () => {
    const burst = rule('test.concurrent_burst', { limit: { maxEvents: 9, windowMinutes: 10, coolDownMinutes: 60 } });
    const verdicts = await Promise.all(Array.from({ length: 9 }, () => record(burst, 'c')));
    expect(verdicts.map((verdict) => verdict.events).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await alertsOf('test.concurrent_burst')).toEqual([]);

    const more = await Promise.all(Array.from({ length: 12 }, () => record(burst, 'c')));
    expect(more.filter((verdict) => verdict.isRaised)).toHaveLength(1);
    expect(more.map((verdict) => verdict.events)).toEqual(Array(12).fill(10)); // capped at the limit + 1
    expect(await alertsOf('test.concurrent_burst')).toHaveLength(1);
    expect(criticalLinesOf('test.concurrent_burst')).toHaveLength(1);
  });

  it('outside a transaction (countBurstEvent), counts events at once without a queue and raises exactly one alert', async () => {
    const burst = rule('test.unlocked_burst', { limit: { maxEvents: 9, windowMinutes: 10, coolDownMinutes: 60 } });
    const count = () => countBurstEvent(testDb.db, logger, burst, { subjectId: 'flood', at: clock.now() });
    const below = await Promise.all(Array.from({ length: 9 }, count));
    expect(below.some((verdict) => verdict.isRaised)).toBe(false);
    expect(Math.max(...below.map((verdict) => verdict.events))).toBe(9); // the last to commit sees them all
    const over = await Promise.all(Array.from({ length: 30 }, count));
    expect(over.filter((verdict) => verdict.isRaised)).toHaveLength(1);
    expect(await alertsOf('test.unlocked_burst')).toHaveLength(1);
    expect(criticalLinesOf('test.unlocked_burst')).toHaveLength(1);
    // Inside the cool-down, after the window too, nothing more.
    clock.advance(30 * 60_000);
    await Promise.all(Array.from({ length: 12 }, count));
    expect(await alertsOf('test.unlocked_burst')).toHaveLength(1);
  });

  it('prunes events older than the window as new ones arrive', async () => {
    const burst = rule('test.prune_burst');
    for (let i = 0; i < 5; i += 1) await record(burst, `s${i}`);
    clock.advance(11 * 60_000);
    await record(burst, 'other');
    const { rows } = await testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM burst_events WHERE rule = 'test.prune_burst'`);
    expect(rows[0]?.n).toBe(1);
  });
});

describe('raiseOperatorAlert with a cool-down', () => {
  it('raises once per cool-down whatever the episode, and concurrent callers raise once', async () => {
    const alert = (episode: string) =>
      testDb.db.transaction((tx) =>
        raiseOperatorAlert(tx, logger, { kind: 'test.cool_down', subjectType: 'thing', subjectId: 'x', episode, message: 'm', at: clock.now(), coolDownSeconds: 600 }),
      );
    const first = await Promise.all(['e1', 'e2', 'e3', 'e4'].map(alert));
    expect(first.filter(Boolean)).toHaveLength(1);
    clock.advance(599_000);
    expect(await alert('e5')).toBe(false);
    clock.advance(2_000);
    expect(await alert('e6')).toBe(true);
  });
});

describe('loadBurstLimits', () => {
  it('reads only the rules asked for, with the shared cool-down, and defaults what is unset', () => {
    expect(loadBurstLimits(['loginFailures'], { LOGIN_FAILURE_ALERT: '50/15/10', BURST_ALERT_COOL_DOWN_MINUTES: '30', PAYMENT_FAILURE_ALERT: 'ignored' })).toEqual({
      loginFailures: { maxEvents: 50, windowMinutes: 15, minActors: 10, coolDownMinutes: 30 },
    });
    expect(loadBurstLimits(['ipnSignatureFailures', 'paymentFailures'], {})).toEqual({
      ipnSignatureFailures: { maxEvents: 20, windowMinutes: 10, coolDownMinutes: 60 },
      paymentFailures: { maxEvents: 10, windowMinutes: 60, coolDownMinutes: 60 },
    });
    expect(() => loadBurstLimits(['paymentFailures'], { PAYMENT_FAILURE_ALERT: 'ten' })).toThrow(/PAYMENT_FAILURE_ALERT/);
  });
});
