import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChatOwnership } from '../../channels/index.js';
import { createBotApi } from '../../telegram/index.js';
import { type TelegramSimulator, startTelegramSimulator } from './telegram-simulator.js';

let telegram: TelegramSimulator;
beforeAll(async () => {
  telegram = await startTelegramSimulator();
});
afterAll(() => telegram?.close());

const post = (path: string, body: unknown) =>
  fetch(`${telegram.apiRoot}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('sandbox endpoints for channel owners', () => {
  it('sets up chats, their owner and the bot’s rights, as the Bot API then reports them', async () => {
    expect((await post('/sandbox/users', { id: 5001, first_name: 'Olga' })).status).toBe(200);
    for (const id of [-1005000000001, -1005000000002]) {
      expect((await post('/sandbox/chats', { id, type: 'channel', title: `Chat ${id}` })).status).toBe(200);
      expect((await post(`/sandbox/chats/${id}/members`, { userId: 5001, status: 'creator' })).status).toBe(200);
    }
    await post('/sandbox/chats/-1005000000001/bot', { status: 'administrator' });
    await post('/sandbox/chats/-1005000000002/bot', { status: 'administrator', rights: { can_restrict_members: false } });

    const deps = { telegram: createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot }), bot: { id: telegram.botInfo.id, username: telegram.botInfo.username } };
    const input = { openChatId: -1005000000001n, closedChatId: -1005000000002n, ownerTelegramUserId: 5001n, at: new Date() };
    await expect(verifyChatOwnership(deps, input)).rejects.toMatchObject({ code: 'channel_ownership_unverified', message: expect.stringContaining('"Ban users"') });

    await post('/sandbox/chats/-1005000000002/bot', { status: 'administrator', rights: { can_restrict_members: true } });
    await expect(verifyChatOwnership(deps, input)).resolves.toMatchObject({ closed: { status: 'administrator', missing: [] } });
  });

  it('refuses malformed set-up requests with 400', async () => {
    expect((await post('/sandbox/chats', { id: 5, type: 'channel' })).status).toBe(400);
    expect((await post('/sandbox/chats/-1005000000001/bot', { status: 'owner' })).status).toBe(400);
  });
});
