import * as z from 'zod';
import { userText, type UserTextOptions } from '../user-text/index.js';

/**
 * What the dashboard sends and receives for a channel. Pure shape checks, no transforms, so the same
 * schemas describe the API in OpenAPI. Money is a decimal string in dollars (`"4.99"`), Telegram chat
 * ids are decimal strings. Rules that need configuration or the database (tier minimum, threshold
 * minimum, enabled payout pairs, wallet checksums, the merged result of an update) run in
 * `channel-rules.ts`.
 */

/** Telegram chat ids stay below 2^52 in magnitude ("at most 52 significant bits", Bot API docs). */
export const MAX_TELEGRAM_ID = 2n ** 52n - 1n;
/** Channels and supergroups are `-(10^12 + n)` in the Bot API: `-100…` today. */
const MAX_CHANNEL_CHAT_ID = -1_000_000_000_001n;

function isChannelChatId(text: string): boolean {
  if (!/^-[1-9]\d{12,15}$/.test(text)) return false;
  const id = BigInt(text);
  return id <= MAX_CHANNEL_CHAT_ID && id >= -MAX_TELEGRAM_ID;
}

/**
 * A channel or supergroup chat id as a decimal string, e.g. `"-1001234567890"`: negative, at most
 * −1000000000001 (the Bot API's `-100…` form) and above −2^52. Basic groups are refused: they change
 * their id when Telegram upgrades them, which would orphan the channel.
 */
export const ChannelChatIdSchema = z
  .string()
  .refine(isChannelChatId, 'must be a channel or supergroup id as a string, e.g. "-1001234567890" (forward a post to @userinfobot to see it)')
  .meta({ description: 'Telegram chat id of a channel or supergroup, decimal string', example: '-1001234567890' });

/** A Telegram user id (positive) or group/channel id (negative), as a decimal string. */
export const NotificationChatIdSchema = z
  .string()
  .refine((text) => /^-?[1-9]\d{0,15}$/.test(text) && BigInt(text) <= MAX_TELEGRAM_ID && BigInt(text) >= -MAX_TELEGRAM_ID, 'must be a Telegram user or chat id as a string, e.g. "123456789"')
  .meta({ description: 'Telegram user id (positive) or group id (negative), decimal string', example: '123456789' });

/** Dollars with at most two decimals, as a string: `"4.99"`, `"20"`. At most $9,999,999.99. */
export const UsdAmountSchema = z
  .string()
  .regex(/^(0|[1-9]\d{0,6})(\.\d{1,2})?$/, 'must be a dollar amount as a string with at most 2 decimals, e.g. "4.99"')
  .meta({ description: 'US dollars, decimal string with at most 2 decimals', example: '4.99' });

const nonBlank = (max: number, what: string, options: UserTextOptions = {}) =>
  userText(
    z
      .string()
      .max(max, `must be at most ${max} characters`)
      .refine((text) => text.trim().length > 0, `${what} must not be blank`),
    options,
  );

export const TITLE_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 1024;
export const DONATION_MESSAGE_MAX_LENGTH = 256;
export const MAX_TIERS = 3;
export const MAX_TIER_DAYS = 3650;
/** A subscriber paying less than 90 % of the price is never counted as paid, whatever the owner sets. */
export const MIN_UNDERPAYMENT_TOLERANCE_BPS = 9000;

export const ChatInputSchema = z.object({
  id: ChannelChatIdSchema,
  title: nonBlank(TITLE_MAX_LENGTH, 'the title'),
  description: userText(z.string().max(DESCRIPTION_MAX_LENGTH, `must be at most ${DESCRIPTION_MAX_LENGTH} characters`), { multiLine: true }).optional(),
});
export type ChatInput = z.infer<typeof ChatInputSchema>;

/** Longest free trial of a tier: `channel_tiers.trial_days` CHECK. */
export const MAX_TRIAL_DAYS = 30;

export const TierInputSchema = z.object({
  priceUsd: UsdAmountSchema,
  durationDays: z.int('must be a whole number of days').min(1, 'must be at least 1 day').max(MAX_TIER_DAYS, `must be at most ${MAX_TIER_DAYS} days`),
  trialDays: z
    .int('must be a whole number of days')
    .min(0, 'must be at least 0 days')
    .max(MAX_TRIAL_DAYS, `must be at most ${MAX_TRIAL_DAYS} days`)
    .optional()
    .meta({ description: 'Days of free trial the bot offers on this tier (0–30, default 0 = none); once per Telegram user per channel' }),
});
export type TierInput = z.infer<typeof TierInputSchema>;

export const TiersInputSchema = z
  .array(TierInputSchema)
  .min(1, 'give at least one tier')
  .max(MAX_TIERS, `give at most ${MAX_TIERS} tiers`)
  .meta({ description: 'Tier 1, 2, 3 in this order; replaces every tier on update' });

