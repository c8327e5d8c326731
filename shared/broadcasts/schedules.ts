import type { Tx } from '../db/index.js';

/*
 * The statements that change a channel's `broadcast_schedules` row from outside the broadcast run:
 * channel registration creates it, the owner's settings, "broadcast now" and deletion change it, and
 * the bot asks for a new post when it may post again. The run itself (claim, outcome) is in
 * tier-broadcasts.ts. The trigger `request_broadcast_rebuild` (sql/022) also sets
 * `rebuild_requested` when a channel or tier changes.
 */

/** The schedule of a newly registered channel, in the registration's transaction. */
export async function createBroadcastSchedule(
  tx: Tx,
  channelId: string,
  schedule: { isEnabled: boolean; disabledReason: 'owner' | null; intervalMinutes: number },
  now: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO broadcast_schedules (channel_id, is_enabled, disabled_reason, interval_minutes, next_run_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5, $5)`,
    [channelId, schedule.isEnabled, schedule.disabledReason, schedule.intervalMinutes, now],
  );
}

/**
 * Applies the owner's schedule choice inside the update's transaction. `null` stops scheduled posts
 * (`disabled_reason = 'owner'`). A number sets the interval and, on a stopped schedule, starts it
 * again from a clean slate (failures and the failure reason cleared, due now): the owner choosing an
 * interval is the signal that whatever stopped it (them, failures, missing rights) was dealt with.
 * On a running schedule a shorter interval brings the next post forward (never later than the last
 * post plus the new interval); a longer one leaves the due post alone. A deleted channel's schedule
 * is never touched.
 */
export async function applyBroadcastSetting(tx: Tx, channelId: string, intervalHours: number | null, now: Date): Promise<void> {
  if (intervalHours === null) {
    await tx.query(
      `UPDATE broadcast_schedules SET is_enabled = false, disabled_reason = 'owner', updated_at = $2
        WHERE channel_id = $1 AND disabled_reason IS DISTINCT FROM 'channel_deleted'`,
      [channelId, now],
    );
    return;
  }
  await tx.query(
    `UPDATE broadcast_schedules
        SET interval_minutes = $2::int,
            next_run_at = CASE WHEN is_enabled
                               THEN least(next_run_at, greatest($3::timestamptz, coalesce(last_succeeded_at, $3::timestamptz) + $2::int * interval '1 minute'))
                               ELSE $3::timestamptz END,
            consecutive_failures = CASE WHEN is_enabled THEN consecutive_failures ELSE 0 END,
            last_failure_reason = CASE WHEN is_enabled THEN last_failure_reason ELSE NULL END,
            is_enabled = true, disabled_reason = NULL, updated_at = $3
      WHERE channel_id = $1 AND disabled_reason IS DISTINCT FROM 'channel_deleted'`,
    [channelId, intervalHours * 60, now],
  );
}

/**
 * The owner's "broadcast now", at most once per cooldown: one conditional UPDATE of the schedule row
 * (the trigger time and count, `next_run_at` moved to now), so two concurrent requests cannot both
 * pass. Only for the account's live channel. Returns the new trigger count, or undefined when the
 * channel is not the account's live one or the last request is younger than `cooldownStart`.
 */
export async function recordManualBroadcastRequest(
  tx: Tx,
  request: { channelId: string; accountId: string; now: Date; cooldownStart: Date },
): Promise<number | undefined> {
  const { rows } = await tx.query<{ manual_trigger_count: number }>(
    `UPDATE broadcast_schedules b
          SET last_manual_trigger_at = $3, manual_trigger_count = b.manual_trigger_count + 1,
              next_run_at = least(b.next_run_at, $3), updated_at = $3
         FROM channels c
        WHERE b.channel_id = $1 AND c.id = b.channel_id AND c.owner_account_id = $2 AND c.deleted_at IS NULL
          AND (b.last_manual_trigger_at IS NULL OR b.last_manual_trigger_at <= $4)
        RETURNING b.manual_trigger_count`,
    [request.channelId, request.accountId, request.now, request.cooldownStart],
  );
  return rows[0]?.manual_trigger_count;
}

/** A deleted channel's posts stop for good (`disabled_reason = 'channel_deleted'`, its lease dropped). */
export async function stopDeletedChannelBroadcasts(tx: Tx, channelId: string, now: Date): Promise<void> {
  await tx.query(
    `UPDATE broadcast_schedules SET is_enabled = false, disabled_reason = 'channel_deleted', lease_expires_at = NULL, updated_at = $2 WHERE channel_id = $1`,
    [channelId, now],
  );
}

/** Asks for a new tier post at the next tick (the bot may post in the open chat again). */
export async function requestTierPostRebuild(tx: Tx, channelId: string): Promise<void> {
  await tx.query('UPDATE broadcast_schedules SET rebuild_requested = true WHERE channel_id = $1', [channelId]);
}
