import * as z from 'zod';
import { createBotUsernameSource } from '../telegram/index.js';
import { confirmPasswordOfAccount } from '../accounts/index.js';
import {
  BroadcastRequestResourceSchema,
  type ChannelDeps,
  type ChannelReadDeps,
  type ChangeConfirmation,
  type SensitiveChange,
  type SubscribeLinkDeps,
  ChannelListResourceSchema,
  ChannelResourceSchema,
  CreateChannelInputSchema,
  PayoutOptionListResourceSchema,
  UpdateChannelInputSchema,
  createChannel,
  deleteChannel,
  listChannels,
  listPayoutOptions,
  requestBroadcast,
  retrieveChannel,
  subscribeQrCode,
  previewTierPosts,
  TierPostPreviewResourceSchema,
  updateChannel,
} from '../channels/index.js';
import { ChannelGrowthResourceSchema, retrieveChannelGrowth } from '../gifts/index.js';
import type { Logger } from '../logging/index.js';
import { CurrentPasswordSchema } from './account-schemas.js';
import type { DashboardDeps } from './dashboard-deps.js';
import { defineRoute, type RequestInfo, type RouteDefinition } from './route-definition.js';
import { dashboardError } from './errors.js';

const MINUTE = 60;
const HOUR = 3600;

const ChannelParams = z.object({ channelId: z.string().max(64).meta({ description: 'The channel id (ch_…)', example: 'ch_Ehz5dX8hQSeMc0Q8m0Q2Xw' }) });

/** Where answers get the bot's username for subscribe links: see `DashboardDeps.subscribeBot`. */
export function linkDeps(deps: DashboardDeps): SubscribeLinkDeps {
  return { subscribeBot: deps.subscribeBot ?? createBotUsernameSource({ configured: deps.telegramBotUsername ?? deps.channels?.bot.username, logger: deps.logger }) };
}

/** Reads need no Bot API client: they work on an instance without channel registration. */
function readDeps(deps: DashboardDeps): ChannelReadDeps {
  return { db: deps.db, clock: deps.clock, ...linkDeps(deps) };
}

/** Channel deps from the dashboard's: registration needs the Bot API and the configured minimums. */
function channelDeps(deps: DashboardDeps, logger: Logger): ChannelDeps {
  if (!deps.channels) throw dashboardError('channels_not_configured', 'Channel registration is not configured on this instance');
  return { db: deps.db, clock: deps.clock, logger, ...deps.channels, ...linkDeps(deps) };
}

/** `?tier=2`: the QR code of that tier's checkout link instead of the channel's. */
const SubscribeQrQuery = z.object({
  tier: z
    .string()
    .regex(/^[1-3]$/, 'must be 1, 2 or 3')
    .transform(Number)
    .optional()
    .meta({ description: "A tier number (1–3) the channel sells: the code opens that tier's checkout; omitted: the channel's tiers" }),
});

/** The code only changes with the bot's username, so the browser may keep it a while; `private`: it needs the token. */
const QR_CACHE_CONTROL = 'private, max-age=300';

/** The account's password, required (as `currentPassword`) whenever a request sets where or how payouts go, changes a chat or deletes the channel. */
const ChangePasswordSchema = CurrentPasswordSchema.optional().meta({
  description:
    'Your account password. Required to register a channel, to change its payout destination or strategy, to change its open or closed chat, and to delete it (re-authentication); ignored otherwise.',
});

/** Per sensitive change: the audit action of a refused password and the words of the refusal. */
const REFUSALS: Record<SensitiveChange, { action: string; what: string }> = {
  payout: { action: 'channel.payout_change_refused', what: 'set where payouts go' },
  chats: { action: 'channel.chat_change_refused', what: "change the channel's chats" },
  deletion: { action: 'channel.delete_refused', what: 'delete the channel' },
};

/** Re-authentication for sensitive channel changes: the password, counted with login failures per (address, IP). */
function changeConfirmation(deps: DashboardDeps, accountId: string, password: string | undefined, request: RequestInfo): ChangeConfirmation {
  return {
    confirm: (changes) => {
      const first = REFUSALS[changes[0] ?? 'payout'];
      return confirmPasswordOfAccount(deps, {
        accountId,
        password,
        origin: { requestId: request.requestId, ip: request.ip },
        action: first.action,
        field: 'currentPassword',
        what: changes.map((change) => REFUSALS[change].what).join(' and '),
      });
    },
  };
}

