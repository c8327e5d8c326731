import { recordAuditEvent } from '../audit/index.js';
import { enqueueMessage } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import type { Logger } from '../logging/index.js';
import type { BroadcastRequestResource } from './channel-schemas.js';
import { BROADCAST_COOLDOWN_SECONDS, channelNotFound, channelUuid } from './channel-store.js';
import type { Actor } from './channels.js';
import { channelError } from './errors.js';

export interface BroadcastTriggerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

/**
 * The owner asks for the tier buttons to be posted now. At most once per
 * `BROADCAST_COOLDOWN_SECONDS` (5 minutes) per channel, enforced by one conditional UPDATE of the
 * schedule row, so two concurrent requests cannot both pass. On success, in one transaction: the
 * trigger time and count, `next_run_at` moved to now (the scheduled broadcaster picks it up even
 * if the message finds no consumer), `broadcast-requested` in the outbox and an audit entry.
 *
 * @throws PermanentError `channel_not_found` (also for another account's or a deleted channel);
 *   `broadcast_cooling_down` with `retryAfterSeconds` (whole seconds, rounded up) in its context.
 */
export async function requestBroadcast(deps: BroadcastTriggerDeps, actor: Actor, channelPublicId: string): Promise<BroadcastRequestResource> {
  const channelId = channelUuid(channelPublicId);
  const requestedAt = await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const cooldownStart = new Date(now.getTime() - BROADCAST_COOLDOWN_SECONDS * 1000);
    const { rows } = await tx.query<{ manual_trigger_count: number }>(
      `UPDATE broadcast_schedules b
          SET last_manual_trigger_at = $3, manual_trigger_count = b.manual_trigger_count + 1,
              next_run_at = least(b.next_run_at, $3), updated_at = $3
         FROM channels c
        WHERE b.channel_id = $1 AND c.id = b.channel_id AND c.owner_account_id = $2 AND c.deleted_at IS NULL
          AND (b.last_manual_trigger_at IS NULL OR b.last_manual_trigger_at <= $4)
        RETURNING b.manual_trigger_count`,
      [channelId, actor.accountId, now, cooldownStart],
    );
    const row = rows[0];
    if (!row) {
      const { rows: existing } = await tx.query<{ last_manual_trigger_at: Date | null }>(
        `SELECT b.last_manual_trigger_at FROM broadcast_schedules b JOIN channels c ON c.id = b.channel_id
          WHERE b.channel_id = $1 AND c.owner_account_id = $2 AND c.deleted_at IS NULL`,
        [channelId, actor.accountId],
      );
      const last = existing[0]?.last_manual_trigger_at;
      if (!last) throw channelNotFound();
      const allowedAt = new Date(last).getTime() + BROADCAST_COOLDOWN_SECONDS * 1000;
      const retryAfterSeconds = Math.max(1, Math.ceil((allowedAt - now.getTime()) / 1000));
      throw channelError('broadcast_cooling_down', `A broadcast was requested less than ${BROADCAST_COOLDOWN_SECONDS / 60} minutes ago. Try again in ${retryAfterSeconds} seconds.`, {
        retryAfterSeconds,
        channelId,
      });
    }
    await enqueueMessage(tx, 'broadcast-requested', { job: 'dashboard', channelIds: [channelId] }, { at: now, dedupeKey: `broadcast-requested:${channelId}:${row.manual_trigger_count}` });
    await recordAuditEvent(tx, {
      occurredAt: now,
      actor: { type: 'account', id: actor.accountId },
      action: 'channel.broadcast_requested',
      subject: { type: 'channel', id: channelId },
      details: { manualTriggerCount: Number(row.manual_trigger_count) },
      requestId: actor.requestId,
    });
    return now;
  });
  deps.logger.info('channel.broadcast_requested', { channelId, accountId: actor.accountId });
  return {
    channelId: formatPublicId('channel', channelId),
    requestedAt: requestedAt.toISOString(),
    nextAllowedAt: new Date(requestedAt.getTime() + BROADCAST_COOLDOWN_SECONDS * 1000).toISOString(),
  };
}
