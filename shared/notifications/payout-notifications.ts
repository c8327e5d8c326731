import { maskAddress } from '../wallets/index.js';
import type { OwnerNotificationRequested } from '../messages/index.js';
import { formatUnits, formatUsdCents, getAsset, isAssetCode } from '../money/index.js';
import { balanceOf, ledgerAccountCodes } from '../ledger/index.js';
import {
  hasReached,
  parseThresholdProgressSubject,
  percentOfThreshold,
  readThresholdProgress,
  thresholdNextStep,
  thresholdProgressKey,
  type ThresholdProgress,
} from '../payouts/threshold-progress.js';
import { languageOf, type PayoutFailureReason, type PayoutNoticeFacts, type ThresholdProgressFacts, translate } from '../texts/index.js';
import { type ChannelFacts, channelFacts, channelFactsSql, deliverOwnerMessage, finishedOutcome, outcomeOfStatus } from './owner-alerts.js';
import type { NotificationDeps } from './owner-notifications.js';
import { ownerNoticeClaimUntil, sendPendingOwnerNotification } from './owner-notification-delivery.js';
import { notificationError } from './errors.js';

export const PAYOUT_NOTICE_KINDS = ['payout_completed', 'payout_failed', 'payout_held', 'balance_parked', 'threshold_progress'] as const;
type PayoutNoticeKind = (typeof PAYOUT_NOTICE_KINDS)[number];

export function isPayoutNoticeKind(kind: string): kind is PayoutNoticeKind {
  return (PAYOUT_NOTICE_KINDS as readonly string[]).includes(kind);
}

interface PayoutFacts {
  channel_id: string | null;
  state: string;
  asset: string;
  amount_units: string;
  destination_currency: string;
  destination_wallet: string | null;
  destination_wallet_hint: string | null;
  failure_code: string | null;
  received_to_amount: string | null;
  payout_hash: string | null;
  tx_hash: string | null;
}

const FAILURE_REASONS: Record<string, PayoutFailureReason> = {
  changenow_invalid_address: 'wallet',
  invalid_wallet_address: 'wallet',
  invalid_payout_extra_id: 'wallet',
  changenow_exchange_mismatch: 'exchange',
  changenow_amount_out_of_range: 'amount',
  changenow_pair_inactive: 'pair',
  unsupported_payout_option: 'unsupported',
  unsupported_payout_asset: 'pair',
  swap_failed: 'exchange',
  transfer_reverted: 'chain',
  deferral_limit_reached: 'small',
};

function failureReasonOf(payout: PayoutFacts): PayoutFailureReason {
  if (payout.state === 'cancelled') return 'rejected';
  if (payout.state === 'refunded') return 'exchange';
  return FAILURE_REASONS[payout.failure_code ?? ''] ?? 'other';
}

function formatAmount(asset: string, units: string): string {
  if (!isAssetCode(asset)) return `${units} ${asset}`;
  return `${formatUnits(BigInt(units), getAsset(asset).decimals)} ${getAsset(asset).symbol}`;
}

/**
 * The owner's message about a payout, composed from the payout row when it is sent (not from the
 * message): sent, not sent (and why, with the amount back on the balance), or held for review.
 * A failed or held payout reaches the owner even with payment notifications off (it is about their
 * money and may need them to fix the wallet); a completed one follows the notifications setting.
 */
