import { recordAuditEvent } from '../audit/index.js';
import { recordManualBroadcastRequest } from '../broadcasts/schedules.js';
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
 * schedule row (`recordManualBroadcastRequest`), so two concurrent requests cannot both pass. On
 * success, in one transaction: the trigger time and count, `next_run_at` moved to now (the
 * scheduled broadcaster picks it up even if the message finds no consumer), `broadcast-requested`
 * in the outbox and an audit entry.
 *
 * @throws PermanentError `channel_not_found` (also for another account's or a deleted channel);
 *   `broadcast_cooling_down` with `retryAfterSeconds` (whole seconds, rounded up) in its context.
 */
export async function requestBroadcast(deps: BroadcastTriggerDeps, actor: Actor, channelPublicId: string): Promise<BroadcastRequestResource> {
  const channelId = channelUuid(channelPublicId);
  const requestedAt = await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const cooldownStart = new Date(now.getTime() - BROADCAST_COOLDOWN_SECONDS * 1000);
    const manualTriggerCount = await recordManualBroadcastRequest(tx, { channelId, accountId: actor.accountId, now, cooldownStart });
    if (manualTriggerCount === undefined) {
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
    await enqueueMessage(tx, 'broadcast-requested', { job: 'dashboard', channelIds: [channelId] }, { at: now, dedupeKey: `broadcast-requested:${channelId}:${manualTriggerCount}` });
    await recordAuditEvent(tx, {
      occurredAt: now,
      actor: { type: 'account', id: actor.accountId },
      action: 'channel.broadcast_requested',
      subject: { type: 'channel', id: channelId },
      details: { manualTriggerCount: Number(manualTriggerCount) },
      requestId: actor.requestId,
      ip: actor.ip,
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
