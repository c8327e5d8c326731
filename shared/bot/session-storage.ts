import type { StorageAdapter } from 'grammy';
import type { KeyValueStore } from '../kv/index.js';

/** Conversation state is short-lived: a session untouched for a day starts fresh. */
const SESSION_TTL_SECONDS = 86_400;

/** grammY sessions in the key-value store (Firestore in production, memory in the sandbox). */
export function createKeyValueSessionStorage<T>(kv: KeyValueStore): StorageAdapter<T> {
  const keyOf = (key: string) => `session:${key}`;
  return {
    read: (key) => kv.get<T>(keyOf(key)),
    write: (key, value) => kv.set(keyOf(key), value, { ttlSeconds: SESSION_TTL_SECONDS }),
    delete: (key) => kv.delete(keyOf(key)),
  };
}
