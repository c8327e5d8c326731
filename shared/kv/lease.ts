import type { KeyValueStore } from './key-value-store.js';
import { keyValueError } from './errors.js';

/**
 * Runs `work` while holding a short exclusive lease on `key`, so two concurrent deliveries of the
 * same message cannot both perform a side effect the database cannot undo (a Telegram DM). The
 * loser gets a TransientError and is redelivered later, when the winner's record says it is done.
 * The lease expires by itself if its holder dies.
 */
export async function withLease<T>(kv: KeyValueStore, key: string, ttlSeconds: number, work: () => Promise<T>): Promise<T> {
  const leaseKey = `lease:${key}`;
  if (!(await kv.setIfAbsent(leaseKey, true, { ttlSeconds }))) {
    throw keyValueError('work_in_progress', 'The same work is in progress elsewhere; retry later', { key });
  }
  try {
    return await work();
  } finally {
    await kv.delete(leaseKey).catch(() => undefined);
  }
}
