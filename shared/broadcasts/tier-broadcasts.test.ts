import type { Api } from 'grammy';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/index.js';
import { parseSubscribeStartPayload } from '../telegram/deep-links.js';
import { createBotApi } from '../telegram/index.js';
import { type FakeClock, createFakeClock } from '../testing/fakes/clock.js';
import { createTestDatabase, type TestDatabase } from '../testing/database.js';
import { FIXTURE_NOW, insertChannel, insertTier } from '../testing/fixtures.js';
import { type TelegramSimulator, startTelegramSimulator } from '../testing/simulators/telegram-simulator.js';
import { createPostPacer, withFloodControl } from './post-pacing.js';
import { MAX_CONSECUTIVE_FAILURES, type TierBroadcastDeps, runTierBroadcasts } from './tier-broadcasts.js';

const HOUR_MS = 3_600_000;
const BOT_USERNAME = 'pgp_test_bot';

let testDb: TestDatabase;
let clock: FakeClock;
let telegram: TelegramSimulator;
let api: Api;
let deps: TierBroadcastDeps;

beforeAll(async () => {
  testDb = await createTestDatabase();
  clock = createFakeClock(FIXTURE_NOW);
  telegram = await startTelegramSimulator({ clock });
  api = createBotApi({ token: telegram.token, apiRoot: telegram.apiRoot });
  deps = {
    db: testDb.db,
    clock,
    logger: createLogger({ write: () => undefined }),
    telegram: api,
    pacer: createPostPacer(),
    botUsername: async () => BOT_USERNAME,
  };
});
afterAll(async () => {
  await telegram?.close();
  await testDb?.dispose();
});
beforeEach(() => clock.set(FIXTURE_NOW));
// Every run looks at the whole table: switch off what a test left on so the next starts clean.
afterEach(async () => {
  await testDb.db.query(`UPDATE broadcast_schedules SET is_enabled = false, disabled_reason = 'owner', rebuild_requested = false, lease_expires_at = NULL`);
});

interface Setup {
  channelId: string;
  openChatId: number;
  closedChatId: number;
}

/** A live channel with two tiers whose schedule is due now; the bot administers both chats. */
async function dueChannel(options: { donations?: boolean; openRights?: 'full' | 'no_post' | 'absent' } = {}): Promise<Setup> {
  const channel = await insertChannel(testDb.db);
  await insertTier(testDb.db, { channelId: channel.id, tierNumber: 1, priceCents: 500n, durationDays: 30 });
  await insertTier(testDb.db, { channelId: channel.id, tierNumber: 2, priceCents: 1_250n, durationDays: 90 });
  await testDb.db.query(
    `UPDATE channels SET open_title = 'Free <Club>', open_description = 'News & tips', closed_title = 'VIP', closed_description = 'All of it',
       donations_enabled = $2, donation_min_cents = 500, donation_max_cents = 100000, donation_message = 'Keep us going' WHERE id = $1`,
    [channel.id, options.donations ?? false],
  );
  await testDb.db.query('UPDATE broadcast_schedules SET next_run_at = $2, rebuild_requested = false WHERE channel_id = $1', [channel.id, clock.now()]);
  const openChatId = Number(channel.openChatId);
  const closedChatId = Number(channel.closedChatId);
  telegram.addChat({ id: openChatId, type: 'channel', title: 'Free <Club>' });
  telegram.addChat({ id: closedChatId, type: 'channel', title: 'VIP' });
  const rights = options.openRights ?? 'full';
  if (rights === 'full') telegram.setBotMembership(openChatId, 'administrator');
  if (rights === 'no_post') telegram.setBotMembership(openChatId, 'administrator', { can_post_messages: false });
  telegram.setBotMembership(closedChatId, 'administrator');
  return { channelId: channel.id, openChatId, closedChatId };
}

async function schedule(channelId: string) {
  const { rows } = await testDb.db.query<{
    is_enabled: boolean;
    disabled_reason: string | null;
    next_run_at: Date;
    consecutive_failures: number;
    last_open_message_id: bigint | null;
    last_closed_message_id: bigint | null;
    last_failure_reason: string | null;
    lease_expires_at: Date | null;
  }>('SELECT * FROM broadcast_schedules WHERE channel_id = $1', [channelId]);
  return rows[0]!;
}

