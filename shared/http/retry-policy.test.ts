import { describe, expect, it } from 'vitest';
import { BACKOFF_CAP_MS, backoffDelayMs, parseRetryAfter, shouldRetry, type RetryInput } from './retry-policy.js';

const half = () => 0.5;

describe('shouldRetry', () => {
  const base = { attempt: 1, maxAttempts: 3, random: half } as const;
  // attempt 1 with jitter 0.5: ceiling 250 ms → 125 + 62.5 = 188 ms (rounded)
  const backoff1 = 188;

  it.each<[string, Partial<RetryInput> & { method: string }, { retry: boolean; delayMs: number }]>([
    ['a GET with no answer', { method: 'GET', networkError: true }, { retry: true, delayMs: backoff1 }],
    ['a POST with no answer', { method: 'POST', networkError: true }, { retry: false, delayMs: 0 }],
    ['a retry-safe POST with no answer', { method: 'POST', networkError: true, isRetrySafe: true }, { retry: true, delayMs: backoff1 }],
    ['a GET answered 503', { method: 'GET', status: 503 }, { retry: true, delayMs: backoff1 }],
    ['a GET answered 500', { method: 'get', status: 500 }, { retry: true, delayMs: backoff1 }],
    ['a PUT answered 502', { method: 'PUT', status: 502 }, { retry: true, delayMs: backoff1 }],
    ['a POST answered 503', { method: 'POST', status: 503 }, { retry: false, delayMs: 0 }],
    ['a retry-safe POST answered 503', { method: 'POST', status: 503, isRetrySafe: true }, { retry: true, delayMs: backoff1 }],
    ['a GET answered 408', { method: 'GET', status: 408 }, { retry: true, delayMs: backoff1 }],
    ['a POST answered 429 without Retry-After', { method: 'POST', status: 429 }, { retry: true, delayMs: backoff1 }],
    ['a POST answered 429 with Retry-After 2', { method: 'POST', status: 429, retryAfterSeconds: 2 }, { retry: true, delayMs: 2000 }],
    ['a GET answered 429 with Retry-After 30', { method: 'GET', status: 429, retryAfterSeconds: 30 }, { retry: true, delayMs: 30_000 }],
    ['a GET answered 429 with Retry-After 31', { method: 'GET', status: 429, retryAfterSeconds: 31 }, { retry: false, delayMs: 0 }],
    ['a GET answered 429 with Retry-After 0', { method: 'GET', status: 429, retryAfterSeconds: 0 }, { retry: true, delayMs: 0 }],
    ['a GET answered 400', { method: 'GET', status: 400 }, { retry: false, delayMs: 0 }],
    ['a GET answered 401', { method: 'GET', status: 401 }, { retry: false, delayMs: 0 }],
    ['a GET answered 403', { method: 'GET', status: 403 }, { retry: false, delayMs: 0 }],
    ['a GET answered 404', { method: 'GET', status: 404 }, { retry: false, delayMs: 0 }],
    ['a retry-safe POST answered 422', { method: 'POST', status: 422, isRetrySafe: true }, { retry: false, delayMs: 0 }],
    ['a GET answered 302', { method: 'GET', status: 302 }, { retry: false, delayMs: 0 }],
    ['a GET with neither status nor network error', { method: 'GET' }, { retry: false, delayMs: 0 }],
    ['a GET answered 503 on its last attempt', { method: 'GET', status: 503, attempt: 3 }, { retry: false, delayMs: 0 }],
    ['a GET answered 429 on its last attempt', { method: 'GET', status: 429, attempt: 3, retryAfterSeconds: 1 }, { retry: false, delayMs: 0 }],
    ['a GET with no answer and one attempt allowed', { method: 'GET', networkError: true, maxAttempts: 1 }, { retry: false, delayMs: 0 }],
    ['a GET with no answer and a NaN bound', { method: 'GET', networkError: true, maxAttempts: Number.NaN }, { retry: false, delayMs: 0 }],
  ])('decides %s', (_name, input, expected) => {
    expect(shouldRetry({ ...base, ...input })).toEqual(expected);
  });
});

describe('backoffDelayMs', () => {
  it.each([
    [1, 0, 125],
    [1, 0.999999, 250],
    [2, 0, 250],
    [3, 0, 500],
    [5, 0.5, 3000],
    [6, 0, 2500],
    [6, 0.999999, 5000],
    [30, 0.999999, 5000],
  ])('waits between half and all of the ceiling (attempt %i, jitter %d → %i ms)', (attempt, jitter, expected) => {
    expect(backoffDelayMs(attempt, () => jitter)).toBe(expected);
  });

  it('never waits longer than the cap', () => {
    for (let attempt = 1; attempt < 60; attempt += 1) expect(backoffDelayMs(attempt, () => 0.999999)).toBeLessThanOrEqual(BACKOFF_CAP_MS);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it.each([
    ['2', 2],
    [' 10 ', 10],
    ['0', 0],
    ['Thu, 01 Jan 2026 00:00:05 GMT', 5],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['soon', undefined],
    ['-1', undefined],
    ['1.5', undefined],
    ['', undefined],
  ] as const)('reads %j as %s seconds', (header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });

  it('reads a missing header as undefined', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
