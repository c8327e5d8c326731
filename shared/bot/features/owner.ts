import { Composer } from 'grammy';
import { type LinkRefusal, findActiveAccountIdByTelegramUser, redeemLinkCode } from '../../accounts/index.js';
import type { Clock } from '../../clock/index.js';
import type { Db } from '../../db/index.js';
import { profileOf } from './telegram-user.js';
import { listOwnerChannelFigures, setOwnerNotifications } from '../../channels/index.js';
import { balanceOf, ledgerAccountCodes, listChannelLedgerAssets } from '../../ledger/index.js';
import { formatUnits } from '../../money/index.js';
import type { BotContext } from '../context.js';
import { type ChannelSummaryLine, formatPrice, type MessageKey } from '../../texts/index.js';
import { featureBoundary } from './feature-boundary.js';

const DAY_MS = 86_400_000;
/** The revenue window of /channels. */
const REVENUE_DAYS = 30;

const REFUSAL_MESSAGES = {
  unknown: 'linkCodeUnknown',
  expired: 'linkCodeExpired',
  used: 'linkCodeUsed',
  account_inactive: 'linkAccountInactive',
  telegram_taken: 'linkTelegramTaken',
} as const satisfies Record<LinkRefusal, MessageKey>;

export interface OwnerChannelSummary {
  channelId: string;
  title: string;
  activeSubscribers: number;
  /** USD cents of settled, not refunded payments (subscriptions and donations) in the last 30 days. */
  revenue30DaysCents: bigint;
  /** What we owe the owner, per asset with a non-zero balance. */
  balances: { asset: string; symbol: string; decimals: number; units: bigint }[];
  isNotifying: boolean;
}

/** The figures /channels shows, per live channel of the account, oldest channel first. */
export async function summarizeOwnerChannels(deps: { db: Db; clock: Clock }, accountId: string): Promise<OwnerChannelSummary[]> {
  const now = deps.clock.now();
  const since = new Date(now.getTime() - REVENUE_DAYS * DAY_MS);
  const channels = await listOwnerChannelFigures(deps.db, accountId, { now, since });
  const summaries: OwnerChannelSummary[] = [];
  for (const channel of channels) {
    const accounts = await listChannelLedgerAssets(deps.db, channel.channelId);
    const balances: OwnerChannelSummary['balances'] = [];
    for (const account of accounts) {
      const units = await balanceOf(deps.db, ledgerAccountCodes.owner(channel.channelId, account.asset), account.asset);
      if (units !== 0n) balances.push({ asset: account.asset, symbol: account.symbol, decimals: Number(account.decimals), units });
    }
    summaries.push({
      channelId: channel.channelId,
      title: channel.title,
      activeSubscribers: channel.activeSubscribers,
      revenue30DaysCents: channel.revenueCents,
      balances,
      isNotifying: channel.isNotifying,
    });
  }
  return summaries;
}

/** The message line of one channel: price and amounts formatted, title raw (the message escapes it). */
export function channelSummaryLine(summary: OwnerChannelSummary): ChannelSummaryLine {
  return {
    title: summary.title,
    activeSubscribers: summary.activeSubscribers,
    revenue30Days: formatPrice(summary.revenue30DaysCents),
    balances: summary.balances.map((balance) => `${formatUnits(balance.units, balance.decimals)} ${balance.symbol}`),
  };
}

/**
 * The owner journey in private chats: `/start link_<code>` links the dashboard account,
 * `/channels` shows subscribers, revenue and balance, `/notifications on|off` switches payment DMs.
 * Other /start payloads fall through to the subscriber feature.
 */
export function ownerFeature(): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const dm = composer.errorBoundary(featureBoundary('owner')).chatType('private');

  dm.command('start', async (ctx, next) => {
    const payload = ctx.match.trim();
    if (!payload.startsWith('link_')) return next();
    const result = await redeemLinkCode(ctx.deps, { code: payload.slice('link_'.length), user: profileOf(ctx.from) });
    if (result.outcome === 'linked') {
      ctx.deps.logger.info('owner.telegram_linked', { accountId: result.accountId, telegramUserId: ctx.from.id });
      await ctx.reply(ctx.t('linkSuccess', result.emailHint), { parse_mode: 'HTML' });
      return;
    }
    ctx.deps.logger.warn('owner.link_refused', { reason: result.reason, telegramUserId: ctx.from.id });
    await ctx.reply(ctx.t(REFUSAL_MESSAGES[result.reason]));
  });

  dm.command('channels', async (ctx) => {
    const accountId = await findActiveAccountIdByTelegramUser(ctx.deps.db, ctx.from.id);
    if (!accountId) return void (await ctx.reply(ctx.t('ownerNotLinked')));
    const summaries = await summarizeOwnerChannels(ctx.deps, accountId);
    if (summaries.length === 0) return void (await ctx.reply(ctx.t('ownerNoChannels')));
    await ctx.reply(ctx.t('ownerChannels', summaries.map(channelSummaryLine)), { parse_mode: 'HTML' });
  });

  dm.command('notifications', async (ctx) => {
    const accountId = await findActiveAccountIdByTelegramUser(ctx.deps.db, ctx.from.id);
    if (!accountId) return void (await ctx.reply(ctx.t('ownerNotLinked')));
    const argument = ctx.match.trim().toLowerCase();
    if (argument === 'on' || argument === 'off') {
      const count = await setOwnerNotifications(ctx.deps, { accountId, isOn: argument === 'on', chatId: ctx.from.id });
      if (count === 0) return void (await ctx.reply(ctx.t('ownerNoChannels')));
      ctx.deps.logger.info('owner.notifications_set', { accountId, isOn: argument === 'on', channels: count });
      await ctx.reply(ctx.t(argument === 'on' ? 'notificationsTurnedOn' : 'notificationsTurnedOff', count));
      return;
    }
    if (argument !== '') return void (await ctx.reply(ctx.t('notificationsUsage')));
    const summaries = await summarizeOwnerChannels(ctx.deps, accountId);
    if (summaries.length === 0) return void (await ctx.reply(ctx.t('ownerNoChannels')));
    await ctx.reply(ctx.t('notificationsState', summaries.map((s) => ({ title: s.title, isOn: s.isNotifying }))), { parse_mode: 'HTML' });
  });

  return composer;
}
