import { keyValueError } from '../../kv/errors.js';
import type { KeyValueStore } from '../../kv/index.js';

const OPERATIONS = ['get', 'set', 'delete', 'setIfAbsent', 'increment', 'update'] as const;

/**
 * Takes `kv` down in place until the returned function restores it: every call rejects as the
 * Firestore adapter does when the backend is unreachable (`TransientError('kv_unavailable')`, with
 * the gRPC text only in the message, which must never reach a response). In place, so the store a
 * running gateway already holds (`runtime.kv`) fails without restarting anything.
 */
export function simulateKeyValueOutage(kv: KeyValueStore): () => void {
  const originals = OPERATIONS.map((operation) => [operation, kv[operation]] as const);
  for (const operation of OPERATIONS) {
    (kv as unknown as Record<string, unknown>)[operation] = async () => {
      throw keyValueError('kv_unavailable', `Firestore failed kv ${operation} (gRPC status 14: UNAVAILABLE firestore.googleapis.com)`, {
        operation,
        grpcCode: 14,
      });
    };
  }
  return () => {
    for (const [operation, original] of originals) (kv as unknown as Record<string, unknown>)[operation] = original;
  };
}
