import { describe, expect, it } from 'vitest';
import { isFinalChangeNowStatus, mapChangeNowStatus } from './changenow-status.js';

describe('mapChangeNowStatus', () => {
  it.each([
    ['new', 'awaiting_deposit'],
    ['waiting', 'awaiting_deposit'],
    ['confirming', 'confirming'],
    ['exchanging', 'exchanging'],
    ['sending', 'sending'],
    ['verifying', 'verifying'],
    ['finished', 'finished'],
    ['failed', 'failed'],
    ['refunded', 'refunded'],
    ['expired', 'unknown'],
    ['FINISHED', 'unknown'],
    ['constructor', 'unknown'],
    ['', 'unknown'],
  ] as const)('maps %j to %s', (provider, ours) => {
    expect(mapChangeNowStatus(provider)).toBe(ours);
  });

  it('treats only finished, failed and refunded as final', () => {
    expect(['finished', 'failed', 'refunded'].every((s) => isFinalChangeNowStatus(mapChangeNowStatus(s)))).toBe(true);
    expect(isFinalChangeNowStatus('unknown')).toBe(false);
    expect(isFinalChangeNowStatus('verifying')).toBe(false);
  });
});