async function ownerNotices(channelId: string) {
  const { rows } = await testDb.db.query<{ payload: { kind: string; subjectId: string } }>(
    `SELECT payload FROM outbox WHERE topic = 'owner-notification-requested' AND payload->>'channelId' = $1 ORDER BY created_at`,
    [channelId],
  );
  return rows.map((row) => row.payload.kind);
}

type Button = { text: string; url: string };
const buttonsOf = (message: { replyMarkup?: unknown }) => (message.replyMarkup as { inline_keyboard: Button[][] }).inline_keyboard.flat();

describe('runTierBroadcasts', () => {
  it('posts one deep-link button per tier into the open channel, escaping the owner text, and waits for the interval', async () => {
    const setup = await dueChannel();
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ posted: 1, failed: 0 });

    const posts = telegram.messagesTo(setup.openChatId);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.text).toContain('<b>Free &lt;Club&gt;</b>: News &amp; tips');
    const buttons = buttonsOf(posts[0]!);
    expect(buttons.map((button) => button.text)).toEqual(['🥇 $5.00 for 30 days', '🥈 $12.50 for 90 days']);
    for (const [index, button] of buttons.entries()) {
      const payload = new URL(button.url).searchParams.get('start')!;
      expect(new URL(button.url).pathname).toBe(`/${BOT_USERNAME}`);
      expect(parseSubscribeStartPayload(payload)).toEqual({ channelId: setup.channelId, tierNumber: index + 1 });
      expect(payload).not.toMatch(/500|1250|12\.50/);
    }
    // Donations off: nothing in the closed channel.
    expect(telegram.messagesTo(setup.closedChatId)).toHaveLength(0);

    const row = await schedule(setup.channelId);
    expect(row.next_run_at).toEqual(new Date(FIXTURE_NOW.getTime() + 24 * HOUR_MS));
    expect(row.lease_expires_at).toBeNull();
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ posted: 0 });
    expect(telegram.messagesTo(setup.openChatId)).toHaveLength(1);
  });

  it('posts once when two ticks run at the same moment', async () => {
    const setup = await dueChannel({ donations: true });
    const reports = await Promise.all([runTierBroadcasts(deps, []), runTierBroadcasts(deps, []), runTierBroadcasts(deps, [])]);
    expect(reports.reduce((sum, report) => sum + report.posted, 0)).toBe(1);
    expect(telegram.messagesTo(setup.openChatId)).toHaveLength(1);
    const donation = telegram.messagesTo(setup.closedChatId);
    expect(donation).toHaveLength(1);
    expect(donation[0]!.text).toContain('<b>Keep us going</b>');
    expect(buttonsOf(donation[0]!)[0]!.url).toMatch(new RegExp(`^https://t\\.me/${BOT_USERNAME}\\?start=d_ch_`));
  });

  it('replaces the post after the next interval: the new one goes up, then the old one is deleted', async () => {
    const setup = await dueChannel();
    await runTierBroadcasts(deps, []);
    const first = telegram.messagesTo(setup.openChatId)[0]!;
    clock.advance(24 * HOUR_MS);
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ posted: 1 });
    const now = telegram.messagesTo(setup.openChatId);
    expect(now).toHaveLength(1);
    expect(now[0]!.messageId).toBeGreaterThan(first.messageId);
    const sends = telegram.calls.filter((call) => ['sendMessage', 'deleteMessage'].includes(call.method) && Number(call.payload.chat_id) === setup.openChatId);
    expect(sends.map((call) => call.method)).toEqual(['sendMessage', 'sendMessage', 'deleteMessage']);
  });

  it('an edit of a tier price replaces the post at the next tick, before the interval', async () => {
    const setup = await dueChannel();
    await runTierBroadcasts(deps, []);
    clock.advance(5 * 60_000);
    await testDb.db.query('UPDATE channel_tiers SET price_cents = 700 WHERE channel_id = $1 AND tier_number = 1', [setup.channelId]);
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ posted: 1 });
    const posts = telegram.messagesTo(setup.openChatId);
    expect(posts).toHaveLength(1);
    expect(buttonsOf(posts[0]!)[0]!.text).toBe('🥇 $7.00 for 30 days');
    // The schedule keeps its rhythm from this post.
    expect((await schedule(setup.channelId)).next_run_at).toEqual(new Date(clock.now().getTime() + 24 * HOUR_MS));
  });

  it('an edit that changes nothing the post shows does not repost', async () => {
    const setup = await dueChannel();
    await runTierBroadcasts(deps, []);
    await testDb.db.query(`UPDATE channels SET open_title = 'Other' WHERE id = $1`, [setup.channelId]);
    await testDb.db.query(`UPDATE channels SET open_title = 'Free <Club>' WHERE id = $1`, [setup.channelId]);
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ posted: 0, unchanged: 1 });
    expect(telegram.messagesTo(setup.openChatId)).toHaveLength(1);
  });

  it("the owner's 'broadcast now' posts once even with the schedule off, and a redelivery posts nothing", async () => {
    const setup = await dueChannel();
    await testDb.db.query(
      `UPDATE broadcast_schedules SET is_enabled = false, disabled_reason = 'owner', last_manual_trigger_at = $2 WHERE channel_id = $1`,
      [setup.channelId, clock.now()],
    );
    clock.advance(1_000);
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ posted: 0 });
    const [first, second] = await Promise.all([runTierBroadcasts(deps, [setup.channelId]), runTierBroadcasts(deps, [setup.channelId])]);
    expect(first!.posted + second!.posted).toBe(1);
    expect(await runTierBroadcasts(deps, [setup.channelId])).toMatchObject({ posted: 0 });
    expect(telegram.messagesTo(setup.openChatId)).toHaveLength(1);
    expect((await schedule(setup.channelId)).is_enabled).toBe(false);
  });

  it('a paused channel has its posts taken down', async () => {
    const setup = await dueChannel({ donations: true });
    await runTierBroadcasts(deps, []);
    await testDb.db.query(`UPDATE channels SET status = 'paused' WHERE id = $1`, [setup.channelId]);
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ posted: 1 });
    expect(telegram.messagesTo(setup.openChatId)).toHaveLength(0);
    expect(telegram.messagesTo(setup.closedChatId)).toHaveLength(0);
    expect(await schedule(setup.channelId)).toMatchObject({ last_open_message_id: null, last_closed_message_id: null });
  });

  it('a bot without the right to post fails for good, tells the owner once, and switches off after five failures in a row', async () => {
    const setup = await dueChannel({ openRights: 'no_post' });
    for (let attempt = 1; attempt <= MAX_CONSECUTIVE_FAILURES; attempt++) {
      expect(await runTierBroadcasts(deps, [])).toMatchObject({ failed: 1, posted: 0 });
      // A second tick at the same moment finds nothing due: the failure moved the next try.
      expect(await runTierBroadcasts(deps, [])).toMatchObject({ failed: 0 });
      expect((await schedule(setup.channelId)).consecutive_failures).toBe(attempt);
      clock.advance(HOUR_MS);
    }
    const row = await schedule(setup.channelId);
    expect(row).toMatchObject({ is_enabled: false, disabled_reason: 'too_many_failures', last_failure_reason: 'open_can_post_messages' });
    expect(await ownerNotices(setup.channelId)).toEqual(['broadcast_failed', 'broadcast_disabled']);
    clock.advance(48 * HOUR_MS);
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ failed: 0, posted: 0 });
    expect(telegram.messagesTo(setup.openChatId)).toHaveLength(0);

    // The owner fixes the right and presses "broadcast now": it posts and the schedule is back on.
    telegram.setBotMembership(setup.openChatId, 'administrator');
    await testDb.db.query('UPDATE broadcast_schedules SET last_manual_trigger_at = $2 WHERE channel_id = $1', [setup.channelId, clock.now()]);
    clock.advance(1_000);
    expect(await runTierBroadcasts(deps, [setup.channelId])).toMatchObject({ posted: 1 });
    expect(await schedule(setup.channelId)).toMatchObject({ is_enabled: true, disabled_reason: null, consecutive_failures: 0, last_failure_reason: null });
  });

  it('a bot removed from the channel names membership', async () => {
    const setup = await dueChannel({ openRights: 'absent' });
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ failed: 1 });
    expect((await schedule(setup.channelId)).last_failure_reason).toBe('open_membership_can_post_messages');
  });

  it('does not repeat what the bot-rights alert already told the owner', async () => {
    const setup = await dueChannel({ openRights: 'no_post' });
    const stored = { status: 'administrator', chatType: 'channel', rights: { can_post_messages: false }, missing: ['can_post_messages'], date: 1 };
    await testDb.db.query(`UPDATE channels SET bot_rights = $2, bot_rights_checked_at = $3 WHERE id = $1`, [setup.channelId, { open: stored }, clock.now()]);
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ failed: 1 });
    expect(await ownerNotices(setup.channelId)).toEqual([]);
  });

  it("waits out a short 429 and posts; a long one moves the channel's turn without counting a failure", async () => {
    const setup = await dueChannel();
    const sleeps: number[] = [];
    const pacedDeps = { ...deps, sleep: async (ms: number) => void sleeps.push(ms) };
    telegram.failNext('sendMessage', { errorCode: 429, description: 'Too Many Requests: retry after 2', retryAfter: 2 });
    expect(await runTierBroadcasts(pacedDeps, [])).toMatchObject({ posted: 1 });
    expect(sleeps).toEqual([2_000]);

    clock.advance(24 * HOUR_MS);
    telegram.failNext('sendMessage', { errorCode: 429, description: 'Too Many Requests: retry after 90', retryAfter: 90 });
    expect(await runTierBroadcasts(pacedDeps, [])).toMatchObject({ deferred: 1, posted: 0 });
    const row = await schedule(setup.channelId);
    expect(row.consecutive_failures).toBe(0);
    expect(row.next_run_at).toEqual(new Date(clock.now().getTime() + 90_000));
    clock.advance(90_000);
    expect(await runTierBroadcasts(pacedDeps, [])).toMatchObject({ posted: 1 });
    expect(telegram.messagesTo(setup.openChatId)).toHaveLength(1);
  });

  it('a crashed run frees its channels when the lease ends', async () => {
    const setup = await dueChannel();
    await testDb.db.query('UPDATE broadcast_schedules SET lease_expires_at = $2 WHERE channel_id = $1', [setup.channelId, new Date(clock.now().getTime() + 60_000)]);
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ posted: 0 });
    clock.advance(60_000);
    expect(await runTierBroadcasts(deps, [])).toMatchObject({ posted: 1 });
  });
});

