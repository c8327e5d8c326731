import type * as z from 'zod';
import type { Queryable } from '../db/index.js';
import { PermanentError } from '../errors/index.js';
import { formatUsdCents, parseUsdCents } from '../money/index.js';
import { validatePayoutAddress } from '../wallets/payout-address.js';
import type { CreateChannelInput, PayoutDestinationInput, UpdateChannelInput } from './channel-schemas.js';
import { channelError } from './errors.js';

/** Live (not deleted) channels one account may have. */
export const MAX_CHANNELS_PER_ACCOUNT = 10;

/** Configured floors (`MIN_TIER_PRICE_CENTS`, `MIN_PAYOUT_THRESHOLD_CENTS`). */
export interface ChannelLimits {
  /** Lowest tier price, and lowest donation minimum, in USD cents. */
  minTierPriceCents: bigint;
  /** Lowest threshold for threshold payouts, in USD cents. */
  minPayoutThresholdCents: bigint;
}

export type PayoutStrategySetting = { strategy: 'instant' } | { strategy: 'threshold'; thresholdCents: bigint };

/** A channel's settings in our units (cents, bigint chat ids), before or after they are stored. */
export interface ChannelSettings {
  openChat: { id: bigint; title: string; description: string };
  closedChat: { id: bigint; title: string; description: string };
  /** `trialDays`: the tier's free trial (0–30, 0 = none). */
  tiers: { priceCents: bigint; durationDays: number; trialDays: number }[];
  donations: { enabled: boolean; minCents: bigint | null; maxCents: bigint | null; message: string | null };
  payoutDestination: { currency: string; network: string; wallet: string; extraId: string | null };
  payoutStrategy: PayoutStrategySetting;
  underpaymentToleranceBps: number;
  notifications: { enabled: boolean; chatId: bigint | null };
  /** Hours a member stays after their access ended (0–72). */
  gracePeriodHours: number;
  /** Trials only for Telegram accounts known this many days (1–365); null = any. */
  trialMinAccountAgeDays: number | null;
}

/** One invalid field: a dotted path into the request body and a sentence saying how to fix it. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** Problems as the error envelope's `fields`: path → message (two messages for one path are joined). */
export function fieldsRecord(problems: readonly FieldProblem[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const { path, message } of problems) fields[path] = fields[path] === undefined ? message : `${fields[path]}; ${message}`;
  return fields;
}

/** The error for invalid input: `validation_failed` with `fields` (answered as 400). */
export function validationError(problems: FieldProblem[]): PermanentError {
  const first = problems[0];
  const summary = first ? `${first.path}: ${first.message}` : 'invalid input';
  return channelError('validation_failed', `The channel settings are invalid (${summary}); see fields.`, { fields: fieldsRecord(problems) });
}

/** zod may report one mistake twice (a failed regex and a failed refine with the same message). */
function uniqueProblems<P extends { path: string; message: string }>(problems: P[]): P[] {
  return problems.filter((problem, index) => problems.findIndex((other) => other.path === problem.path && other.message === problem.message) === index);
}

/** Parses with a request schema; a mismatch becomes `validation_failed` with one problem per issue. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw validationError(uniqueProblems(parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(body)', message: issue.message }))));
}

const DEFAULT_TOLERANCE_BPS = 9800;

function chatSettings(chat: { id: string; title: string; description?: string | undefined }) {
  return { id: BigInt(chat.id), title: chat.title.trim(), description: chat.description ?? '' };
}

function donationSettings(input: CreateChannelInput['donations']): ChannelSettings['donations'] {
  if (!input) return { enabled: false, minCents: null, maxCents: null, message: null };
  return {
    enabled: input.enabled,
    minCents: input.minUsd === undefined ? null : parseUsdCents(input.minUsd),
    maxCents: input.maxUsd === undefined ? null : parseUsdCents(input.maxUsd),
    message: input.message === undefined ? null : input.message.trim(),
  };
}

function destinationSettings(input: PayoutDestinationInput): ChannelSettings['payoutDestination'] {
  return { currency: input.currency, network: input.network, wallet: input.wallet, extraId: input.extraId === undefined || input.extraId === '' ? null : input.extraId };
}

function strategySettings(input: CreateChannelInput['payoutStrategy']): PayoutStrategySetting {
  return input.strategy === 'instant' ? { strategy: 'instant' } : { strategy: 'threshold', thresholdCents: parseUsdCents(input.thresholdUsd) };
}

function notificationSettings(input: CreateChannelInput['notifications'], linkedTelegramUserId: bigint): ChannelSettings['notifications'] {
  if (!input) return { enabled: false, chatId: null };
  const chatId = input.chatId === undefined || input.chatId === null ? null : BigInt(input.chatId);
  // Switching notifications on without a chat means "to me": the linked Telegram account.
  return { enabled: input.enabled, chatId: chatId ?? (input.enabled ? linkedTelegramUserId : null) };
}

/** A create request in our units. The caller has parsed it with `CreateChannelInputSchema`. */
export function settingsFromCreateInput(input: CreateChannelInput, linkedTelegramUserId: bigint): ChannelSettings {
  return {
    openChat: chatSettings(input.openChat),
    closedChat: chatSettings(input.closedChat),
    tiers: input.tiers.map((tier) => ({ priceCents: parseUsdCents(tier.priceUsd), durationDays: tier.durationDays, trialDays: tier.trialDays ?? 0 })),
    donations: donationSettings(input.donations),
    payoutDestination: destinationSettings(input.payoutDestination),
    payoutStrategy: strategySettings(input.payoutStrategy),
    underpaymentToleranceBps: input.underpaymentToleranceBps ?? DEFAULT_TOLERANCE_BPS,
    notifications: notificationSettings(input.notifications, linkedTelegramUserId),
    gracePeriodHours: input.gracePeriodHours ?? 0,
    trialMinAccountAgeDays: input.trialMinAccountAgeDays ?? null,
  };
}

