import { afterEach, beforeEach } from 'vitest';

/**
 * Listens, during each test of the calling `describe` block, for rejections nobody handled: the
 * Functions Framework answers such a rejection with a 500 on whatever request is running, so a
 * client library that leaves one behind must be caught at the test that provokes it.
 */
export function collectUnhandledRejections(): { reasons: unknown[]; settle: () => Promise<unknown[]> } {
  const reasons: unknown[] = [];
  const record = (reason: unknown) => reasons.push(reason);
  beforeEach(() => {
    reasons.length = 0;
    process.on('unhandledRejection', record);
  });
  afterEach(() => {
    process.off('unhandledRejection', record);
  });
  return {
    reasons,
    /** What was heard once pending rejections have surfaced (Node reports them after the microtask queue drains). */
    settle: async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return reasons;
    },
  };
}
