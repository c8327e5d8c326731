/**
 * Channels an owner sells access to: registration with proof of ownership (the bot and the owner's
 * linked Telegram user administer both chats), reads, updates validated as a whole, soft delete, and
 * the manual broadcast trigger. Request and response shapes are zod schemas, shared with the
 * dashboard router and its OpenAPI document.
 *
 *   const channel = await createChannel(deps, { accountId, requestId }, body, { confirm });   // ChannelResource
 *   await requestBroadcast(deps, { accountId }, channel.id);                      // 5-minute cooldown
 *   const { svg } = await subscribeQrCode(deps, { accountId }, channel.id, 2);    // tier 2's t.me link as a QR code
 *
 * Channel answers carry `subscribeLinks` (t.me links to the bot, per channel and active tier), made
 * with the username from `subscribeBot` (`loadSubscribeBot`: configured, else getMe) or `bot`; null
 * when neither can tell it.
 *
 * Errors are `PermanentError`s: `validation_failed` (context `fields: [{ path, message }]`),
 * `channel_not_found` (also for another account's channel), `telegram_not_linked`,
 * `account_inactive`, `channel_limit_reached`, `channel_ownership_unverified` (context `fields`,
 * `problems`), `chat_already_registered`, `channel_changed_concurrently`, `telegram_link_changed`,
 * `broadcast_cooling_down` (context `retryAfterSeconds`), plus whatever `confirm` throws
 * (the dashboard: `password_required`, `incorrect_password`, `rate_limited`). Telegram outages are
 * `TransientError`s.
 */
export {
  type ChatInput,
  type TierInput,
  type DonationsInput,
  type PayoutDestinationInput,
  type PayoutStrategyInput,
  type NotificationsInput,
  type BroadcastInput,
  type CreateChannelInput,
  type UpdateChannelInput,
  type ChannelResource,
  type ChannelListResource,
  type BroadcastRequestResource,
  ChannelChatIdSchema,
  NotificationChatIdSchema,
  UsdAmountSchema,
  GracePeriodHoursSchema,
  BroadcastInputSchema,
  BroadcastDisabledReasonSchema,
  MAX_GRACE_PERIOD_HOURS,
  MAX_BROADCAST_INTERVAL_HOURS,
  CreateChannelInputSchema,
  UpdateChannelInputSchema,
  ChannelResourceSchema,
  ChannelListResourceSchema,
  BroadcastRequestResourceSchema,
  MIN_UNDERPAYMENT_TOLERANCE_BPS,
} from './channel-schemas.js';
export { type ChannelLimits, type FieldProblem, MAX_CHANNELS_PER_ACCOUNT } from './channel-rules.js';
export { type BotIdentity, type ChatProblem, verifyChatOwnership } from './chat-ownership.js';
export { type RecordedRights, type StoredChatRights, StoredChatRightsSchema, missingBotRights, recordBotRights } from './chat-rights.js';
export {
  type ChannelServices,
  type ChannelDeps,
  type ChannelReadDeps,
  type SubscribeLinkDeps,
  type Actor,
  type ChangeConfirmation,
  type SensitiveChange,
  createChannel,
  retrieveChannel,
  listChannels,
  updateChannel,
  deleteChannel,
  subscribeBotUsername,
} from './channels.js';
export { type BroadcastTriggerDeps, requestBroadcast } from './broadcast-trigger.js';
export { setOwnerNotifications } from './notification-setting.js';
export { BROADCAST_COOLDOWN_SECONDS, DEFAULT_BROADCAST_INTERVAL_MINUTES, resolveOwnedChannelId } from './channel-store.js';
export { type PayoutOptionListResource, PayoutOptionListResourceSchema, listPayoutOptions } from './payout-options.js';
export { loadChannelServices, loadSubscribeBot } from './channel-services.js';
export { type SubscribeQrCode, qrCodeSvg, subscribeQrCode } from './subscribe-qr.js';
export { type TierPostPreviewResource, TierPostPreviewResourceSchema, previewTierPosts } from './tier-post-preview.js';
export {
  type OfferTier,
  type SubscribeOffer,
  type DonationSettings,
  type OwnerChannelFigures,
  loadSubscribeOffer,
  channelTitle,
  loadDonationSettings,
  listOwnerChannelFigures,
} from './channel-reads.js';
export { channelSealedTables } from './sealed-fields.js';
