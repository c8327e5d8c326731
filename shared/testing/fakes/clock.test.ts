import { describe, expect, it } from 'vitest';
import { systemClock } from '../../clock/index.js';
import { createFakeClock } from './clock.js';

describe('createFakeClock', () => {
  it('starts at 2026-01-01T00:00:00Z by default and stays there until moved', () => {
    const clock = createFakeClock();
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('starts at a given Date or ISO string', () => {
    expect(createFakeClock(new Date('2030-05-06T07:08:09Z')).now().toISOString()).toBe('2030-05-06T07:08:09.000Z');
    expect(createFakeClock('2030-05-06T07:08:09+02:00').now().toISOString()).toBe('2030-05-06T05:08:09.000Z');
  });

  it('moves forward by advance(ms) and jumps with set(date)', () => {
    const clock = createFakeClock('2026-01-01T00:00:00Z');
    clock.advance(1_500);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:01.500Z');
    clock.set('2025-12-31T23:00:00Z');
    expect(clock.now().toISOString()).toBe('2025-12-31T23:00:00.000Z');
  });

  it('returns a fresh Date each time, so callers cannot move the clock by mutating it', () => {
    const clock = createFakeClock();
    clock.now().setUTCFullYear(1999);
    expect(clock.now().getUTCFullYear()).toBe(2026);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects advance(%s)', (ms) => {
    expect(() => createFakeClock().advance(ms)).toThrow(RangeError);
  });

  it('rejects an unparseable date', () => {
    expect(() => createFakeClock('not a date')).toThrow(RangeError);
    expect(() => createFakeClock().set('tomorrow')).toThrow(RangeError);
  });
});

describe('systemClock', () => {
  it('reads the wall clock', () => {
    const before = Date.now();
    const now = systemClock.now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
