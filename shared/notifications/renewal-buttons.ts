import * as z from 'zod';
import { defineCallbackData } from '../telegram/callback-data.js';

/*
 * The buttons under the reminder DMs (renewal reminders, the grace notice) and under the bot's
 * /subscriptions. They live here rather than in the bot feature so the remind-subscribers stage can
 * build them without importing the bot; the bot's subscriber feature answers them.
 */

const publicIdField = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{22}$`));

/** "Renew" in /subscriptions, or under a DM whose tier is unknown: shows the channel's tiers again. */
export const renewData = defineCallbackData('r1', ['channel'], z.object({ channel: publicIdField('ch') }));

/**
 * "Renew" under a reminder or the grace notice: the tier the subscriber last paid for. The price is
 * read when it is pressed (today's price); a tier switched off since shows the channel's tiers.
 */
export const renewTierData = defineCallbackData(
  'rt1',
  ['channel', 'tier'],
  z.object({ channel: publicIdField('ch'), tier: z.coerce.number().int().min(1).max(3) }),
);

/** "Turn off reminders" under a renewal reminder: for that subscription only. */
export const remindersOffData = defineCallbackData('ro1', ['subscription'], z.object({ subscription: publicIdField('sub') }));
