export type { KeyValueStore, ExpiryOptions, IncrementOptions, IncrementResult } from './key-value-store.js';
export { type MemoryKeyValueStoreOptions, createMemoryKeyValueStore } from './memory-key-value-store.js';
export { type FirestoreKeyValueStoreOptions, createFirestoreKeyValueStore } from './firestore-key-value-store.js';
export { withLease } from './lease.js';
