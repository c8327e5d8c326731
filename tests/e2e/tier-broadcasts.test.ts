import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestBroadcast } from '../../shared/channels/index.js';
import { formatPublicId } from '../../shared/ids/index.js';
import { createLogger } from '../../shared/logging/index.js';
import { type FakeClock, createFakeClock } from '../../shared/testing/fakes/clock.js';
import { type SeededChannel, type TestGateway, seedChannel, startTestGateway } from './gateway-harness.js';

const HOUR_MS = 3_600_000;

/**
 * Tier posts through the whole gateway on the in-process bus, every message delivered twice: the
 * scheduler's ticks, an owner's edit, "broadcast now" and its cooldown, a bot that may not post,
 * and the owner told once per cause.
 */
describe('tier posts, end to end', () => {
  let gateway: TestGateway;
  let clock: FakeClock;
  let channel: SeededChannel;
  let openChatId: number;
  let accountId: string;

  beforeAll(async () => {
    clock = createFakeClock(new Date(Date.now() + 60_000));
    gateway = await startTestGateway({ clock });
    channel = await seedChannel(gateway, { priceCents: 999n, days: 30 });
    const { rows } = await gateway.testDb.db.query<{ open_chat_id: bigint; owner_account_id: string }>('SELECT open_chat_id, owner_account_id FROM channels WHERE id = $1', [
      channel.channelId,
    ]);
    openChatId = Number(rows[0]!.open_chat_id);
    accountId = rows[0]!.owner_account_id;
    gateway.telegram.addChat({ id: openChatId, type: 'channel', title: 'Open' });
    gateway.telegram.setBotMembership(openChatId, 'administrator');
    await gateway.telegram.flush();
    await gateway.testDb.db.query('UPDATE broadcast_schedules SET next_run_at = $2, rebuild_requested = false WHERE channel_id = $1', [channel.channelId, clock.now()]);
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
  });

  async function tick(): Promise<void> {
    await gateway.runtime.bus?.publish('broadcast-requested', { job: 'broadcast-tiers', channelIds: [] });
    await gateway.settle();
  }
  const posts = () => gateway.telegram.messagesTo(openChatId);
  const buttonTexts = () => (posts()[0]?.replyMarkup as { inline_keyboard: { text: string }[][] }).inline_keyboard.flat().map((button) => button.text);
  const ownerMessages = () => gateway.telegram.messagesTo(channel.ownerTelegramId).map((message) => message.text);

  it('a scheduled tick posts once, and the next interval replaces the post', async () => {
    await tick();
    expect(posts()).toHaveLength(1);
    expect(buttonTexts()).toEqual(['🥇 $9.99 for 30 days']);
    const first = posts()[0]!.messageId;
    await tick(); // not due again yet
    expect(posts().map((post) => post.messageId)).toEqual([first]);

    clock.advance(24 * HOUR_MS);
    await tick();
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.messageId).toBeGreaterThan(first);
  });

  it('an edit of tier prices replaces the post within one tick', async () => {
    clock.advance(5 * 60_000);
    await gateway.testDb.db.query('UPDATE channel_tiers SET price_cents = 1499 WHERE channel_id = $1', [channel.channelId]);
    await tick();
    expect(posts()).toHaveLength(1);
    expect(buttonTexts()).toEqual(['🥇 $14.99 for 30 days']);
  });

  it('"broadcast now" posts without waiting for a tick; inside the cooldown it is refused with the time left', async () => {
    const deps = { db: gateway.testDb.db, clock, logger: createLogger({ write: () => undefined }) };
    const before = posts()[0]!.messageId;
    clock.advance(60_000);
    await requestBroadcast(deps, { accountId }, formatPublicId('channel', channel.channelId));
    // The dashboard relays what a request queued once it has answered; here the scheduled relay does.
    await gateway.runtime.bus?.publish('outbox-relay-requested', { job: 'relay-outbox' });
    await gateway.settle();
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.messageId).toBeGreaterThan(before);
    clock.advance(100_000);
    await expect(requestBroadcast(deps, { accountId }, formatPublicId('channel', channel.channelId))).rejects.toMatchObject({
      code: 'broadcast_cooling_down',
      context: { retryAfterSeconds: 200 },
    });
  });

  it('a bot that may not post fails for good, the owner hears it once, and five failures switch the schedule off once', async () => {
    const ownerBefore = ownerMessages().length;
    gateway.telegram.setBotMembership(openChatId, 'administrator', { can_post_messages: false });
    await gateway.telegram.flush();
    await gateway.settle();
    for (let attempt = 0; attempt < 5; attempt++) {
      clock.advance(24 * HOUR_MS);
      await tick();
      await tick();
    }
    const { rows } = await gateway.testDb.db.query<{ is_enabled: boolean; disabled_reason: string | null; consecutive_failures: number }>(
      'SELECT is_enabled, disabled_reason, consecutive_failures FROM broadcast_schedules WHERE channel_id = $1',
      [channel.channelId],
    );
    expect(rows[0]).toEqual({ is_enabled: false, disabled_reason: 'too_many_failures', consecutive_failures: 5 });
    const told = ownerMessages().slice(ownerBefore);
    // The rights alert (from Telegram's update) names the right; the broadcaster does not repeat it.
    expect(told.filter((text) => text.includes('Post messages'))).toHaveLength(1);
    expect(told.filter((text) => text.includes('switched off'))).toHaveLength(1);
    expect(told).toHaveLength(2);
    // The old post stays up: nothing replaced it.
    expect(posts()).toHaveLength(1);
  });
});
