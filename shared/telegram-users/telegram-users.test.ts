import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertTelegramUser } from '../testing/fixtures.js';
import { markDirectMessagesBlocked, recordDirectMessageReach, upsertTelegramUser } from './index.js';

describe('telegram_users', () => {
  let testDb: TestDatabase;
  let clock: FakeClock;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    clock = createFakeClock(FIXTURE_NOW);
  });
  afterAll(async () => {
    await testDb?.dispose();
  });

  const blockedAt = async (id: bigint) =>
    (await testDb.db.query<{ dm_blocked_at: Date | null }>('SELECT dm_blocked_at FROM telegram_users WHERE id = $1', [id])).rows[0]?.dm_blocked_at;

  it('records a user blocking the bot in private and coming back', async () => {
    const user = await insertTelegramUser(testDb.db);
    await recordDirectMessageReach(testDb.db, user.id, true, clock.now());
    expect(await blockedAt(user.id)).toEqual(clock.now());
    clock.advance(60_000);
    await recordDirectMessageReach(testDb.db, user.id, true, clock.now()); // a repeat keeps the first moment
    expect(await blockedAt(user.id)).toEqual(new Date(clock.now().getTime() - 60_000));
    await recordDirectMessageReach(testDb.db, user.id, false, clock.now());
    expect(await blockedAt(user.id)).toBeNull();
  });

  it('marks a refused DM at its own moment, and a user back in the bot can be written to again', async () => {
    const user = await insertTelegramUser(testDb.db);
    await markDirectMessagesBlocked(testDb.db, user.id, clock.now());
    expect(await blockedAt(user.id)).toEqual(clock.now());
    clock.advance(60_000);
    await markDirectMessagesBlocked(testDb.db, user.id, clock.now());
    expect(await blockedAt(user.id)).toEqual(clock.now());
    await testDb.db.transaction((tx) => upsertTelegramUser(tx, { id: user.id, firstName: 'Ann', languageCode: 'ru' }));
    expect(await blockedAt(user.id)).toBeNull();
  });
});
