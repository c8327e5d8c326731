import type { ChatMember, ChatMemberAdministrator, User } from 'grammy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../../errors/index.js';
import { createLogger } from '../../logging/index.js';
import { type FakeClock, createFakeClock } from '../../testing/fakes/clock.js';
import { chatMemberStates } from '../../testing/chat-members.js';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { FIXTURE_NOW, insertPayment, insertSubscription } from '../../testing/fixtures.js';
import { type TelegramSimulator, startTelegramSimulator } from '../../testing/simulators/telegram-simulator.js';
import { createBotApi } from '../../telegram/bot-api.js';
import { guardInviteJoin, isJoin } from './membership.js';

const bot: User = { id: 1, is_bot: true, first_name: 'Bot' };
const person: User = { id: 2, is_bot: false, first_name: 'Ann' };
const { admin, left, kicked, member } = chatMemberStates(bot);

describe('isJoin', () => {
  const as = (state: ChatMember): ChatMember => ({ ...state, user: person });
  it.each<[string, ChatMember, ChatMember, boolean]>([
    ['left → member', as(left), as(member), true],
    ['kicked → member', as(kicked), as(member), true],
    ['left → restricted member', as(left), as({ status: 'restricted', is_member: true } as ChatMember), true],
    ['member → left', as(member), as(left), false],
    ['member → kicked (our own removal)', as(member), as(kicked), false],
    ['member → administrator (promotion)', as(member), as(admin()), false],
    ['kicked → left (our unban)', as(kicked), as(left), false],
  ])('%s is %s', (_, before, after, expected) => {
    expect(isJoin(before, after)).toBe(expected);
  });
});

