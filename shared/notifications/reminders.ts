import type { Api } from 'grammy';
import type { InlineKeyboardButton } from 'grammy/types';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import type { Logger } from '../logging/index.js';
import type { SubscriberMessage } from './subscriber-notifications.js';
import { type Language, languageOf, translate } from '../texts/index.js';
import { NOTICE_LEASE_MS, type NoticeClaim, type NoticeOutcome, type ReminderOffset, claimNotice, sendNotice } from './notice-claims.js';
import { remindersOffData, renewData, renewTierData } from './renewal-buttons.js';

export type { ReminderOffset } from './notice-claims.js';

export interface ReminderDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  telegram: Api;
  /** Most reminders, and separately most grace notices, sent per run. Default 200. */
  batchSize?: number;
}

export interface ReminderReport {
  /** Renewal reminders sent. */
  reminded: number;
  /** "Your access ended, you stay until …" notices sent. */
  graceNotices: number;
  /** Not delivered for good (blocked the bot): recorded as failed. */
  unreachable: number;
  /** Telegram failed transiently: left pending for the next run. */
  retrying: number;
  /** Pending notices closed because they no longer made sense (renewed, overtaken, switched off). */
  closed: number;
}

const OFFSET_INTERVAL = (offset: string) => `(CASE ${offset} WHEN '3d' THEN interval '3 days' WHEN '1d' THEN interval '1 day' ELSE interval '1 hour' END)`;

/**
 * CTEs `candidates` and `due` ($1 = now): every active subscription of a live channel ending within
 * three days whose subscriber has reminders on and has not blocked the bot, with the one reminder it
 * is due for now — the latest of 3d, 1d, 1h whose moment (expires_at − offset) has passed, so a later
 * reminder overtakes an earlier one never sent. The moment must lie inside a period the subscriber
 * had: a 1-day subscription gets no "3 days left", nor one bought for 3 days at its purchase.
 * Indexed on subscriptions_active_expiry_idx.
 */
const DUE_REMINDERS = `
  candidates AS (
    SELECT s.id, s.telegram_user_id, s.channel_id, s.expires_at, s.last_payment_id,
           CASE WHEN s.expires_at - interval '1 hour' <= $1::timestamptz THEN '1h'
                WHEN s.expires_at - interval '1 day' <= $1::timestamptz THEN '1d'
                ELSE '3d' END AS reminder_offset
      FROM subscriptions s
     WHERE s.status = 'active' AND s.expires_at > $1::timestamptz AND s.expires_at <= $1::timestamptz + interval '3 days'
       AND s.renewal_reminders_enabled),
  due AS (
    SELECT d.*, c.closed_title, u.language_code
      FROM candidates d
      JOIN channels c ON c.id = d.channel_id AND c.status = 'active' AND c.deleted_at IS NULL
      JOIN telegram_users u ON u.id = d.telegram_user_id AND u.dm_blocked_at IS NULL
     WHERE EXISTS (SELECT 1 FROM subscription_periods p
                    WHERE p.subscription_id = d.id
                      AND p.starts_at < d.expires_at - ${OFFSET_INTERVAL('d.reminder_offset')}
                      AND p.ends_at >= d.expires_at - ${OFFSET_INTERVAL('d.reminder_offset')}))`;

/** The tier of the subscription's last payment (`lt`), for a Renew button of the same tier. */
const LAST_TIER = (subscription: string) => `
  LEFT JOIN payments lp ON lp.id = ${subscription}.last_payment_id
  LEFT JOIN checkouts lk ON lk.id = lp.checkout_id
  LEFT JOIN channel_tiers lt ON lt.id = lk.tier_id`;

// Grace periods are at most 72 hours (channels_grace_period_hours_check): older ends need no notice.
const MAX_GRACE = `interval '72 hours'`;

interface NoticeRow {
  subscription_id: string;
  telegram_user_id: bigint;
  channel_id: string;
  expires_at: Date;
  closed_title: string;
  language_code: string | null;
  tier_number: number | null;
  tier_is_active: boolean | null;
}

interface ReminderRow extends NoticeRow {
  reminder_offset: ReminderOffset;
  /** The period ending is a free trial: the reminder says so, and Renew opens the trial's tier at today's price. */
  is_trial: boolean;
}

/** The trial whose period ends at the subscription's expiry, if that period is one (`tr`, its tier `trt`). */
const ENDING_TRIAL = (subscription: string) => `
  LEFT JOIN subscription_periods cp ON cp.subscription_id = ${subscription}.id AND cp.ends_at = ${subscription}.expires_at AND cp.trial_id IS NOT NULL
  LEFT JOIN trials tr ON tr.id = cp.trial_id
  LEFT JOIN channel_tiers trt ON trt.id = tr.tier_id`;