describe('createPostPacer', () => {
  it('lets calls through until a window is full, then waits for its oldest call to leave it', async () => {
    let now = 0;
    const waits: number[] = [];
    const pacer = createPostPacer({
      perSecond: 3,
      perChatPerMinute: 2,
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    await pacer.turn(-1);
    await pacer.turn(-1);
    expect(waits).toEqual([]);
    await pacer.turn(-1); // a third post into one chat within the minute
    expect(waits).toEqual([60_000]);
    await pacer.turn(-2);
    await pacer.turn(-3);
    await pacer.turn(undefined); // a fourth call within one second overall
    expect(waits).toEqual([60_000, 1_000]);
    now += 120_000;
    await pacer.turn(-1);
    await pacer.turn(-1);
    expect(waits).toHaveLength(2);
  });

  it('withFloodControl retries once after a short 429 only', async () => {
    const pacer = createPostPacer();
    const { GrammyError } = await import('grammy');
    const tooMany = (seconds: number) =>
      new GrammyError('Call failed', { ok: false, error_code: 429, description: 'Too Many Requests', parameters: { retry_after: seconds } }, 'sendMessage', {});
    let calls = 0;
    const slept: number[] = [];
    const result = await withFloodControl(pacer, -1, async () => (++calls === 1 ? Promise.reject(tooMany(3)) : 'ok'), async (ms) => void slept.push(ms));
    expect([result, calls, slept]).toEqual(['ok', 2, [3_000]]);
    await expect(withFloodControl(pacer, -1, () => Promise.reject(tooMany(30)), async () => undefined)).rejects.toBeInstanceOf(GrammyError);
  });
});
