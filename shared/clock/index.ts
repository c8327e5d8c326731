/**
 * The only source of time in `shared/`. Production passes `systemClock`; tests pass
 * `createFakeClock()` from `shared/testing/fakes/clock.ts` and move time explicitly instead of sleeping.
 */
export interface Clock {
  /** The current instant. Each call returns a fresh `Date` the caller may mutate. */
  now(): Date;
}

/** Wall-clock time of this machine. */
export const systemClock: Clock = {
  now: () => new Date(),
};

export { formatUtc } from './format-utc.js';