/** The stored settings with an update applied: sections given replace, chat fields merge. */
export function mergeSettings(current: ChannelSettings, patch: UpdateChannelInput, linkedTelegramUserId: bigint): ChannelSettings {
  const chat = (base: ChannelSettings['openChat'], change: UpdateChannelInput['openChat']) => ({
    id: change?.id === undefined ? base.id : BigInt(change.id),
    title: change?.title === undefined ? base.title : change.title.trim(),
    description: change?.description ?? base.description,
  });
  return {
    openChat: chat(current.openChat, patch.openChat),
    closedChat: chat(current.closedChat, patch.closedChat),
    tiers: patch.tiers ? patch.tiers.map((tier) => ({ priceCents: parseUsdCents(tier.priceUsd), durationDays: tier.durationDays, trialDays: tier.trialDays ?? 0 })) : current.tiers,
    donations: patch.donations ? donationSettings(patch.donations) : current.donations,
    payoutDestination: patch.payoutDestination ? destinationSettings(patch.payoutDestination) : current.payoutDestination,
    payoutStrategy: patch.payoutStrategy ? strategySettings(patch.payoutStrategy) : current.payoutStrategy,
    underpaymentToleranceBps: patch.underpaymentToleranceBps ?? current.underpaymentToleranceBps,
    notifications: patch.notifications ? notificationSettings(patch.notifications, linkedTelegramUserId) : current.notifications,
    gracePeriodHours: patch.gracePeriodHours ?? current.gracePeriodHours,
    trialMinAccountAgeDays: patch.trialMinAccountAgeDays === undefined ? current.trialMinAccountAgeDays : patch.trialMinAccountAgeDays,
  };
}

/**
 * The rules a whole channel must meet, on create and on the merged result of every update (so an
 * update cannot leave a threshold below the minimum or donations without bounds). Returns every
 * problem, not just the first. Wallet checks need the database: see `checkPayoutDestination`.
 */
export function checkChannelSettings(settings: ChannelSettings, limits: ChannelLimits): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const minPrice = formatUsdCents(limits.minTierPriceCents);
  if (settings.openChat.id === settings.closedChat.id) {
    problems.push({ path: 'closedChat.id', message: 'the closed chat must be another chat than the open one' });
  }
  settings.tiers.forEach((tier, index) => {
    if (tier.priceCents < limits.minTierPriceCents) problems.push({ path: `tiers.${index}.priceUsd`, message: `must be at least ${minPrice}` });
    // channel_tiers.price_cents CHECK: at most $100,000.
    if (tier.priceCents > 10_000_000n) problems.push({ path: `tiers.${index}.priceUsd`, message: 'must be at most 100000.00' });
  });
  const { donations } = settings;
  if (donations.enabled && (donations.minCents === null || donations.maxCents === null)) {
    problems.push({ path: 'donations', message: 'give minUsd and maxUsd when donations are enabled' });
  }
  if (donations.minCents !== null && donations.minCents < limits.minTierPriceCents) {
    problems.push({ path: 'donations.minUsd', message: `must be at least ${minPrice}` });
  }
  if (donations.minCents !== null && donations.maxCents !== null && donations.minCents > donations.maxCents) {
    problems.push({ path: 'donations.maxUsd', message: 'must not be below minUsd' });
  }
  if (settings.payoutStrategy.strategy === 'threshold' && settings.payoutStrategy.thresholdCents < limits.minPayoutThresholdCents) {
    problems.push({ path: 'payoutStrategy.thresholdUsd', message: `must be at least ${formatUsdCents(limits.minPayoutThresholdCents)}` });
  }
  if (settings.notifications.enabled && settings.notifications.chatId === null) {
    problems.push({ path: 'notifications.chatId', message: 'give the chat that receives notifications' });
  }
  return problems;
}

/**
 * Checks a payout destination: the (currency, network) pair is one we pay out (enabled in
 * `payout_options`, unless `allowDisabled` because the channel already uses it), and the wallet and
 * memo pass that network's rules with checksums. Returns the destination to store (normalized
 * address) or the problems.
 */
export async function checkPayoutDestination(
  q: Queryable,
  destination: ChannelSettings['payoutDestination'],
  options: { allowDisabled: boolean },
): Promise<{ destination: ChannelSettings['payoutDestination']; problems: FieldProblem[] }> {
  const { rows } = await q.query<{ is_enabled: boolean }>('SELECT is_enabled FROM payout_options WHERE currency = $1 AND network = $2', [
    destination.currency,
    destination.network,
  ]);
  const option = rows[0];
  if (!option || (!option.is_enabled && !options.allowDisabled)) {
    const { rows: enabled } = await q.query<{ pair: string }>(
      `SELECT currency || ' on ' || network AS pair FROM payout_options WHERE is_enabled ORDER BY network, currency`,
    );
    return {
      destination,
      problems: [{ path: 'payoutDestination.currency', message: `this currency and network are not offered; choose one of: ${enabled.map((row) => row.pair).join(', ')}` }],
    };
  }
  const check = validatePayoutAddress({ currency: destination.currency, network: destination.network, address: destination.wallet, extraId: destination.extraId });
  if (!check.isValid) {
    const path = check.code === 'invalid_payout_extra_id' ? 'payoutDestination.extraId' : check.code === 'unsupported_payout_option' ? 'payoutDestination.currency' : 'payoutDestination.wallet';
    return { destination, problems: [{ path, message: check.reason }] };
  }
  return { destination: { ...destination, wallet: check.address, extraId: check.extraId }, problems: [] };
}
