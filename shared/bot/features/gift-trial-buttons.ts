import * as z from 'zod';
import { defineCallbackData } from '../../telegram/callback-data.js';

const channelField = z.string().regex(/^ch_[A-Za-z0-9_-]{22}$/);
const tierField = z.coerce.number().int().min(1).max(3);

/** "Try N days free" under a tier: the channel and the tier; the days are read when it is pressed. */
export const tryTrialData = defineCallbackData('tt1', ['channel', 'tier'], z.object({ channel: channelField, tier: tierField }));
/** "Gift tier N": opens a gift checkout of that tier at today's price. */
export const giftTierData = defineCallbackData('gt1', ['channel', 'tier'], z.object({ channel: channelField, tier: tierField }));
/** "Claim" under a gift: its claim code (the recipient already holds it: it came in their /start link). */
export const claimGiftData = defineCallbackData('gc1', ['code'], z.object({ code: z.string().regex(/^[A-Za-z0-9_-]{32}$/) }));
