import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Firestore, Timestamp } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../testing/fakes/clock.js';
import {
  type RunningEmulator,
  firestoreEmulatorSettings,
  hasGcloud,
  startFirestoreEmulator,
} from '../testing/sandbox/gcloud-emulators.js';
import { createFirestoreKeyValueStore } from './index.js';
import { describeKeyValueStoreContract } from '../testing/key-value-store-contract.js';

const rulesPath = fileURLToPath(new URL('../../firestore.rules', import.meta.url));
const skipReason = hasGcloud ? '' : ' [skipped: gcloud not installed]';
if (!hasGcloud) {
  console.warn('firestore-key-value-store.test.ts: gcloud is not installed, skipping the Firestore emulator tests');
}

describe.skipIf(!hasGcloud)(`createFirestoreKeyValueStore against the Firestore emulator${skipReason}`, () => {
  let emulator: RunningEmulator | undefined;
  let firestore: Firestore;
  let collections = 0;
  /** Every test gets its own collection, so tests never see each other's documents. */
  const nextCollection = () => `kv_test_${++collections}`;

  beforeAll(async () => {
    emulator = await startFirestoreEmulator({ projectId: 'demo-kv', rules: rulesPath });
    firestore = new Firestore(firestoreEmulatorSettings(emulator));
  });
  afterAll(async () => {
    await firestore?.terminate();
    await emulator?.stop();
  });

  describeKeyValueStoreContract('KeyValueStore contract', async () => {
    const clock = createFakeClock();
    return {
      store: createFirestoreKeyValueStore({ firestore, collection: nextCollection(), clock }),
      clock,
      dispose: async () => {},
    };
  });

  describe('stored documents', () => {
    it('keeps one document per key, named by the hex SHA-256 of the key, with the key and JSON value as fields', async () => {
      const clock = createFakeClock('2026-03-01T12:00:00Z');
      const collection = nextCollection();
      const store = createFirestoreKeyValueStore({ firestore, collection, clock });
      const key = 'chat/42/session';
      await store.set(key, { step: 'pay', tiers: [[1, 2]] }, { ttlSeconds: 90 });

      const id = createHash('sha256').update(key, 'utf8').digest('hex');
      const snapshot = await firestore.collection(collection).doc(id).get();
      expect(snapshot.data()).toEqual({
        key,
        value: '{"step":"pay","tiers":[[1,2]]}',
        expiresAt: Timestamp.fromDate(new Date('2026-03-01T12:01:30Z')),
        updatedAt: Timestamp.fromDate(new Date('2026-03-01T12:00:00Z')),
      });
    });

    it('omits expiresAt for an entry that never expires, so the TTL policy leaves it alone', async () => {
      const collection = nextCollection();
      const store = createFirestoreKeyValueStore({ firestore, collection, clock: createFakeClock() });
      await store.set('forever', 1, { ttlSeconds: 5 });
      await store.set('forever', 2);
      const { docs } = await firestore.collection(collection).get();
      expect(docs.map((doc) => Object.keys(doc.data()).sort())).toEqual([['key', 'updatedAt', 'value']]);
    });

    it('reads an expired document as absent while it still exists (TTL deletion is eventual)', async () => {
      const clock = createFakeClock();
      const collection = nextCollection();
      const store = createFirestoreKeyValueStore({ firestore, collection, clock });
      await store.set('otp', '123456', { ttlSeconds: 60 });
      clock.advance(60_000);
      expect(await store.get('otp')).toBeUndefined();
      expect((await firestore.collection(collection).get()).size).toBe(1);
    });

    it('rejects a document whose fields were not written by the adapter with kv_entry_corrupt', async () => {
      const collection = nextCollection();
      const store = createFirestoreKeyValueStore({ firestore, collection, clock: createFakeClock() });
      const id = createHash('sha256').update('hand-written', 'utf8').digest('hex');
      await firestore.collection(collection).doc(id).set({ key: 'hand-written', value: 42 });
      await expect(store.get('hand-written')).rejects.toMatchObject({ code: 'kv_entry_corrupt' });
    });
  });

  describe('firestore.rules', () => {
    it('denies a client without admin credentials', async () => {
      const store = createFirestoreKeyValueStore({ firestore, collection: 'kv_entries', clock: createFakeClock() });
      await store.set('visible-to-admin-only', 1);
      const id = createHash('sha256').update('visible-to-admin-only', 'utf8').digest('hex');
      const url = `http://${emulator?.host}/v1/projects/demo-kv/databases/(default)/documents/kv_entries/${id}`;
      expect((await fetch(url)).status).toBe(403);
      const write = await fetch(url, { method: 'PATCH', body: JSON.stringify({ fields: {} }) });
      expect(write.status).toBe(403);
      expect((await fetch(url, { headers: { Authorization: 'Bearer owner' } })).status).toBe(200);
    });
  });
});