/** Channels: registration with proof of ownership, reads, edits, soft delete, the broadcast trigger. */
export const channelRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/payout-options',
    operationId: 'listPayoutOptions',
    summary: 'The currencies and networks a channel can be paid out in',
    tags: ['channels'],
    auth: 'none',
    response: { status: 200, description: 'Enabled payout options', schema: PayoutOptionListResourceSchema },
    rateLimits: [{ name: 'payout-options-ip', key: 'ip', limit: 120, windowSeconds: MINUTE }],
    handler: async ({ deps }) => ({ body: await listPayoutOptions(deps) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/channels',
    operationId: 'listChannels',
    summary: 'Your live channels',
    tags: ['channels'],
    auth: 'bearer',
    response: { status: 200, description: 'Your channels, oldest first, and the limit', schema: ChannelListResourceSchema },
    handler: async ({ auth, deps }) => ({ body: await listChannels(readDeps(deps), { accountId: auth.accountId }) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/channels',
    operationId: 'createChannel',
    summary: 'Register a channel (the bot and your linked Telegram account must administer both chats)',
    description:
      'Needs your password (`currentPassword`), since it sets the payout wallet. Checks every field, then the password, then asks Telegram whether the bot is an administrator of both chats with the rights each needs (open channel: Post messages; closed chat: Invite users via link and Ban users) and whether your linked Telegram account administers both. At most 10 live channels per account.',
    tags: ['channels'],
    auth: 'bearer',
    body: CreateChannelInputSchema.extend({ currentPassword: ChangePasswordSchema }),
    response: { status: 201, description: 'The new channel', schema: ChannelResourceSchema },
    errors: {
      400: 'validation_failed (fields), incorrect_password (fields.currentPassword)',
      403: 'password_required (fields.currentPassword), account_inactive',
      429: 'rate_limited (also after 10 wrong passwords from your IP in 15 minutes)',
      409: 'telegram_not_linked (link your Telegram account first), channel_limit_reached, chat_already_registered',
      422: 'channel_ownership_unverified: the message and fields name each missing right and chat',
      503: 'Telegram could not be reached',
    },
    maxBodyBytes: 32 * 1024,
    rateLimits: [{ name: 'channel-create-account', key: 'account', limit: 20, windowSeconds: HOUR }],
    handler: async ({ auth, body, deps, request, logger }) => ({
      body: await createChannel(
        channelDeps(deps, logger),
        { accountId: auth.accountId, requestId: request.requestId, ip: request.ip },
        body,
        changeConfirmation(deps, auth.accountId, body.currentPassword, request),
      ),
    }),
  }),
  defineRoute({
    method: 'GET',
    path: '/channels/{channelId}',
    operationId: 'retrieveChannel',
    summary: 'One of your channels',
    tags: ['channels'],
    auth: 'bearer',
    params: ChannelParams,
    response: { status: 200, description: 'The channel', schema: ChannelResourceSchema },
    errors: { 404: 'channel_not_found (also for another account’s channel)' },
    handler: async ({ auth, params, deps }) => ({ body: await retrieveChannel(readDeps(deps), { accountId: auth.accountId }, params.channelId) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/channels/{channelId}/subscribe-qr.svg',
    operationId: 'retrieveSubscribeQrCode',
    summary: 'A QR code of the channel’s subscribe link, or of one tier’s, as SVG',
    description:
      'Encodes exactly `subscribeLinks.channel.url` of the channel (with `?tier=n`: `subscribeLinks.tiers[].url` of tier n), for posters and other chats. Send the access token like on every route (fetch it and show it as a blob).',
    tags: ['channels'],
    auth: 'bearer',
    params: ChannelParams,
    query: SubscribeQrQuery,
    response: { status: 200, description: 'The QR code, a standalone SVG document (Cache-Control: private, max-age=300)', schema: z.string(), mediaType: 'image/svg+xml' },
    errors: {
      400: 'validation_failed: `tier` is not 1–3, or the channel does not sell that tier (fields["query.tier"] says which tiers it sells)',
      404: 'channel_not_found (also for another account’s channel)',
      503: 'bot_username_unavailable: no bot username is configured and Telegram could not be asked for it',
    },
    handler: async ({ auth, params, query, deps }) => {
      const code = await subscribeQrCode(readDeps(deps), { accountId: auth.accountId }, params.channelId, query.tier);
      return { body: code.svg, headers: { 'cache-control': QR_CACHE_CONTROL } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/channels/{channelId}/growth',
    operationId: 'retrieveChannelGrowth',
    summary: 'Free trials and gift subscriptions of a channel, counted',
    tags: ['channels'],
    auth: 'bearer',
    params: ChannelParams,
    response: { status: 200, description: 'Trials granted and converted; gifts sold, pending, claimed, expired', schema: ChannelGrowthResourceSchema },
    errors: { 404: 'channel_not_found (also for another account’s channel)' },
    handler: async ({ auth, params, deps }) => ({ body: await retrieveChannelGrowth({ db: deps.db, clock: deps.clock }, auth.accountId, params.channelId) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/channels/{channelId}/tier-posts',
    operationId: 'previewTierPosts',
    summary: 'The posts the bot puts in your chats now: the tier buttons (open chat) and the donation button (closed chat)',
    description: 'Composed by the broadcaster’s own function from the stored settings, in your Telegram language, whether or not a post is up yet. `html` is Telegram HTML (`<b>` only, your texts escaped).',
    tags: ['channels'],
    auth: 'bearer',
    params: ChannelParams,
    response: { status: 200, description: 'Both posts; null where nothing would be posted', schema: TierPostPreviewResourceSchema },
    errors: {
      404: 'channel_not_found (also for another account’s channel)',
      503: 'bot_username_unavailable: no bot username is configured and Telegram could not be asked for it',
    },
    handler: async ({ auth, params, deps }) => ({ body: await previewTierPosts(readDeps(deps), { accountId: auth.accountId }, params.channelId) }),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/channels/{channelId}',
    operationId: 'updateChannel',
    summary: 'Change a channel; each section given replaces the stored one, and the result must pass every rule',
    description:
      'New chat ids are verified with Telegram like on registration. Changing the payout destination (currency, network, wallet, extra id), the payout strategy, or either chat needs your password (`currentPassword`, re-authentication) and mails you a notice; resending the stored values does not. Payouts already created keep the wallet they were created with. `broadcast: {intervalHours: null}` stops scheduled posts of the tier buttons; a number of hours sets the interval and restarts a stopped schedule (failures cleared, a post at the next tick).',
    tags: ['channels'],
    auth: 'bearer',
    params: ChannelParams,
    body: UpdateChannelInputSchema.extend({ currentPassword: ChangePasswordSchema }),
    response: { status: 200, description: 'The changed channel', schema: ChannelResourceSchema },
    errors: {
      400: 'validation_failed (fields), incorrect_password (fields.currentPassword)',
      403: 'password_required (a payout or chat change without currentPassword)',
      404: 'channel_not_found',
      409: 'chat_already_registered, channel_changed_concurrently',
      422: 'channel_ownership_unverified',
      429: 'rate_limited (also after 10 wrong passwords from your IP in 15 minutes)',
      503: 'Telegram could not be reached',
    },
    maxBodyBytes: 32 * 1024,
    rateLimits: [{ name: 'channel-update-account', key: 'account', limit: 60, windowSeconds: HOUR }],
    handler: async ({ auth, params, body, deps, request, logger }) => ({
      body: await updateChannel(
        channelDeps(deps, logger),
        { accountId: auth.accountId, requestId: request.requestId, ip: request.ip },
        params.channelId,
        body,
        changeConfirmation(deps, auth.accountId, body.currentPassword, request),
      ),
    }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/channels/{channelId}',
    operationId: 'deleteChannel',
    summary: 'Delete a channel: sales and broadcasts stop, its chats become free; history and balances stay',
    description: 'Needs your password (`currentPassword`, re-authentication) and mails you a notice.',
    tags: ['channels'],
    auth: 'bearer',
    params: ChannelParams,
    body: z.object({ currentPassword: ChangePasswordSchema }).optional(),
    response: { status: 204, description: 'Deleted' },
    errors: {
      400: 'incorrect_password (fields.currentPassword)',
      403: 'password_required (fields.currentPassword)',
      404: 'channel_not_found',
      429: 'rate_limited (also after 10 wrong passwords from your IP in 15 minutes)',
    },
    rateLimits: [{ name: 'channel-delete-account', key: 'account', limit: 20, windowSeconds: HOUR }],
    handler: async ({ auth, params, body, deps, request, logger }) => {
      await deleteChannel(
        { db: deps.db, clock: deps.clock, logger },
        { accountId: auth.accountId, requestId: request.requestId, ip: request.ip },
        params.channelId,
        changeConfirmation(deps, auth.accountId, body?.currentPassword, request),
      );
      return {};
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/channels/{channelId}/broadcast',
    operationId: 'requestBroadcast',
    summary: 'Post the tier buttons to the open channel now (once per 5 minutes per channel)',
    tags: ['channels'],
    auth: 'bearer',
    params: ChannelParams,
    response: { status: 202, description: 'Queued; the broadcaster posts within a minute', schema: BroadcastRequestResourceSchema },
    errors: { 404: 'channel_not_found', 429: 'broadcast_cooling_down: Retry-After says how many seconds remain' },
    handler: async ({ auth, params, deps, request, logger }) => ({
      body: await requestBroadcast({ db: deps.db, clock: deps.clock, logger }, { accountId: auth.accountId, requestId: request.requestId, ip: request.ip }, params.channelId),
    }),
  }),
];