interface GraceRow extends NoticeRow {
  grace_ends_at: Date;
  is_channel_live: boolean;
}

/** Renew the same tier when it is still offered (today's price, read when pressed), else the channel's tiers. */
function renewButton(language: Language, row: NoticeRow): InlineKeyboardButton {
  const channel = formatPublicId('channel', row.channel_id);
  const data =
    row.tier_number !== null && row.tier_is_active === true
      ? renewTierData.encode({ channel, tier: Number(row.tier_number) })
      : renewData.encode({ channel });
  return { text: translate(language, 'reminderRenewButton'), callback_data: data };
}

function reminderMessage(row: ReminderRow): SubscriberMessage {
  const language = languageOf(row.language_code);
  const off = remindersOffData.encode({ subscription: formatPublicId('subscription', row.subscription_id) });
  return {
    text: row.is_trial
      ? translate(language, 'trialEndingReminder', row.closed_title, row.reminder_offset, row.expires_at)
      : translate(language, 'renewalReminder', row.closed_title, row.reminder_offset, row.expires_at),
    replyMarkup: { inline_keyboard: [[renewButton(language, row)], [{ text: translate(language, 'remindersOffButton'), callback_data: off }]] },
  };
}

function graceMessage(row: GraceRow): SubscriberMessage {
  const language = languageOf(row.language_code);
  return {
    text: translate(language, 'graceStarted', row.closed_title, row.expires_at, row.grace_ends_at),
    // A paused or deleted channel sells nothing: no button that could only say so.
    ...(row.is_channel_live ? { replyMarkup: { inline_keyboard: [[renewButton(language, row)]] } } : {}),
  };
}

/** The dedupe keys: one reminder of each offset and one grace notice per subscription period. */
export function reminderDedupeKey(subscriptionId: string, expiresAt: Date, offset: ReminderOffset): string {
  return `renewal_reminder:${subscriptionId}:${expiresAt.toISOString()}:${offset}`;
}

export function graceNoticeDedupeKey(subscriptionId: string, expiresAt: Date): string {
  return `subscription_grace_started:${subscriptionId}:${expiresAt.toISOString()}`;
}

/**
 * The remind-subscribers stage (every 5 minutes): the DMs about the end of a subscription, each
 * claimed by its subscriber_notifications row before it is sent, so duplicate ticks and runs at the
 * same moment send it once.
 * - Renewal reminders 3 days, 1 day and 1 hour before expires_at, with "Renew" (same tier, today's
 *   price) and "Turn off reminders". When the period ending is a free trial, the reminder says the
 *   trial ends and Renew opens the trial's tier: the first paid period, stacked on the trial's end. Keyed by the period's expires_at: a renewal moves it, and the
 *   reminders still to come are for the new end.
 * - On channels with a grace period, once when access ended: until when the member stays (the
 *   expiry run removes them then), with "Renew".
 * A notice left pending (crash, Telegram outage) is sent by a later run while it still makes sense,
 * and closed as failed once it does not. Sends happen outside any transaction.
 */