export async function notifyOwnerOfPayout(
  deps: NotificationDeps,
  request: OwnerNotificationRequested & { kind: PayoutNoticeKind },
): Promise<'sent' | 'skipped' | 'already_done'> {
  if (request.kind === 'balance_parked') return notifyOwnerOfParking(deps, request);
  if (request.kind === 'threshold_progress') return notifyOwnerOfThresholdProgress(deps, request);
  const dedupeKey = `${request.kind}:${request.subjectId}`;
  const now = deps.clock.now();
  // One statement: the payout, its channel's facts, and the notice's row: created (pending; skipped
  // for a completed payout when the owner turned notifications off) when the payout is this
  // channel's and there is someone to tell, or as an earlier delivery left it.
  const { rows } = await deps.db.query<
    PayoutFacts &
      (ChannelFacts | { [K in keyof ChannelFacts]: null }) & { notice_id: string | null; notice_status: string | null; notice_chat_id: bigint | null; is_claimed: boolean }
  >(
    `WITH facts AS (
       SELECT p.channel_id, p.state, p.asset, p.amount_units::text, p.destination_currency, p.destination_wallet, p.destination_wallet_hint, p.failure_code,
              s.received_to_amount::text, s.payout_hash, coalesce(t.mined_tx_hash, t.tx_hash) AS tx_hash, f.*
         FROM (SELECT 1) AS one
         LEFT JOIN payouts p ON p.id = $1
         LEFT JOIN swaps s ON s.payout_id = p.id
         LEFT JOIN chain_transfers t ON t.payout_id = p.id
         LEFT JOIN LATERAL (${channelFactsSql('p.channel_id')}) f ON true),
     inserted AS (
       INSERT INTO owner_notifications (channel_id, kind, dedupe_key, chat_id, payout_id, status, created_at, updated_at, claimed_until)
       SELECT $3, $4, $2, destination, $1, CASE WHEN wanted THEN 'pending' ELSE 'skipped' END, $5, $5, CASE WHEN wanted THEN $6::timestamptz END
         FROM facts CROSS JOIN LATERAL (SELECT $4 <> 'payout_completed' OR notifications_enabled AS wanted) w
        WHERE channel_id = $3::uuid AND closed_title IS NOT NULL AND destination IS NOT NULL
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id, status, chat_id),
     notice AS (
       SELECT id, status, chat_id, true AS is_claimed FROM inserted
       UNION ALL
       SELECT id, status, chat_id, false FROM owner_notifications WHERE dedupe_key = $2 AND NOT EXISTS (SELECT 1 FROM inserted))
     SELECT facts.*, notice.id AS notice_id, notice.status AS notice_status, notice.chat_id AS notice_chat_id, coalesce(notice.is_claimed, false) AS is_claimed
       FROM facts LEFT JOIN notice ON true`,
    [request.subjectId, dedupeKey, request.channelId, request.kind, now, ownerNoticeClaimUntil(now)],
  );
  const row = rows[0] as (typeof rows)[number];
  const done = outcomeOfStatus(row.notice_status);
  if (done) return done;
  const payout = row;
  if (payout.channel_id === null || payout.channel_id !== request.channelId) {
    throw notificationError('unknown_payout', 'No payout of this channel has this id', { payoutId: request.subjectId, channelId: request.channelId });
  }
  if (row.closed_title === null) throw notificationError('unknown_channel', 'No channel has this id', { channelId: request.channelId });
  const channel: ChannelFacts = row;
  if (!channel.destination) {
    deps.logger.warn('owner_notification.no_chat', { channelId: request.channelId, kind: request.kind });
    return 'skipped';
  }
  if (row.notice_id === null || row.notice_chat_id === null) {
    // A concurrent delivery inserted the row while this statement ran: its answer decides.
    throw notificationError('owner_notification_in_progress', 'Another delivery of this notification is running', { dedupeKey });
  }

  const isSwap = payout.received_to_amount !== null || payout.payout_hash !== null;
  const facts: PayoutNoticeFacts = {
    channelTitle: channel.closed_title,
    amount: formatAmount(payout.asset, payout.amount_units),
    received: payout.received_to_amount === null ? null : `${payout.received_to_amount} ${payout.destination_currency}`,
    // Owners are shown only a masked wallet (the wallet is sealed at rest; this stage holds no key).
    wallet: payout.destination_wallet_hint ?? maskAddress(payout.destination_wallet),
    txHash: isSwap ? payout.payout_hash : payout.tx_hash,
  };
  const language = languageOf(channel.language_code);
  const text =
    request.kind === 'payout_completed'
      ? translate(language, 'payoutCompleted', facts)
      : request.kind === 'payout_failed'
        ? translate(language, 'payoutFailed', facts, failureReasonOf(payout))
        : translate(language, 'payoutHeld', facts);
  return sendPendingOwnerNotification(deps, request, { id: row.notice_id, chatId: row.notice_chat_id, isClaimed: row.is_claimed }, text, { isLinkPreviewShown: false });
}

/**
 * "Your ETH was parked in USDT": the owner's share of a distributed conversion batch, with their
 * USDT balance against their threshold. Follows the payment notifications setting.
 */
