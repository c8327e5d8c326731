import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../errors/index.js';
import { createLogger } from '../logging/index.js';
import { createBotApi } from '../telegram/index.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertTelegramUser } from '../testing/fixtures.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import { isOwnerAlertKind } from './owner-alerts.js';
import { type NotificationDeps, notifyOwner } from './owner-notifications.js';

let testDb: TestDatabase;
let clock: FakeClock;
let telegram: TelegramSimulator;
let deps: NotificationDeps;
let nextUserId = 870_000_000;

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock(FIXTURE_NOW);
  telegram = await startTelegramSimulator({ clock });
  deps = { db: testDb.db, clock, logger: createLogger({ write: () => undefined }), telegram: createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot }) };
});
afterAll(async () => {
  await telegram?.close();
  await testDb?.dispose();
});

/** A channel whose closed chat lacks the invite right, owned by an account linked to a Telegram user. */
async function channelMissingInviteRight(options: { language?: string; notifications: 'on' | 'off' }) {
  const ownerId = nextUserId++;
  telegram.addUser({ id: ownerId, first_name: 'Owner' });
  await insertTelegramUser(testDb.db, { id: BigInt(ownerId) });
  if (options.language) await testDb.db.query('UPDATE telegram_users SET language_code = $2 WHERE id = $1', [ownerId, options.language]);
  const channel = await insertChannel(testDb.db);
  await testDb.db.query('UPDATE accounts SET telegram_user_id = $2, telegram_linked_at = $3 WHERE id = $1', [channel.ownerAccountId, ownerId, clock.now()]);
  const rights = { closed: { status: 'administrator', chatType: 'channel', rights: { can_invite_users: false }, missing: ['can_invite_users'], date: 100 } };
  await testDb.db.query(
    `UPDATE channels SET closed_title = 'VIP <room>', bot_rights = $2, bot_rights_checked_at = $3,
       notifications_enabled = $4, notification_chat_id = CASE WHEN $4 THEN $5::bigint END WHERE id = $1`,
    [channel.id, JSON.stringify(rights), clock.now(), options.notifications === 'on', ownerId],
  );
  return { channelId: channel.id, ownerId };
}

describe('isOwnerAlertKind', () => {
  it.each([
    ['bot_rights_missing', true],
    ['invite_link_misused', true],
    ['payment_received', false],
    ['payout_completed', false],
  ])('%s → %s', (kind, expected) => expect(isOwnerAlertKind(kind)).toBe(expected));
});

describe('notifyOwner for bot_rights_missing', () => {
  it('warns the owner once, with the title escaped, however often the request arrives', async () => {
    const { channelId, ownerId } = await channelMissingInviteRight({ notifications: 'on' });
    const request = { kind: 'bot_rights_missing', channelId, subjectId: 'closed:100' };
    expect(await notifyOwner(deps, request)).toBe('sent');
    expect(await notifyOwner(deps, request)).toBe('already_done');
    const dms = telegram.messagesTo(ownerId);
    expect(dms).toHaveLength(1);
    expect(dms[0]?.text).toContain('VIP &lt;room&gt;');
    expect(dms[0]?.text).toContain('Invite users via link');
  });

  it('reaches the linked owner in their language even with payment notifications off', async () => {
    const { channelId, ownerId } = await channelMissingInviteRight({ notifications: 'off', language: 'ru' });
    expect(await notifyOwner(deps, { kind: 'bot_rights_missing', channelId, subjectId: 'closed:100' })).toBe('sent');
    expect(telegram.messagesTo(ownerId)[0]?.text).toContain('Приглашать по ссылке');
  });

  it('says nothing when the rights were fixed before the warning went out', async () => {
    const { channelId, ownerId } = await channelMissingInviteRight({ notifications: 'on' });
    await testDb.db.query(`UPDATE channels SET bot_rights = jsonb_set(bot_rights, '{closed,missing}', '[]') WHERE id = $1`, [channelId]);
    expect(await notifyOwner(deps, { kind: 'bot_rights_missing', channelId, subjectId: 'closed:100' })).toBe('skipped');
    expect(telegram.messagesTo(ownerId)).toEqual([]);
  });

  it('rejects a malformed subject as permanent', async () => {
    const { channelId } = await channelMissingInviteRight({ notifications: 'on' });
    await expect(notifyOwner(deps, { kind: 'bot_rights_missing', channelId, subjectId: 'somewhere:1' })).rejects.toBeInstanceOf(PermanentError);
  });
});