export const DonationsInputSchema = z.object({
  enabled: z.boolean(),
  minUsd: UsdAmountSchema.optional(),
  maxUsd: UsdAmountSchema.optional(),
  message: nonBlank(DONATION_MESSAGE_MAX_LENGTH, 'the donation message', { multiLine: true }).optional(),
});
export type DonationsInput = z.infer<typeof DonationsInputSchema>;

export const PayoutDestinationInputSchema = z.object({
  currency: z.string().regex(/^[A-Z0-9]{2,10}$/, 'must be a currency code such as "USDT"'),
  network: z.string().regex(/^[A-Z0-9]{2,10}$/, 'must be a network code such as "TRX"'),
  wallet: userText(z.string().min(1, 'enter a payout address').max(128, 'must be at most 128 characters')),
  /** Memo or destination tag, for networks that have one. */
  extraId: userText(z.string().max(128, 'must be at most 128 characters')).nullable().optional(),
});
export type PayoutDestinationInput = z.infer<typeof PayoutDestinationInputSchema>;

export const PayoutStrategyInputSchema = z.discriminatedUnion('strategy', [
  z.object({ strategy: z.literal('instant') }),
  z.object({ strategy: z.literal('threshold'), thresholdUsd: UsdAmountSchema }),
]);
export type PayoutStrategyInput = z.infer<typeof PayoutStrategyInputSchema>;

export const UnderpaymentToleranceSchema = z
  .int('must be a whole number of basis points')
  .min(MIN_UNDERPAYMENT_TOLERANCE_BPS, `must be at least ${MIN_UNDERPAYMENT_TOLERANCE_BPS} (90 %)`)
  .max(10_000, 'must be at most 10000 (100 %)')
  .meta({ description: 'A partial payment counts as paid at or above this share of the price, basis points (9800 = 98 %)' });

/** Longest grace period: `channels.grace_period_hours` CHECK. */
export const MAX_GRACE_PERIOD_HOURS = 72;

export const GracePeriodHoursSchema = z
  .int('must be a whole number of hours')
  .min(0, 'must be at least 0 hours')
  .max(MAX_GRACE_PERIOD_HOURS, `must be at most ${MAX_GRACE_PERIOD_HOURS} hours`)
  .meta({
    description: 'Hours a member stays in the closed chat after their subscription ended, before removal (0–72, default 0); a renewal within them continues from the end of the lapsed period',
  });

/** Longest minimum account age for a trial: `channels.trial_min_account_age_days` CHECK. */
export const MAX_TRIAL_MIN_ACCOUNT_AGE_DAYS = 365;

export const TrialMinAccountAgeDaysSchema = z
  .int('must be a whole number of days')
  .min(1, 'must be at least 1 day')
  .max(MAX_TRIAL_MIN_ACCOUNT_AGE_DAYS, `must be at most ${MAX_TRIAL_MIN_ACCOUNT_AGE_DAYS} days`)
  .nullable()
  .meta({ description: 'Offer free trials only to Telegram accounts this bot has known for at least this many days (1–365); null = no minimum' });

/** Longest interval between scheduled tier posts: 30 days (`broadcast_schedules.interval_minutes` ≤ 43200). */
export const MAX_BROADCAST_INTERVAL_HOURS = 720;

export const BroadcastInputSchema = z.object({
  intervalHours: z
    .int('must be a whole number of hours')
    .min(1, 'must be at least 1 hour')
    .max(MAX_BROADCAST_INTERVAL_HOURS, `must be at most ${MAX_BROADCAST_INTERVAL_HOURS} hours (30 days)`)
    .nullable()
    .meta({
      description:
        'Post the tier buttons to the open channel every this many hours (1–720); null turns scheduled posts off. A number also re-enables a schedule that was stopped (by you, after repeated failures or for missing bot rights) and posts at the next tick.',
    }),
});
export type BroadcastInput = z.infer<typeof BroadcastInputSchema>;

export const NotificationsInputSchema = z.object({
  enabled: z.boolean(),
  /** Where payment notifications go; default the owner's linked Telegram account. */
  chatId: NotificationChatIdSchema.nullable().optional(),
});
export type NotificationsInput = z.infer<typeof NotificationsInputSchema>;

/** `POST /channels`. */
export const CreateChannelInputSchema = z.object({
  openChat: ChatInputSchema,
  closedChat: ChatInputSchema,
  tiers: TiersInputSchema,
  donations: DonationsInputSchema.optional(),
  payoutDestination: PayoutDestinationInputSchema,
  payoutStrategy: PayoutStrategyInputSchema,
  underpaymentToleranceBps: UnderpaymentToleranceSchema.optional(),
  notifications: NotificationsInputSchema.optional(),
  gracePeriodHours: GracePeriodHoursSchema.optional(),
  trialMinAccountAgeDays: TrialMinAccountAgeDaysSchema.optional(),
  /** Default: every 24 hours. */
  broadcast: BroadcastInputSchema.optional(),
});
export type CreateChannelInput = z.infer<typeof CreateChannelInputSchema>;

/**
 * `PATCH /channels/{id}`: each section given replaces that section (tiers, donations, payout
 * destination and strategy, notifications, grace period, broadcast schedule); chat sections may
 * change single fields. The merged channel must pass the same rules as a new one.
 */
