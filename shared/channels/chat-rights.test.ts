import type { Chat, ChatMember, User } from 'grammy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { chatMemberStates } from '../testing/chat-members.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel } from '../testing/fixtures.js';
import { missingBotRights, recordBotRights } from './chat-rights.js';

const bot: User = { id: 1, is_bot: true, first_name: 'Bot' };
const { admin, left, kicked, member } = chatMemberStates(bot);

describe('missingBotRights', () => {
  it.each<[string, 'open' | 'closed', Chat['type'], ChatMember, string[]]>([
    ['a full administrator of the closed channel', 'closed', 'channel', admin(), []],
    ['a closed-channel admin who may not invite', 'closed', 'channel', admin({ can_invite_users: false }), ['can_invite_users']],
    ['a closed-channel admin who may not ban', 'closed', 'supergroup', admin({ can_restrict_members: false }), ['can_restrict_members']],
    ['a bot removed from the closed channel', 'closed', 'channel', left, ['membership', 'can_invite_users', 'can_restrict_members']],
    ['a bot banned from the closed chat', 'closed', 'supergroup', kicked, ['membership', 'can_invite_users', 'can_restrict_members']],
    ['a plain member of the closed group', 'closed', 'supergroup', member, ['administrator', 'can_invite_users', 'can_restrict_members']],
    ['an open-channel admin who may post', 'open', 'channel', admin({ can_invite_users: false }), []],
    ['an open-channel admin who may not post', 'open', 'channel', admin({ can_post_messages: false }), ['can_post_messages']],
    ['a bot removed from the open channel', 'open', 'channel', left, ['membership', 'can_post_messages']],
    ['a plain member of an open group', 'open', 'supergroup', member, []],
    ['a muted member of an open group', 'open', 'supergroup', { ...member, status: 'restricted', is_member: true, can_send_messages: false } as ChatMember, ['can_send_messages']],
    ['a bot removed from an open group', 'open', 'group', left, ['membership', 'can_send_messages']],
  ])('%s lacks %j', (_, role, chatType, state, expected) => {
    expect(missingBotRights(role, chatType, state)).toEqual(expected);
  });
});

describe('with a database', () => {
  let testDb: TestDatabase;
  let clock: FakeClock;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    clock = createFakeClock(FIXTURE_NOW);
  });
  afterAll(async () => {
    await testDb?.dispose();
  });

  const deps = () => ({ db: testDb.db, clock });
  const outbox = async (kind: string) =>
    (await testDb.db.query<{ payload: { kind: string; subjectId: string; channelId: string } }>(`SELECT payload FROM outbox WHERE payload->>'kind' = $1 ORDER BY id`, [kind])).rows.map(
      (row) => row.payload,
    );

  describe('recordBotRights', () => {
    it('orders two changes made in the same second by update id, whatever order they arrive in', async () => {
      const channel = await insertChannel(testDb.db);
      const chat = { id: Number(channel.closedChatId), type: 'channel', title: 'Closed' } as Chat;
      const date = Math.floor(clock.now().getTime() / 1000);
      // Update 11 (invite right taken away) arrives before update 10 (full rights), same second.
      expect(await recordBotRights(deps(), { chat, member: admin({ can_invite_users: false }), date, updateId: 11 })).toMatchObject([
        { missing: ['can_invite_users'], isOwnerAlerted: true },
      ]);
      expect(await recordBotRights(deps(), { chat, member: admin(), date, updateId: 10 })).toEqual([]);
      const { rows } = await testDb.db.query<{ missing: string[] }>(`SELECT bot_rights->'closed'->'missing' AS missing FROM channels WHERE id = $1`, [channel.id]);
      expect(rows[0]?.missing).toEqual(['can_invite_users']);
    });

    it('alerts when a right goes missing, not again for the same gap, and ignores an older update', async () => {
      const channel = await insertChannel(testDb.db);
      const chat = { id: Number(channel.closedChatId), type: 'channel', title: 'Closed' } as Chat;
      const date = Math.floor(clock.now().getTime() / 1000);

      expect(await recordBotRights(deps(), { chat, member: admin(), date })).toMatchObject([{ role: 'closed', missing: [], isOwnerAlerted: false }]);
      expect(await recordBotRights(deps(), { chat, member: admin({ can_restrict_members: false }), date: date + 10 })).toMatchObject([
        { missing: ['can_restrict_members'], isOwnerAlerted: true },
      ]);
      expect(await recordBotRights(deps(), { chat, member: admin({ can_restrict_members: false, can_pin_messages: false }), date: date + 20 })).toMatchObject([
        { isOwnerAlerted: false },
      ]);
      // A late redelivery of the first update must not overwrite the newer state.
      expect(await recordBotRights(deps(), { chat, member: admin(), date })).toEqual([]);
      const { rows } = await testDb.db.query<{ missing: string[] }>(`SELECT bot_rights->'closed'->'missing' AS missing FROM channels WHERE id = $1`, [channel.id]);
      expect(rows[0]?.missing).toEqual(['can_restrict_members']);
      const alerts = (await outbox('bot_rights_missing')).filter((payload) => payload.channelId === channel.id && payload.subjectId.startsWith('closed:'));
      expect(alerts.map((payload) => payload.subjectId)).toEqual([`closed:${date + 10}`]);
    });

    it('asks for a new tier post when the bot may post in the open channel again', async () => {
      const channel = await insertChannel(testDb.db);
      const chat = { id: Number(channel.openChatId), type: 'channel', title: 'Open' } as Chat;
      const date = Math.floor(clock.now().getTime() / 1000);
      const rebuild = async () =>
        (await testDb.db.query<{ rebuild_requested: boolean }>('SELECT rebuild_requested FROM broadcast_schedules WHERE channel_id = $1', [channel.id])).rows[0]?.rebuild_requested;
      await recordBotRights(deps(), { chat, member: admin({ can_post_messages: false }), date });
      expect(await rebuild()).toBe(false);
      await recordBotRights(deps(), { chat, member: admin(), date: date + 10 });
      expect(await rebuild()).toBe(true);
    });

    it('records nothing for a chat no channel uses', async () => {
      expect(await recordBotRights(deps(), { chat: { id: -1009999999999, type: 'channel', title: 'Elsewhere' } as Chat, member: admin(), date: 1 })).toEqual([]);
    });
  });
});