export async function sendRenewalReminders(deps: ReminderDeps): Promise<ReminderReport> {
  const now = deps.clock.now();
  const staleBefore = new Date(now.getTime() - NOTICE_LEASE_MS);
  const limit = deps.batchSize ?? 200;
  const report: ReminderReport = { reminded: 0, graceNotices: 0, unreachable: 0, retrying: 0, closed: 0 };

  const { rows: graceRows } = await deps.db.query<GraceRow>(
    `SELECT s.id AS subscription_id, s.telegram_user_id, s.channel_id, s.expires_at,
            s.expires_at + make_interval(hours => c.grace_period_hours) AS grace_ends_at,
            c.closed_title, (c.status = 'active' AND c.deleted_at IS NULL) AS is_channel_live, u.language_code,
            lt.tier_number, lt.is_active AS tier_is_active
       FROM subscriptions s
       JOIN channels c ON c.id = s.channel_id
       JOIN telegram_users u ON u.id = s.telegram_user_id
       ${LAST_TIER('s')}
      WHERE s.status = 'active' AND s.expires_at <= $1::timestamptz AND s.expires_at > $1::timestamptz - ${MAX_GRACE}
        AND c.grace_period_hours > 0 AND s.expires_at + make_interval(hours => c.grace_period_hours) > $1::timestamptz
        AND u.dm_blocked_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM subscriber_notifications n
                         WHERE n.telegram_user_id = s.telegram_user_id AND n.created_at >= s.expires_at
                           AND n.kind = 'subscription_grace_started' AND n.subscription_id = s.id
                           AND NOT (n.status = 'pending' AND n.updated_at < $2))
      ORDER BY s.expires_at
      LIMIT $3`,
    [now, staleBefore, limit],
  );
  // Grace notices first: their window is the shortest and they matter most.
  let isRateLimited = false;
  for (const row of graceRows) {
    const claim: NoticeClaim = { kind: 'subscription_grace_started', dedupeKey: graceNoticeDedupeKey(row.subscription_id, row.expires_at), ...claimOf(row) };
    isRateLimited = count(report, 'graceNotices', await claimAndSend(deps, claim, () => graceMessage(row)));
    if (isRateLimited) break;
  }

  if (!isRateLimited) {
    const { rows: reminderRows } = await deps.db.query<ReminderRow>(
      `WITH ${DUE_REMINDERS}
       SELECT d.id AS subscription_id, d.telegram_user_id, d.channel_id, d.expires_at, d.reminder_offset, d.closed_title, d.language_code,
              (tr.id IS NOT NULL) AS is_trial,
              CASE WHEN tr.id IS NOT NULL THEN trt.tier_number ELSE lt.tier_number END AS tier_number,
              CASE WHEN tr.id IS NOT NULL THEN trt.is_active ELSE lt.is_active END AS tier_is_active
         FROM due d
         LEFT JOIN subscriber_notifications n ON n.kind = 'renewal_reminder' AND n.subscription_id = d.id
               AND n.reminder_for_expires_at = d.expires_at AND n.reminder_offset = d.reminder_offset
         ${LAST_TIER('d')}
         ${ENDING_TRIAL('d')}
        WHERE n.id IS NULL OR (n.status = 'pending' AND n.updated_at < $2)
        ORDER BY d.expires_at
        LIMIT $3`,
      [now, staleBefore, limit],
    );
    for (const row of reminderRows) {
      const dedupeKey = reminderDedupeKey(row.subscription_id, row.expires_at, row.reminder_offset);
      const claim: NoticeClaim = { kind: 'renewal_reminder', dedupeKey, reminderOffset: row.reminder_offset, ...claimOf(row) };
      if (count(report, 'reminded', await claimAndSend(deps, claim, () => reminderMessage(row)))) break;
    }
  }

  report.closed = await closeObsoleteNotices(deps.db, now, staleBefore);
  return report;
}

function claimOf(row: NoticeRow): Pick<NoticeClaim, 'subscriptionId' | 'telegramUserId' | 'expiresAt'> {
  return { subscriptionId: row.subscription_id, telegramUserId: BigInt(row.telegram_user_id), expiresAt: row.expires_at };
}

async function claimAndSend(deps: ReminderDeps, claim: NoticeClaim, message: () => SubscriberMessage): Promise<NoticeOutcome | undefined> {
  const notice = await claimNotice(deps.db, claim, deps.clock.now());
  return notice ? sendNotice(deps, notice, message()) : undefined;
}

/** Counts one outcome; true when Telegram rate-limits us, so the run stops and the next tick goes on. */
function count(report: ReminderReport, sentKey: 'reminded' | 'graceNotices', result: NoticeOutcome | undefined): boolean {
  if (!result) return false;
  if (result.outcome === 'sent') report[sentKey]++;
  else if (result.outcome === 'unreachable') report.unreachable++;
  else report.retrying++;
  return result.outcome === 'retry' && result.code === 'telegram_rate_limited';
}

/**
 * Closes (failed, with the reason) the notices left pending past the lease that no run will send any
 * more: a reminder no longer due (renewed, overtaken by a later one, switched off, the channel paused,
 * the user blocked the bot) or a grace notice whose grace period is over or was renewed. Without this
 * they would sit pending for good.
 */
async function closeObsoleteNotices(db: Db, now: Date, staleBefore: Date): Promise<number> {
  const { rowCount } = await db.query(
    `WITH ${DUE_REMINDERS}
     UPDATE subscriber_notifications n
        SET status = 'failed', updated_at = $1,
            last_error = CASE n.kind WHEN 'renewal_reminder' THEN 'reminder_obsolete' ELSE 'grace_notice_obsolete' END
      WHERE n.kind IN ('renewal_reminder', 'subscription_grace_started') AND n.status = 'pending' AND n.updated_at < $2
        AND NOT EXISTS (SELECT 1 FROM due d
                         WHERE n.kind = 'renewal_reminder' AND d.id = n.subscription_id
                           AND d.expires_at = n.reminder_for_expires_at AND d.reminder_offset = n.reminder_offset)
        AND NOT EXISTS (SELECT 1 FROM subscriptions s
                          JOIN channels c ON c.id = s.channel_id
                          JOIN telegram_users u ON u.id = s.telegram_user_id
                         WHERE n.kind = 'subscription_grace_started' AND s.id = n.subscription_id AND s.status = 'active'
                           AND s.expires_at <= n.created_at AND s.expires_at + make_interval(hours => c.grace_period_hours) > $1::timestamptz
                           AND u.dm_blocked_at IS NULL)`,
    [now, staleBefore],
  );
  return rowCount;
}
