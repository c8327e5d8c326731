import type { Api } from 'grammy';
import { enqueueMessages, outboxMessage, type OutboxMessage } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { errorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { type BotRightName, type ChatRole, languageOf } from '../texts/index.js';
import { isGrammyError, toTelegramError } from '../telegram/index.js';
import { type PostPacer, withFloodControl } from './post-pacing.js';
import { type ChannelPosts, type ChatPost, composeChannelPosts } from './tier-posts.js';

export interface TierBroadcastDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  telegram: Api;
  pacer: PostPacer;
  /** The bot's username for the deep links (`TELEGRAM_BOT_USERNAME`, or getMe). */
  botUsername: () => Promise<string>;
  /** Channels claimed per statement. Default 10. */
  batchSize?: number;
  /** A run stops claiming after this long, leaving the rest to the next tick. Default 60 s. */
  budgetMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface TierBroadcastReport {
  posted: number;
  unchanged: number;
  failed: number;
  deferred: number;
}

/** Consecutive failures the owner could fix (rights, a refused post) before the schedule is switched off. */
export const MAX_CONSECUTIVE_FAILURES = 5;
/** A channel's turn is leased this long; a runner that crashed frees it when the lease ends. */
const LEASE_MS = 10 * 60_000;
/** After a failure the owner could fix: try again this soon, or at the channel's interval if shorter. */
const RETRY_AFTER_REFUSAL_MS = 60 * 60_000;
/** After Telegram's own trouble (5xx, network): the next tick or so. Not counted as a failure. */
const RETRY_AFTER_OUTAGE_MS = 5 * 60_000;

interface ClaimedChannel {
  channel_id: string;
  lease_expires_at: Date;
  is_due: boolean;
  is_manual: boolean;
  interval_minutes: number;
  last_open_message_id: bigint | null;
  last_closed_message_id: bigint | null;
  last_posted_digest: string | null;
  last_failure_reason: string | null;
  consecutive_failures: number;
  is_live: boolean;
  open_chat_id: bigint;
  closed_chat_id: bigint;
  open_title: string;
  open_description: string;
  closed_title: string;
  closed_description: string;
  donations_enabled: boolean;
  donation_message: string | null;
  bot_rights: Record<string, { missing?: string[] } | undefined> | null;
  language_code: string | null;
  tiers: { tierNumber: number; priceCents: string; durationDays: number }[];
}

/**
 * Claims channels whose turn it is and leases them (`FOR UPDATE SKIP LOCKED`: overlapping ticks and
 * duplicate deliveries take disjoint sets), returning what their posts show, in one statement.
 * A channel's turn: its schedule is on and due, or an edit asked for a new post, or the owner's
 * "broadcast now" named it and no run has happened since (so a redelivered request posts once).
 * A channel that stopped selling (paused, deleted) still gets a turn while it has posts up, to
 * take them down. Claiming clears `rebuild_requested`: an edit during the run asks again.
 */
async function claimChannels(deps: TierBroadcastDeps, requested: readonly string[], limit: number): Promise<ClaimedChannel[]> {
  const now = deps.clock.now();
  const { rows } = await deps.db.query<ClaimedChannel>(
    `WITH turn AS (
       SELECT b.channel_id,
              (b.is_enabled AND b.next_run_at <= $1) AS is_due,
              (b.channel_id = ANY($3::uuid[]) AND b.last_manual_trigger_at > coalesce(b.last_run_at, '-infinity')) AS is_manual
         FROM broadcast_schedules b JOIN channels c ON c.id = b.channel_id
        WHERE (b.lease_expires_at IS NULL OR b.lease_expires_at <= $1)
          AND (CASE WHEN c.status = 'active' AND c.deleted_at IS NULL
                    THEN (b.is_enabled AND (b.next_run_at <= $1 OR b.rebuild_requested))
                         OR (b.channel_id = ANY($3::uuid[]) AND b.last_manual_trigger_at > coalesce(b.last_run_at, '-infinity'))
                    ELSE b.rebuild_requested AND (b.last_open_message_id IS NOT NULL OR b.last_closed_message_id IS NOT NULL) END)
        ORDER BY b.next_run_at
        LIMIT $4
        FOR UPDATE OF b SKIP LOCKED),
     claimed AS (
       UPDATE broadcast_schedules b SET lease_expires_at = $2, rebuild_requested = false, updated_at = $1
         FROM turn WHERE b.channel_id = turn.channel_id
       RETURNING b.channel_id, b.lease_expires_at, turn.is_due, turn.is_manual, b.interval_minutes, b.last_open_message_id,
                 b.last_closed_message_id, b.last_posted_digest, b.last_failure_reason, b.consecutive_failures)
     SELECT claimed.*, (c.status = 'active' AND c.deleted_at IS NULL) AS is_live, c.open_chat_id, c.closed_chat_id,
            c.open_title, c.open_description, c.closed_title, c.closed_description, c.donations_enabled, c.donation_message,
            c.bot_rights, u.language_code,
            coalesce((SELECT json_agg(json_build_object('tierNumber', t.tier_number, 'priceCents', t.price_cents::text,
                                                        'durationDays', t.duration_days) ORDER BY t.tier_number)
                        FROM channel_tiers t WHERE t.channel_id = c.id AND t.is_active), '[]'::json) AS tiers
       FROM claimed JOIN channels c ON c.id = claimed.channel_id
       JOIN accounts a ON a.id = c.owner_account_id
       LEFT JOIN telegram_users u ON u.id = a.telegram_user_id`,
    [now, new Date(now.getTime() + LEASE_MS), requested, limit],
  );
  return rows;
}

/** Why a post failed, in the terms the run acts on. */
type PostFailure =
  | { kind: 'refused'; role: ChatRole; missing: BotRightName[]; error: string }
  | { kind: 'rate_limited'; retryAfterSeconds: number; error: string }
  | { kind: 'outage'; error: string };

class PostFailed extends Error {
  constructor(readonly failure: PostFailure) {
    super(failure.error);
  }
}

function classify(error: unknown, role: ChatRole, claimed: ClaimedChannel): PostFailure {
  const translated = toTelegramError(error, { channelId: claimed.channel_id, role });
  const description = isGrammyError(error) ? error.description : translated.message;
  const text = `${errorCode(translated)}: ${description}`.slice(0, 1000);
  if (isGrammyError(error) && error.error_code === 429) return { kind: 'rate_limited', retryAfterSeconds: error.parameters.retry_after ?? 60, error: text };
  if (translated.isRetryable) return { kind: 'outage', error: text };
  return { kind: 'refused', role, missing: missingRights(error, role, claimed), error: text };
}

/**
 * The right a refusal points at. "kicked"/"not a member"/"chat not found": the bot is not in the
 * channel. "need administrator rights"/"not enough rights": what `my_chat_member` last told us the
 * bot lacks there, or the right to post. Anything else (a post Telegram rejects) names no right.
 */
function missingRights(error: unknown, role: ChatRole, claimed: ClaimedChannel): BotRightName[] {
  const description = isGrammyError(error) ? error.description : '';
  if (/kicked|not a member|chat not found|bot was blocked/i.test(description)) return ['membership', 'can_post_messages'];
  if (/administrator rights|not enough rights|have no rights|CHAT_WRITE_FORBIDDEN|CHAT_ADMIN_REQUIRED/i.test(description)) {
    const stored = claimed.bot_rights?.[role]?.missing?.filter((right): right is BotRightName =>
      ['membership', 'administrator', 'can_post_messages'].includes(right),
    );
    return stored && stored.length > 0 ? stored : ['can_post_messages'];
  }
  return [];
}

interface PostOutcome {
  messageId: bigint | null;
  postedAt: Date | null;
}

/** Posts the new message first, then deletes the old one: the channel is never left without a way in. */
async function replacePost(deps: TierBroadcastDeps, claimed: ClaimedChannel, role: ChatRole, post: ChatPost | null, oldMessageId: bigint | null): Promise<PostOutcome> {
  const chatId = Number(role === 'open' ? claimed.open_chat_id : claimed.closed_chat_id);
  let outcome: PostOutcome = { messageId: null, postedAt: null };
  if (post) {
    try {
      const sent = await withFloodControl(
        deps.pacer,
        chatId,
        () => deps.telegram.sendMessage(chatId, post.text, { parse_mode: 'HTML', reply_markup: post.replyMarkup, link_preview_options: { is_disabled: true } }),
        deps.sleep,
      );
      outcome = { messageId: BigInt(sent.message_id), postedAt: deps.clock.now() };
    } catch (error) {
      throw new PostFailed(classify(error, role, claimed));
    }
  }
  if (oldMessageId !== null && oldMessageId !== outcome.messageId) {
    try {
      await withFloodControl(deps.pacer, undefined, () => deps.telegram.deleteMessage(chatId, Number(oldMessageId)), deps.sleep);
    } catch (error) {
      const description = isGrammyError(error) ? error.description : '';
      // Gone already (deleted by an admin) is what we wanted; anything else leaves an old post up.
      if (!/message to delete not found|MESSAGE_ID_INVALID/i.test(description)) {
        deps.logger.warn('broadcast.old_post_not_deleted', { channelId: claimed.channel_id, role, messageId: String(oldMessageId), error: toTelegramError(error) });
      }
    }
  }
  return outcome;
}

async function runChannel(deps: TierBroadcastDeps, claimed: ClaimedChannel, botUsername: string): Promise<keyof TierBroadcastReport> {
  const posts: ChannelPosts = composeChannelPosts(
    {
      channelId: claimed.channel_id,
      isLive: claimed.is_live,
      openTitle: claimed.open_title,
      openDescription: claimed.open_description,
      closedTitle: claimed.closed_title,
      closedDescription: claimed.closed_description,
      tiers: claimed.tiers.map((tier) => ({ tierNumber: tier.tierNumber, priceCents: BigInt(tier.priceCents), durationDays: tier.durationDays })),
      donationsEnabled: claimed.donations_enabled,
      donationMessage: claimed.donation_message,
      language: languageOf(claimed.language_code),
    },
    botUsername,
  );
  // An edit that changes nothing the posts show (or a status flip and back) does not repost.
  if (!claimed.is_due && !claimed.is_manual && posts.digest === claimed.last_posted_digest) {
    await finishRun(deps, claimed, { kind: 'unchanged' });
    return 'unchanged';
  }
  let open: PostOutcome = { messageId: claimed.last_open_message_id, postedAt: null };
  let closed: PostOutcome = { messageId: claimed.last_closed_message_id, postedAt: null };
  try {
    open = await replacePost(deps, claimed, 'open', posts.open, claimed.last_open_message_id);
    closed = await replacePost(deps, claimed, 'closed', posts.closed, claimed.last_closed_message_id);
  } catch (error) {
    if (!(error instanceof PostFailed)) throw error;
    await finishRun(deps, claimed, { kind: 'failed', failure: error.failure, open, closed });
    deps.logger.warn('broadcast.failed', { channelId: claimed.channel_id, failure: error.failure.kind, error: error.failure.error });
    return error.failure.kind === 'refused' ? 'failed' : 'deferred';
  }
  await finishRun(deps, claimed, { kind: 'posted', open, closed, digest: posts.digest });
  deps.logger.info('broadcast.posted', { channelId: claimed.channel_id, open: open.messageId !== null, closed: closed.messageId !== null });
  return 'posted';
}

type RunResult =
  | { kind: 'unchanged' }
  | { kind: 'posted'; open: PostOutcome; closed: PostOutcome; digest: string }
  | { kind: 'failed'; failure: PostFailure; open: PostOutcome; closed: PostOutcome };

/**
 * Records a run under the lease it was claimed with (a runner whose lease ran out and was taken
 * over writes nothing), and in the same transaction queues what the owner must hear: the first
 * refusal of a streak (naming the missing right) and the switch-off after
 * `MAX_CONSECUTIVE_FAILURES` refusals. Telegram's own trouble and 429s only move the next try.
 */
async function finishRun(deps: TierBroadcastDeps, claimed: ClaimedChannel, result: RunResult): Promise<void> {
  const now = deps.clock.now();
  const intervalMs = claimed.interval_minutes * 60_000;
  const lease = [claimed.channel_id, claimed.lease_expires_at] as const;
  if (result.kind === 'unchanged') {
    await deps.db.query('UPDATE broadcast_schedules SET lease_expires_at = NULL, updated_at = $3 WHERE channel_id = $1 AND lease_expires_at = $2', [...lease, now]);
    return;
  }
  if (result.kind === 'posted') {
    // A success the owner asked for also lifts a switch-off for failures: they fixed the cause.
    await deps.db.query(
      `UPDATE broadcast_schedules
          SET lease_expires_at = NULL, last_run_at = $3, last_succeeded_at = $3, next_run_at = $4,
              last_open_message_id = $5, last_open_posted_at = coalesce($6, last_open_posted_at),
              last_closed_message_id = $7, last_closed_posted_at = coalesce($8, last_closed_posted_at),
              last_posted_digest = $9, consecutive_failures = 0, last_error = NULL, last_failure_reason = NULL,
              total_runs = total_runs + 1,
              is_enabled = is_enabled OR disabled_reason IN ('too_many_failures', 'bot_rights_missing'),
              disabled_reason = CASE WHEN disabled_reason IN ('too_many_failures', 'bot_rights_missing') THEN NULL ELSE disabled_reason END,
              updated_at = $3
        WHERE channel_id = $1 AND lease_expires_at = $2`,
      [...lease, now, new Date(now.getTime() + intervalMs), result.open.messageId, result.open.postedAt, result.closed.messageId, result.closed.postedAt, result.digest],
    );
    return;
  }
  const { failure } = result;
  if (failure.kind !== 'refused') {
    const retryMs = failure.kind === 'rate_limited' ? failure.retryAfterSeconds * 1000 : Math.min(RETRY_AFTER_OUTAGE_MS, intervalMs);
    await deps.db.query(
      `UPDATE broadcast_schedules
          SET lease_expires_at = NULL, last_run_at = $3, next_run_at = $4, last_error = $5, total_runs = total_runs + 1,
              last_open_message_id = $6, last_closed_message_id = $7, rebuild_requested = true, updated_at = $3
        WHERE channel_id = $1 AND lease_expires_at = $2`,
      [...lease, now, new Date(now.getTime() + retryMs), failure.error, result.open.messageId, result.closed.messageId],
    );
    return;
  }
  const failures = claimed.consecutive_failures + 1;
  const reason = failure.missing.length > 0 ? `${failure.role}_${failure.missing.join('_')}`.slice(0, 64) : `${failure.role}_post_rejected`;
  await deps.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ is_enabled: boolean; was_enabled: boolean }>(
      `UPDATE broadcast_schedules b
          SET lease_expires_at = NULL, last_run_at = $3, next_run_at = $4, last_error = $5, last_failure_reason = $6,
              consecutive_failures = $7::integer, failed_runs = b.failed_runs + 1, total_runs = b.total_runs + 1,
              last_open_message_id = $8, last_closed_message_id = $9,
              is_enabled = b.is_enabled AND $7::integer < $10::integer,
              disabled_reason = CASE WHEN b.is_enabled AND $7::integer >= $10::integer THEN 'too_many_failures' ELSE b.disabled_reason END,
              updated_at = $3
         FROM broadcast_schedules before
        WHERE b.channel_id = $1 AND b.lease_expires_at = $2 AND before.channel_id = b.channel_id
       RETURNING b.is_enabled, before.is_enabled AS was_enabled`,
      [...lease, now, new Date(now.getTime() + Math.min(RETRY_AFTER_REFUSAL_MS, intervalMs)), failure.error, reason, failures,
        result.open.messageId, result.closed.messageId, MAX_CONSECUTIVE_FAILURES],
    );
    const row = rows[0];
    if (!row) return; // the lease was lost: whoever holds it now records its own run
    const notices: OutboxMessage[] = [];
    // The bot-rights alert (from Telegram's my_chat_member update) already named these rights: one message per cause.
    const toldByRightsAlert = failure.missing.every((right) => claimed.bot_rights?.[failure.role]?.missing?.includes(right));
    if (failure.missing.length > 0 && claimed.last_failure_reason !== reason && !toldByRightsAlert) {
      notices.push(
        outboxMessage(
          'owner-notification-requested',
          { kind: 'broadcast_failed', channelId: claimed.channel_id, subjectId: `${failure.role}:${failure.missing.join(',')}:${now.getTime()}` },
          { at: now, dedupeKey: `broadcast_failed:${claimed.channel_id}:${reason}:${now.getTime()}` },
        ),
      );
    }
    if (row.was_enabled && !row.is_enabled) {
      notices.push(
        outboxMessage(
          'owner-notification-requested',
          { kind: 'broadcast_disabled', channelId: claimed.channel_id, subjectId: String(now.getTime()) },
          { at: now, dedupeKey: `broadcast_disabled:${claimed.channel_id}:${now.getTime()}` },
        ),
      );
      deps.logger.warn('broadcast.disabled', { channelId: claimed.channel_id, failures });
    }
    await enqueueMessages(tx, notices);
  });
}

/**
 * The broadcast-tiers stage. `channelIds` empty (the scheduler's tick): every channel whose turn
 * it is, in batches, until none is left or the time budget is spent. Named channels (the owner's
 * "broadcast now"): those, plus whatever else is due. Each channel: the tier post in the open
 * channel and the donation post in the closed one (when donations are on), each new post up before
 * the old one is deleted.
 */
export async function runTierBroadcasts(deps: TierBroadcastDeps, channelIds: readonly string[]): Promise<TierBroadcastReport> {
  const report: TierBroadcastReport = { posted: 0, unchanged: 0, failed: 0, deferred: 0 };
  const started = Date.now();
  const budgetMs = deps.budgetMs ?? 60_000;
  // Before claiming: a getMe outage must not leave channels leased for nothing.
  const botUsername = await deps.botUsername();
  while (Date.now() - started < budgetMs) {
    const claimed = await claimChannels(deps, channelIds, deps.batchSize ?? 10);
    if (claimed.length === 0) break;
    for (const channel of claimed) report[await runChannel(deps, channel, botUsername)]++;
  }
  return report;
}