async function notifyOwnerOfParking(deps: NotificationDeps, request: OwnerNotificationRequested): Promise<'sent' | 'skipped' | 'already_done'> {
  const dedupeKey = `balance_parked:${request.subjectId}:${request.channelId}`;
  const done = await finishedOutcome(deps, dedupeKey);
  if (done) return done;
  const { rows } = await deps.db.query<{ from_units: string; to_units: string | null; state: string; notifications_enabled: boolean; payout_threshold_cents: bigint | null }>(
    `SELECT s.from_units::text, s.to_units::text, b.state, c.notifications_enabled, c.payout_threshold_cents
       FROM conversion_batch_shares s JOIN conversion_batches b ON b.id = s.batch_id JOIN channels c ON c.id = s.channel_id
      WHERE s.batch_id = $1 AND s.channel_id = $2`,
    [request.subjectId, request.channelId],
  );
  const share = rows[0];
  if (!share || share.state !== 'distributed' || share.to_units === null) {
    throw notificationError('unknown_conversion_share', 'No distributed conversion share for this channel and batch', { batchId: request.subjectId, channelId: request.channelId });
  }
  const channel = await channelFacts(deps, request.channelId);
  if (!channel.destination) return 'skipped';
  const balance = await balanceOf(deps.db, ledgerAccountCodes.owner(request.channelId, 'USDT_ERC20'), 'USDT_ERC20');
  const text = share.notifications_enabled
    ? translate(languageOf(channel.language_code), 'balanceParked', {
        channelTitle: channel.closed_title,
        converted: formatAmount('ETH', share.from_units),
        received: formatAmount('USDT_ERC20', share.to_units),
        balance: `$${formatUsdCents(balance / 10_000n)}`,
        threshold: share.payout_threshold_cents === null ? '—' : `$${formatUsdCents(share.payout_threshold_cents)}`,
      })
    : undefined;
  return deliverOwnerMessage(deps, request, { dedupeKey, chatId: channel.destination, text });
}

/**
 * "Halfway to your payout" / "payout threshold reached" (`threshold_progress`, subject
 * `<cycle>:<mark>`, queued by settle-payment): composed from the balance as it is now, so it is
 * dropped (recorded as skipped) when it no longer holds by the time it would go out:
 * - the cycle is over (a payout took the balance; the owner hears about that payout instead);
 * - the balance is back below the mark (a refund undid the crossing, or the threshold was raised):
 *   the mark stays used for the cycle, so the owner is not told twice about the same step;
 * - the 50 % message when the balance has meanwhile reached 100 % (that message says it all);
 * - the channel left the threshold strategy.
 * Follows the payment notifications setting, as payment news does.
 */
async function notifyOwnerOfThresholdProgress(deps: NotificationDeps, request: OwnerNotificationRequested): Promise<'sent' | 'skipped' | 'already_done'> {
  const subject = parseThresholdProgressSubject(request.subjectId);
  if (!subject) throw notificationError('invalid_notification_subject', 'threshold_progress needs <cycle>:<50|100>', { subjectId: request.subjectId });
  const dedupeKey = thresholdProgressKey(request.channelId, subject.cycle, subject.mark);
  const done = await finishedOutcome(deps, dedupeKey);
  if (done) return done;
  const channel = await channelFacts(deps, request.channelId);
  if (!channel.destination) return 'skipped';
  const progress = await readThresholdProgress(deps.db, request.channelId);
  const stillHolds =
    channel.notifications_enabled &&
    progress?.isThreshold === true &&
    progress.cycle === subject.cycle &&
    hasReached(progress, subject.mark) &&
    (subject.mark === 100 || !hasReached(progress, 100));
  const text = stillHolds
    ? translate(languageOf(channel.language_code), 'thresholdProgress', await progressFacts(deps, channel.closed_title, progress, subject.mark))
    : undefined;
  if (!stillHolds) deps.logger.info('owner_notification.threshold_progress_dropped', { channelId: request.channelId, subjectId: request.subjectId });
  return deliverOwnerMessage(deps, request, { dedupeKey, chatId: channel.destination, text });
}

async function progressFacts(deps: NotificationDeps, channelTitle: string, progress: ThresholdProgress, mark: 50 | 100): Promise<ThresholdProgressFacts> {
  return {
    channelTitle,
    mark,
    balance: `$${formatUsdCents(progress.balanceCents)}`,
    threshold: `$${formatUsdCents(progress.thresholdCents)}`,
    percent: percentOfThreshold(progress).toString(),
    unparked: progress.ethUnits > 0n ? { amount: formatAmount('ETH', progress.ethUnits.toString()), value: `$${formatUsdCents(progress.ethCents)}` } : null,
    next: mark === 100 ? await thresholdNextStep(deps.db, progress, deps.clock.now()) : null,
  };
}
