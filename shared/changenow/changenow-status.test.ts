import { describe, expect, it } from 'vitest';
import { parseChangeNowStatus } from './changenow-status.js';

describe('parseChangeNowStatus', () => {
  it.each(['new', 'waiting', 'confirming', 'exchanging', 'sending', 'verifying', 'finished', 'failed', 'refunded', 'expired'])(
    'keeps %j as ChangeNow wrote it',
    (status) => {
      expect(parseChangeNowStatus(status)).toBe(status);
    },
  );

  it.each(['overdue', 'FINISHED', 'constructor', 'toString', ''])('reports %j as unknown', (status) => {
    expect(parseChangeNowStatus(status)).toBe('unknown');
  });
});
