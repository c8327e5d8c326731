import * as z from 'zod';
import { resolveOwnedChannelId } from '../channels/index.js';
import type { Clock } from '../clock/index.js';
import type { Queryable } from '../db/index.js';
import { trialFigures } from '../trials/index.js';
import { giftFigures } from './gifts.js';

/** `GET /channels/{channelId}/growth`: the channel's free trials and gifts, counted. */
export const ChannelGrowthResourceSchema = z.object({
  trials: z.object({
    granted: z.int().meta({ description: 'Free trials granted, ever (one per Telegram user)' }),
    grantedLast30Days: z.int(),
    convertedToPaid: z.int().meta({ description: 'Of those users, how many have paid for a period since' }),
  }),
  gifts: z.object({
    sold: z.int().meta({ description: 'Gift subscriptions paid for (each booked like any payment)' }),
    pending: z.int().meta({ description: 'Paid, not claimed yet (expire 30 days after purchase)' }),
    claimed: z.int(),
    expired: z.int().meta({ description: 'Never claimed; not refunded' }),
  }),
});
export type ChannelGrowthResource = z.infer<typeof ChannelGrowthResourceSchema>;

/** The figures of one of the account's channels. @throws PermanentError `channel_not_found` (also for another account's channel). */
export async function retrieveChannelGrowth(deps: { db: Queryable; clock: Clock }, accountId: string, channelPublicId: string): Promise<ChannelGrowthResource> {
  const channelId = await resolveOwnedChannelId(deps.db, accountId, channelPublicId);
  const [trials, gifts] = await Promise.all([trialFigures(deps.db, channelId, deps.clock.now()), giftFigures(deps.db, channelId)]);
  return { trials, gifts };
}