describe('with a database and the Telegram simulator', () => {
  let testDb: TestDatabase;
  let clock: FakeClock;
  let telegram: TelegramSimulator;
  let nextUserId = 910_000_000;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    clock = createFakeClock(FIXTURE_NOW);
    telegram = await startTelegramSimulator({ clock });
  });
  afterAll(async () => {
    await telegram?.close();
    await testDb?.dispose();
  });

  const deps = () => ({ db: testDb.db, clock, logger: createLogger({ write: () => undefined }) });
  const api = () => createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot });
  const outbox = async (kind: string) =>
    (await testDb.db.query<{ payload: { kind: string; subjectId: string; channelId: string } }>(`SELECT payload FROM outbox WHERE payload->>'kind' = $1 ORDER BY id`, [kind])).rows.map(
      (row) => row.payload,
    );

  describe('guardInviteJoin', () => {
    /** A settled payment's invite link in a closed chat where the bot is an administrator with `rights`. */
    async function issuedLink(rights: Partial<ChatMemberAdministrator> = {}) {
      const subscriberId = nextUserId++;
      const intruderId = nextUserId++;
      telegram.addUser({ id: subscriberId, first_name: 'Sub' });
      telegram.addUser({ id: intruderId, first_name: 'Intruder' });
      const payment = await insertPayment(testDb.db, { status: 'finished', isSettled: true });
      const { rows } = await testDb.db.query<{ closed_chat_id: bigint }>('SELECT closed_chat_id FROM channels WHERE id = $1', [payment.channelId]);
      const chatId = Number(rows[0]!.closed_chat_id);
      telegram.addChat({ id: chatId, type: 'channel', title: 'Closed' });
      telegram.setBotMembership(chatId, 'administrator', { can_invite_users: true, can_restrict_members: true });
      const link = await api().createChatInviteLink(chatId, { member_limit: 1 });
      if (Object.keys(rights).length > 0) telegram.setBotMembership(chatId, 'administrator', rights);
      await testDb.db.query('INSERT INTO telegram_users (id, first_name) VALUES ($1, $2)', [subscriberId, 'Sub']);
      const subscription = await insertSubscription(testDb.db, { telegramUserId: BigInt(subscriberId), channelId: payment.channelId });
      const { rows: links } = await testDb.db.query<{ id: string }>(
        `INSERT INTO invite_links (payment_id, subscription_id, chat_id, invite_link, created_at, expires_at, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5) RETURNING id`,
        [payment.id, subscription.id, chatId, link.invite_link, clock.now(), new Date(clock.now().getTime() + 3_600_000)],
      );
      return { chatId, linkId: links[0]!.id, inviteLink: link.invite_link, subscriberId, intruderId };
    }

    it('ignores a link the gateway did not make, and one of another chat', async () => {
      const setup = await issuedLink();
      const input = { chatId: setup.chatId, user: { id: setup.intruderId, is_bot: false, first_name: 'Intruder' }, inviteLink: 'https://t.me/+unknownLink' };
      expect(await guardInviteJoin({ ...deps(), telegram: api() }, input)).toBe('unknown_link');
      expect(await guardInviteJoin({ ...deps(), telegram: api() }, { ...input, chatId: -1001234567890, inviteLink: setup.inviteLink })).toBe('unknown_link');
    });

    it('retries the whole removal when Telegram fails transiently, and tells the owner once', async () => {
      const setup = await issuedLink();
      await telegram.joinWithInviteLink(setup.intruderId, setup.inviteLink);
      const input = { chatId: setup.chatId, user: { id: setup.intruderId, is_bot: false, first_name: 'Intruder' }, inviteLink: setup.inviteLink };
      const subject = `${setup.linkId}:${setup.intruderId}`;

      telegram.failNext('revokeChatInviteLink', { errorCode: 500, description: 'Internal Server Error' });
      await expect(guardInviteJoin({ ...deps(), telegram: api() }, input)).rejects.toBeInstanceOf(TransientError);
      expect((await outbox('invite_link_misused')).filter((payload) => payload.subjectId === subject)).toEqual([]);

      expect(await guardInviteJoin({ ...deps(), telegram: api() }, input)).toBe('intruder_removed');
      expect(await guardInviteJoin({ ...deps(), telegram: api() }, input)).toBe('intruder_removed');
      expect((await outbox('invite_link_misused')).filter((payload) => payload.subjectId === subject)).toHaveLength(1);
      expect(telegram.memberStatus(setup.chatId, setup.intruderId)).toBe('left');
    });

    it('still revokes the link and tells the owner when the bot may not ban', async () => {
      const setup = await issuedLink({ can_restrict_members: false });
      await telegram.joinWithInviteLink(setup.intruderId, setup.inviteLink);
      const input = { chatId: setup.chatId, user: { id: setup.intruderId, is_bot: false, first_name: 'Intruder' }, inviteLink: setup.inviteLink };

      expect(await guardInviteJoin({ ...deps(), telegram: api() }, input)).toBe('intruder_not_removed');
      expect(telegram.memberStatus(setup.chatId, setup.intruderId)).toBe('member');
      expect(telegram.inviteLinks(setup.chatId).find((link) => link.invite_link === setup.inviteLink)?.is_revoked).toBe(true);
      expect((await outbox('invite_link_misused')).filter((payload) => payload.subjectId === `${setup.linkId}:${setup.intruderId}`)).toHaveLength(1);
    });

    it('records the rightful subscriber as joined', async () => {
      const setup = await issuedLink();
      await telegram.joinWithInviteLink(setup.subscriberId, setup.inviteLink);
      const input = { chatId: setup.chatId, user: { id: setup.subscriberId, is_bot: false, first_name: 'Sub' }, inviteLink: setup.inviteLink };
      expect(await guardInviteJoin({ ...deps(), telegram: api() }, input)).toBe('subscriber_joined');
      const { rows } = await testDb.db.query<{ joined_by_telegram_user_id: bigint; revoked_at: Date | null }>(
        'SELECT joined_by_telegram_user_id, revoked_at FROM invite_links WHERE id = $1',
        [setup.linkId],
      );
      expect(BigInt(rows[0]!.joined_by_telegram_user_id)).toBe(BigInt(setup.subscriberId));
      expect(rows[0]?.revoked_at).toEqual(clock.now());
      expect(telegram.memberStatus(setup.chatId, setup.subscriberId)).toBe('member');
    });
  });
});
