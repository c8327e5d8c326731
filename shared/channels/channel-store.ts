import type { Queryable, Tx } from '../db/index.js';
import { PermanentError } from '../errors/index.js';
import { formatPublicId, parsePublicId } from '../ids/index.js';
import { formatUsdCents } from '../money/index.js';
import { subscribeLink, subscribeStartPayload } from '../telegram/deep-links.js';
import { openWallet, sealWallet, storedWalletColumns, storedWalletOf, storedWalletValues } from '../wallets/index.js';
import type { ChannelSettings } from './channel-rules.js';
import { StoredChatRightsSchema } from './chat-rights.js';
import type { ChannelResource } from './channel-schemas.js';
import { channelError } from './errors.js';

/** How long after a manual broadcast the next one may be requested. */
export const BROADCAST_COOLDOWN_SECONDS = 300;
/** `broadcast_schedules.interval_minutes` default: one post a day. */
export const DEFAULT_BROADCAST_INTERVAL_MINUTES = 1440;

type DisabledReason = NonNullable<ChannelResource['broadcast']['disabledReason']>;

/** The channel's `broadcast_schedules` row, as far as the owner sees it. */
export interface StoredSchedule {
  isEnabled: boolean;
  disabledReason: DisabledReason | null;
  intervalMinutes: number;
  nextRunAt: Date;
  lastSucceededAt: Date | null;
  consecutiveFailures: number;
  lastError: string | null;
  lastManualTriggerAt: Date | null;
}

/** A channel row with its broadcast schedule, as the store reads it. */
export interface StoredChannel {
  id: string;
  ownerAccountId: string;
  status: ChannelResource['status'];
  settings: ChannelSettings;
  botRights: Record<string, unknown> | null;
  botRightsCheckedAt: Date | null;
  schedule: StoredSchedule;
  createdAt: Date;
  updatedAt: Date;
}

