import { describe, expect, it } from 'vitest';
import { RETRY_WINDOW_SECONDS, retryDelaySeconds } from './webhook-delivery.js';

describe('retryDelaySeconds', () => {
  it.each([
    [1, 60],
    [2, 120],
    [3, 240],
    [10, 30_720],
    [11, 43_200],
    [30, 43_200],
  ])('after attempt %i waits %i s', (attempts, seconds) => {
    expect(retryDelaySeconds(attempts)).toBe(seconds);
  });

  it('leaves about 14 attempts within the 3-day window', () => {
    let elapsed = 0;
    let attempts = 0;
    while (elapsed + retryDelaySeconds(attempts + 1) <= RETRY_WINDOW_SECONDS) elapsed += retryDelaySeconds(++attempts);
    expect(attempts + 1).toBeGreaterThanOrEqual(13);
    expect(attempts + 1).toBeLessThanOrEqual(16);
  });
});