export const UpdateChannelInputSchema = z
  .object({
    openChat: ChatInputSchema.partial().optional(),
    closedChat: ChatInputSchema.partial().optional(),
    tiers: TiersInputSchema.optional(),
    donations: DonationsInputSchema.optional(),
    payoutDestination: PayoutDestinationInputSchema.optional(),
    payoutStrategy: PayoutStrategyInputSchema.optional(),
    underpaymentToleranceBps: UnderpaymentToleranceSchema.optional(),
    notifications: NotificationsInputSchema.optional(),
    gracePeriodHours: GracePeriodHoursSchema.optional(),
    trialMinAccountAgeDays: TrialMinAccountAgeDaysSchema.optional(),
    broadcast: BroadcastInputSchema.optional(),
  })
  .refine((input) => Object.values(input).some((value) => value !== undefined), 'give at least one field to change');
export type UpdateChannelInput = z.infer<typeof UpdateChannelInputSchema>;

// ---- what the API answers ----

const ChatResourceSchema = z.object({ id: z.string(), title: z.string(), description: z.string() });

const ChatRightsResourceSchema = z.object({
  /** What the bot still lacks in this chat (`can_invite_users`, `administrator`, …); empty when all is well. */
  missing: z.array(z.string()),
});

const SubscribeLinkResourceSchema = z.object({
  url: z.string().meta({ example: 'https://t.me/PayGatePrimeBot?start=c_ch_Ehz5dX8hQSeMc0Q8m0Q2Xw' }),
  /** The `start` parameter alone, for clients that build their own deep link. */
  startParameter: z.string().meta({ example: 'c_ch_Ehz5dX8hQSeMc0Q8m0Q2Xw' }),
});

/** Why scheduled posts stopped (`broadcast_schedules.disabled_reason`). */
export const BroadcastDisabledReasonSchema = z.enum(['owner', 'too_many_failures', 'bot_rights_missing', 'channel_deleted']);

export const ChannelResourceSchema = z.object({
  id: z.string().meta({ example: 'ch_Ehz5dX8hQSeMc0Q8m0Q2Xw' }),
  status: z.enum(['pending', 'active', 'paused', 'deleted']),
  openChat: ChatResourceSchema,
  closedChat: ChatResourceSchema,
  tiers: z.array(z.object({ tierNumber: z.int(), priceUsd: z.string(), durationDays: z.int(), trialDays: z.int() })),
  donations: z.object({ enabled: z.boolean(), minUsd: z.string().nullable(), maxUsd: z.string().nullable(), message: z.string().nullable() }),
  payoutDestination: z.object({ currency: z.string(), network: z.string(), wallet: z.string(), extraId: z.string().nullable() }),
  payoutStrategy: z.object({ strategy: z.enum(['instant', 'threshold']), thresholdUsd: z.string().nullable() }),
  underpaymentToleranceBps: z.int(),
  notifications: z.object({ enabled: z.boolean(), chatId: z.string().nullable() }),
  botRights: z.object({ checkedAt: z.string(), open: ChatRightsResourceSchema, closed: ChatRightsResourceSchema }).nullable(),
  gracePeriodHours: z.int(),
  trialMinAccountAgeDays: z.int().nullable(),
  subscribeLinks: z
    .object({
      channel: SubscribeLinkResourceSchema,
      tiers: z.array(SubscribeLinkResourceSchema.extend({ tierNumber: z.int() })),
    })
    .nullable()
    .meta({ description: "Links that open the bot on the channel's tiers (channel) or on one tier's checkout (tiers, the active ones); null when the bot's username cannot be known right now" }),
  broadcast: z.object({
    /** Scheduled posts run; false: see disabledReason. */
    enabled: z.boolean(),
    disabledReason: BroadcastDisabledReasonSchema.nullable(),
    /** The stored interval, also while posts are off (the value re-enabling would keep). */
    intervalHours: z.number(),
    /** When the next scheduled post is due; null while disabled. */
    nextRunAt: z.string().nullable(),
    lastPostedAt: z.string().nullable(),
    consecutiveFailures: z.int(),
    lastError: z.string().nullable(),
    lastManualTriggerAt: z.string().nullable(),
    /** When the next manual broadcast may be requested; null when it may be now. */
    manualTriggerAvailableAt: z.string().nullable(),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ChannelResource = z.infer<typeof ChannelResourceSchema>;

export const ChannelListResourceSchema = z.object({
  channels: z.array(ChannelResourceSchema),
  /** Live channels this account has, and how many it may have. */
  count: z.int(),
  maxChannels: z.int(),
});
export type ChannelListResource = z.infer<typeof ChannelListResourceSchema>;

export const BroadcastRequestResourceSchema = z.object({
  channelId: z.string(),
  requestedAt: z.string(),
  /** When the next manual broadcast may be requested. */
  nextAllowedAt: z.string(),
});
export type BroadcastRequestResource = z.infer<typeof BroadcastRequestResourceSchema>;
