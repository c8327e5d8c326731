import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logging/index.js';

/**
 * "Turn off reminders" for one subscription of this Telegram user; a later renewal keeps it off.
 * Returns the channel's title, or undefined when the subscription is not theirs.
 */
export async function turnOffRenewalReminders(
  deps: { db: Db; clock: Clock; logger: Logger },
  subscriptionId: string,
  telegramUserId: bigint,
): Promise<{ title: string } | undefined> {
  const { rows } = await deps.db.query<{ closed_title: string }>(
    `UPDATE subscriptions s SET renewal_reminders_enabled = false,
            updated_at = CASE WHEN s.renewal_reminders_enabled THEN $3 ELSE s.updated_at END
       FROM channels c
      WHERE s.id = $1 AND s.telegram_user_id = $2 AND c.id = s.channel_id
     RETURNING c.closed_title`,
    [subscriptionId, telegramUserId, deps.clock.now()],
  );
  const row = rows[0];
  if (!row) return undefined;
  deps.logger.info('subscription.reminders_turned_off', { subscriptionId });
  return { title: row.closed_title };
}
