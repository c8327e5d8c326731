import { recordAuditEvent } from '../audit/index.js';
import type { Tx } from '../db/index.js';
import { formatUsdCents } from '../money/index.js';
import { maskAddress } from '../wallets/index.js';
import type { ChannelSettings } from './channel-rules.js';

/**
 * What channel changes leave in `audit_log`: field names and masked wallets, never a full payout
 * address. Written in the transaction of the change.
 */

/** Payout settings of a new channel, for `channel.created`. */
export function payoutDetails(settings: ChannelSettings): Record<string, unknown> {
  const { payoutDestination: destination, payoutStrategy: strategy } = settings;
  return {
    payoutCurrency: destination.currency,
    payoutNetwork: destination.network,
    payoutWallet: maskAddress(destination.wallet),
    payoutStrategy: strategy.strategy,
    payoutThresholdUsd: strategy.strategy === 'threshold' ? formatUsdCents(strategy.thresholdCents) : null,
  };
}

export const sameDestination = (a: ChannelSettings['payoutDestination'], b: ChannelSettings['payoutDestination']) =>
  a.currency === b.currency && a.network === b.network && a.wallet === b.wallet && a.extraId === b.extraId;

const sameStrategy = (a: ChannelSettings['payoutStrategy'], b: ChannelSettings['payoutStrategy']) =>
  a.strategy === b.strategy && (a.strategy === 'instant' || (b.strategy === 'threshold' && a.thresholdCents === b.thresholdCents));

/** Whether `after` pays out elsewhere or otherwise than `before` (what needs re-authentication). */
export function isPayoutChanged(before: ChannelSettings, after: ChannelSettings): boolean {
  return !sameDestination(before.payoutDestination, after.payoutDestination) || !sameStrategy(before.payoutStrategy, after.payoutStrategy);
}

/**
 * `channel.updated` with the sections given, plus `channel.wallet_changed` and
 * `channel.payout_settings_changed` (before and after) when those changed.
 */
export async function auditChannelUpdate(
  tx: Tx,
  input: { actor: { accountId: string; requestId?: string | undefined; ip?: string | undefined }; channelId: string; now: Date; before: ChannelSettings; after: ChannelSettings; sections: string[] },
): Promise<void> {
  const base = {
    occurredAt: input.now,
    actor: { type: 'account' as const, id: input.actor.accountId },
    subject: { type: 'channel', id: input.channelId },
    requestId: input.actor.requestId,
    ip: input.actor.ip,
  };
  await recordAuditEvent(tx, { ...base, action: 'channel.updated', details: { sections: input.sections } });
  if (!sameDestination(input.before.payoutDestination, input.after.payoutDestination)) {
    const side = (settings: ChannelSettings) => ({
      currency: settings.payoutDestination.currency,
      network: settings.payoutDestination.network,
      wallet: maskAddress(settings.payoutDestination.wallet),
      hasExtraId: settings.payoutDestination.extraId !== null,
    });
    await recordAuditEvent(tx, { ...base, action: 'channel.wallet_changed', details: { from: side(input.before), to: side(input.after) } });
  }
  if (!sameStrategy(input.before.payoutStrategy, input.after.payoutStrategy)) {
    const side = (settings: ChannelSettings) => ({
      strategy: settings.payoutStrategy.strategy,
      thresholdUsd: settings.payoutStrategy.strategy === 'threshold' ? formatUsdCents(settings.payoutStrategy.thresholdCents) : null,
    });
    await recordAuditEvent(tx, { ...base, action: 'channel.payout_settings_changed', details: { from: side(input.before), to: side(input.after) } });
  }
}