interface ChannelRow {
  id: string;
  owner_account_id: string;
  status: ChannelResource['status'];
  open_chat_id: bigint;
  closed_chat_id: bigint;
  open_title: string;
  closed_title: string;
  open_description: string;
  closed_description: string;
  payout_currency: string;
  payout_network: string;
  payout_wallet: string | null;
  payout_extra_id: string | null;
  payout_wallet_ciphertext: string | null;
  payout_wallet_index: Buffer | null;
  payout_wallet_hint: string | null;
  payout_extra_id_ciphertext: string | null;
  payout_extra_id_index: Buffer | null;
  payout_strategy: 'instant' | 'threshold';
  payout_threshold_cents: bigint | null;
  underpayment_tolerance_bps: number;
  donations_enabled: boolean;
  donation_min_cents: bigint | null;
  donation_max_cents: bigint | null;
  donation_message: string | null;
  notifications_enabled: boolean;
  notification_chat_id: bigint | null;
  grace_period_hours: number;
  trial_min_account_age_days: number | null;
  bot_rights: Record<string, unknown> | null;
  bot_rights_checked_at: Date | null;
  schedule_enabled: boolean;
  schedule_disabled_reason: DisabledReason | null;
  schedule_interval_minutes: number;
  schedule_next_run_at: Date;
  schedule_last_succeeded_at: Date | null;
  schedule_consecutive_failures: number;
  schedule_last_error: string | null;
  last_manual_trigger_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const CHANNEL_COLUMNS = `c.id, c.owner_account_id, c.status, c.open_chat_id, c.closed_chat_id, c.open_title, c.closed_title,
  c.open_description, c.closed_description, c.payout_currency, c.payout_network, ${storedWalletColumns('c.payout_wallet', 'c.payout_extra_id')},
  c.payout_strategy, c.payout_threshold_cents, c.underpayment_tolerance_bps, c.donations_enabled, c.donation_min_cents,
  c.donation_max_cents, c.donation_message, c.notifications_enabled, c.notification_chat_id, c.grace_period_hours, c.trial_min_account_age_days, c.bot_rights,
  c.bot_rights_checked_at, b.is_enabled AS schedule_enabled, b.disabled_reason AS schedule_disabled_reason,
  b.interval_minutes AS schedule_interval_minutes, b.next_run_at AS schedule_next_run_at, b.last_succeeded_at AS schedule_last_succeeded_at,
  b.consecutive_failures AS schedule_consecutive_failures, b.last_error AS schedule_last_error, b.last_manual_trigger_at,
  c.created_at, c.updated_at`;

const optionalDate = (value: Date | string | null) => (value === null ? null : new Date(value));

const optionalBigInt = (value: bigint | number | string | null) => (value === null ? null : BigInt(value));

/** The uuid behind a `ch_…` id; anything else is simply not found (an id names, it does not reveal). */
export function channelUuid(publicId: unknown): string {
  try {
    return parsePublicId('channel', publicId);
  } catch {
    throw channelNotFound();
  }
}

/** Answered as 404 both for a channel that does not exist and for another account's channel. */
export function channelNotFound(): PermanentError {
  return channelError('channel_not_found', 'No channel with this id exists in your account.');
}

/**
 * The uuid of the account's channel named by a `ch_…` id, deleted channels included (their
 * payments and payouts stay visible). @throws PermanentError `channel_not_found`.
 */
export async function resolveOwnedChannelId(q: Queryable, accountId: string, channelPublicId: string): Promise<string> {
  const channelId = channelUuid(channelPublicId);
  const { rows } = await q.query('SELECT 1 FROM channels WHERE id = $1 AND owner_account_id = $2', [channelId, accountId]);
  if (rows.length === 0) throw channelNotFound();
  return channelId;
}

async function tiersOf(q: Queryable, channelIds: string[]): Promise<Map<string, ChannelSettings['tiers']>> {
  const byChannel = new Map<string, ChannelSettings['tiers']>(channelIds.map((id) => [id, []]));
  if (channelIds.length === 0) return byChannel;
  const { rows } = await q.query<{ channel_id: string; price_cents: bigint; duration_days: number; trial_days: number }>(
    `SELECT channel_id, price_cents, duration_days, trial_days FROM channel_tiers
      WHERE channel_id = ANY($1::uuid[]) AND is_active ORDER BY channel_id, tier_number`,
    [channelIds],
  );
  for (const row of rows) {
    byChannel.get(row.channel_id)?.push({ priceCents: BigInt(row.price_cents), durationDays: Number(row.duration_days), trialDays: Number(row.trial_days) });
  }
  return byChannel;
}

function fromRow(row: ChannelRow, tiers: ChannelSettings['tiers']): StoredChannel {
  const threshold = optionalBigInt(row.payout_threshold_cents);
  // The owner's own channel: its wallet is opened for the dashboard (which holds the field keys).
  const wallet = openWallet(row.owner_account_id, storedWalletOf(row as unknown as Record<string, unknown>, 'payout_wallet', 'payout_extra_id'));
  return {
    id: row.id,
    ownerAccountId: row.owner_account_id,
    status: row.status,
    settings: {
      openChat: { id: BigInt(row.open_chat_id), title: row.open_title, description: row.open_description },
      closedChat: { id: BigInt(row.closed_chat_id), title: row.closed_title, description: row.closed_description },
      tiers,
      donations: {
        enabled: row.donations_enabled,
        minCents: optionalBigInt(row.donation_min_cents),
        maxCents: optionalBigInt(row.donation_max_cents),
        message: row.donation_message,
      },
      payoutDestination: { currency: row.payout_currency, network: row.payout_network, wallet: wallet.wallet, extraId: wallet.extraId },
      payoutStrategy: row.payout_strategy === 'threshold' && threshold !== null ? { strategy: 'threshold', thresholdCents: threshold } : { strategy: 'instant' },
      underpaymentToleranceBps: Number(row.underpayment_tolerance_bps),
      notifications: { enabled: row.notifications_enabled, chatId: optionalBigInt(row.notification_chat_id) },
      gracePeriodHours: Number(row.grace_period_hours),
      trialMinAccountAgeDays: row.trial_min_account_age_days === null ? null : Number(row.trial_min_account_age_days),
    },
    botRights: row.bot_rights,
    botRightsCheckedAt: optionalDate(row.bot_rights_checked_at),
    schedule: {
      isEnabled: row.schedule_enabled,
      disabledReason: row.schedule_disabled_reason,
      intervalMinutes: Number(row.schedule_interval_minutes),
      nextRunAt: new Date(row.schedule_next_run_at),
      lastSucceededAt: optionalDate(row.schedule_last_succeeded_at),
      consecutiveFailures: Number(row.schedule_consecutive_failures),
      lastError: row.schedule_last_error,
      lastManualTriggerAt: optionalDate(row.last_manual_trigger_at),
    },
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/**
 * The account's live channel with this uuid, optionally row-locked (`FOR NO KEY UPDATE`, inside a
 * transaction). Another account's channel and a deleted one are `channel_not_found`.
 */
export async function findOwnedChannel(q: Queryable, accountId: string, channelId: string, options: { lock?: boolean } = {}): Promise<StoredChannel> {
  const { rows } = await q.query<ChannelRow>(
    `SELECT ${CHANNEL_COLUMNS} FROM channels c JOIN broadcast_schedules b ON b.channel_id = c.id
      WHERE c.id = $1 AND c.owner_account_id = $2 AND c.deleted_at IS NULL${options.lock ? ' FOR NO KEY UPDATE OF c' : ''}`,
    [channelId, accountId],
  );
  const row = rows[0];
  if (!row) throw channelNotFound();
  const tiers = await tiersOf(q, [row.id]);
  return fromRow(row, tiers.get(row.id) ?? []);
}

/** The account's live channels, oldest first. */
export async function findOwnedChannels(q: Queryable, accountId: string): Promise<StoredChannel[]> {
  const { rows } = await q.query<ChannelRow>(
    `SELECT ${CHANNEL_COLUMNS} FROM channels c JOIN broadcast_schedules b ON b.channel_id = c.id
      WHERE c.owner_account_id = $1 AND c.deleted_at IS NULL ORDER BY c.created_at, c.id`,
    [accountId],
  );
  const tiers = await tiersOf(
    q,
    rows.map((row) => row.id),
  );
  return rows.map((row) => fromRow(row, tiers.get(row.id) ?? []));
}

/**
 * Column values for `settings`, in the order of `SETTINGS_COLUMNS`. The wallet is sealed for the
 * owner on every write (a fresh ciphertext; whether it changed is decided on clear values).
 */
export function settingsValues(settings: ChannelSettings, ownerAccountId: string): unknown[] {
  const { openChat, closedChat, donations, payoutDestination, payoutStrategy, notifications } = settings;
  return [
    openChat.id.toString(),
    closedChat.id.toString(),
    openChat.title,
    closedChat.title,
    openChat.description,
    closedChat.description,
    payoutDestination.currency,
    payoutDestination.network,
    ...storedWalletValues(sealWallet(ownerAccountId, payoutDestination.wallet, payoutDestination.extraId)),
    payoutStrategy.strategy,
    payoutStrategy.strategy === 'threshold' ? payoutStrategy.thresholdCents.toString() : null,
    settings.underpaymentToleranceBps,
    donations.enabled,
    donations.minCents?.toString() ?? null,
    donations.maxCents?.toString() ?? null,
    donations.message,
    notifications.enabled,
    notifications.chatId?.toString() ?? null,
    settings.gracePeriodHours,
    settings.trialMinAccountAgeDays,
  ];
}

export const SETTINGS_COLUMNS = [
  'open_chat_id',
  'closed_chat_id',
  'open_title',
  'closed_title',
  'open_description',
  'closed_description',
  'payout_currency',
  'payout_network',
  'payout_wallet',
  'payout_extra_id',
  'payout_wallet_ciphertext',
  'payout_wallet_index',
  'payout_wallet_hint',
  'payout_extra_id_ciphertext',
  'payout_extra_id_index',
  'payout_strategy',
  'payout_threshold_cents',
  'underpayment_tolerance_bps',
  'donations_enabled',
  'donation_min_cents',
  'donation_max_cents',
  'donation_message',
  'notifications_enabled',
  'notification_chat_id',
  'grace_period_hours',
  'trial_min_account_age_days',
] as const;

/**
 * Makes tiers 1..n exactly `tiers` and retires the rest (`is_active = false`; tier rows are never
 * deleted because checkouts point at them). Checkouts snapshot their price, so open ones keep theirs.
 */
export async function replaceTiers(tx: Tx, channelId: string, tiers: ChannelSettings['tiers'], at: Date): Promise<void> {
  for (const [index, tier] of tiers.entries()) {
    await tx.query(
      `INSERT INTO channel_tiers (channel_id, tier_number, price_cents, duration_days, trial_days, is_active, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $6, true, $5, $5)
       ON CONFLICT (channel_id, tier_number) DO UPDATE
         SET price_cents = EXCLUDED.price_cents, duration_days = EXCLUDED.duration_days, trial_days = EXCLUDED.trial_days, is_active = true,
             updated_at = EXCLUDED.updated_at`,
      [channelId, index + 1, tier.priceCents.toString(), tier.durationDays, at, tier.trialDays],
    );
  }
  await tx.query('UPDATE channel_tiers SET is_active = false, updated_at = $3 WHERE channel_id = $1 AND tier_number > $2 AND is_active', [
    channelId,
    tiers.length,
    at,
  ]);
}

function chatRightsResource(stored: unknown): { missing: string[] } {
  const parsed = StoredChatRightsSchema.safeParse(stored);
  return { missing: parsed.success ? parsed.data.missing : ['unknown'] };
}

/** The channel's links (and each active tier's), or null when the bot's username is unknown. */
function subscribeLinksResource(channel: StoredChannel, botUsername: string | undefined): ChannelResource['subscribeLinks'] {
  if (botUsername === undefined) return null;
  return {
    channel: { url: subscribeLink(botUsername, channel.id), startParameter: subscribeStartPayload(channel.id) },
    // Active tiers are numbered 1..n (`replaceTiers`), so the position is the tier number.
    tiers: channel.settings.tiers.map((_, index) => ({
      tierNumber: index + 1,
      url: subscribeLink(botUsername, channel.id, index + 1),
      startParameter: subscribeStartPayload(channel.id, index + 1),
    })),
  };
}

function broadcastResource(schedule: StoredSchedule, now: Date): ChannelResource['broadcast'] {
  const cooldownEnds = schedule.lastManualTriggerAt === null ? null : new Date(schedule.lastManualTriggerAt.getTime() + BROADCAST_COOLDOWN_SECONDS * 1000);
  return {
    enabled: schedule.isEnabled,
    disabledReason: schedule.disabledReason,
    intervalHours: schedule.intervalMinutes / 60,
    // A disabled row keeps its last due time, which would read as a promise of a post.
    nextRunAt: schedule.isEnabled ? schedule.nextRunAt.toISOString() : null,
    lastPostedAt: schedule.lastSucceededAt?.toISOString() ?? null,
    consecutiveFailures: schedule.consecutiveFailures,
    lastError: schedule.lastError,
    lastManualTriggerAt: schedule.lastManualTriggerAt?.toISOString() ?? null,
    manualTriggerAvailableAt: cooldownEnds !== null && cooldownEnds > now ? cooldownEnds.toISOString() : null,
  };
}

/**
 * The API form of a stored channel: public ids, decimal strings for money and chat ids, subscribe
 * links made with `botUsername` (undefined: `subscribeLinks: null`).
 */
export function channelResource(channel: StoredChannel, now: Date, botUsername: string | undefined): ChannelResource {
  const { settings } = channel;
  const chat = (value: ChannelSettings['openChat']) => ({ id: value.id.toString(), title: value.title, description: value.description });
  return {
    id: formatPublicId('channel', channel.id),
    status: channel.status,
    openChat: chat(settings.openChat),
    closedChat: chat(settings.closedChat),
    tiers: settings.tiers.map((tier, index) => ({ tierNumber: index + 1, priceUsd: formatUsdCents(tier.priceCents), durationDays: tier.durationDays, trialDays: tier.trialDays })),
    donations: {
      enabled: settings.donations.enabled,
      minUsd: settings.donations.minCents === null ? null : formatUsdCents(settings.donations.minCents),
      maxUsd: settings.donations.maxCents === null ? null : formatUsdCents(settings.donations.maxCents),
      message: settings.donations.message,
    },
    payoutDestination: { ...settings.payoutDestination },
    payoutStrategy:
      settings.payoutStrategy.strategy === 'threshold'
        ? { strategy: 'threshold', thresholdUsd: formatUsdCents(settings.payoutStrategy.thresholdCents) }
        : { strategy: 'instant', thresholdUsd: null },
    underpaymentToleranceBps: settings.underpaymentToleranceBps,
    notifications: { enabled: settings.notifications.enabled, chatId: settings.notifications.chatId?.toString() ?? null },
    botRights:
      channel.botRightsCheckedAt === null
        ? null
        : { checkedAt: channel.botRightsCheckedAt.toISOString(), open: chatRightsResource(channel.botRights?.open), closed: chatRightsResource(channel.botRights?.closed) },
    gracePeriodHours: settings.gracePeriodHours,
    trialMinAccountAgeDays: settings.trialMinAccountAgeDays,
    subscribeLinks: subscribeLinksResource(channel, botUsername),
    broadcast: broadcastResource(channel.schedule, now),
    createdAt: channel.createdAt.toISOString(),
    updatedAt: channel.updatedAt.toISOString(),
  };
}

/** The schedule columns a new channel starts with: every 24 hours unless the owner chose otherwise or off. */
export function initialScheduleValues(intervalHours: number | null | undefined): { isEnabled: boolean; disabledReason: 'owner' | null; intervalMinutes: number } {
  if (intervalHours === null) return { isEnabled: false, disabledReason: 'owner', intervalMinutes: DEFAULT_BROADCAST_INTERVAL_MINUTES };
  return { isEnabled: true, disabledReason: null, intervalMinutes: (intervalHours ?? DEFAULT_BROADCAST_INTERVAL_MINUTES / 60) * 60 };
}
