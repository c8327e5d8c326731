import type { Clock } from '../../clock/index.js';

/** A `Clock` that only moves when a test moves it. */
export interface FakeClock extends Clock {
  /** Moves time forward by `ms` milliseconds (a finite number ≥ 0). */
  advance(ms: number): void;
  /** Jumps to `date` (forwards or backwards). */
  set(date: Date | string): void;
}

/** Where a fake clock starts when no start is given: a fixed instant, so runs are reproducible. */
const DEFAULT_START = '2026-01-01T00:00:00.000Z';

function toMillis(date: Date | string, what: string): number {
  const ms = (typeof date === 'string' ? new Date(date) : date).getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`${what} is not a valid date: ${String(date)}`);
  return ms;
}

/**
 * A clock pinned at `start` (default 2026-01-01T00:00:00Z). Strings are parsed as ISO-8601; write
 * them with a `Z` or an offset so the result does not depend on the machine's time zone.
 */
export function createFakeClock(start: Date | string = DEFAULT_START): FakeClock {
  let nowMs = toMillis(start, 'createFakeClock start');
  return {
    now: () => new Date(nowMs),
    advance(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`advance(ms) needs a finite number ≥ 0, got ${ms}; use set() to go back in time`);
      }
      nowMs += ms;
    },
    set(date: Date | string) {
      nowMs = toMillis(date, 'set(date)');
    },
  };
}
