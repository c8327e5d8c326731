import { deadLetterAction, enqueueMessage, recordDeadLetter } from '../bus/index.js';
import type { ChangeNowClient, ChangeNowExchangeStatus } from '../changenow/index.js';
import { type ChainTransfer, confirmTransfer, type TransferDeps } from '../chain/index.js';
import type { Tx } from '../db/index.js';
import { errorCode, isRetryable, PermanentError } from '../errors/index.js';
import { ledgerAccountCodes, postLedgerTransaction } from '../ledger/index.js';
import { getAsset, isAssetCode, parseUnits } from '../money/index.js';
import { transitionPayout } from './payout-state.js';
import { distributeConversion } from './conversion.js';
import { queuePayoutNotice } from './payout-notices.js';
import { isDirectPayout, type PayoutRow, retrievePayout, returnToOwners } from './payout-row.js';
import { broadcastPayoutTransfer } from './transfer.js';

export interface TrackPayoutsDeps extends TransferDeps {
  changenow: ChangeNowClient;
  /** Blocks a transfer needs, its own included (`PAYOUT_CONFIRMATIONS`). */
  confirmations: number;
}

export interface TrackPayoutsReport {
  /** Deferred payouts whose wait was over, sent back to quote-payout. */
  requeued: number;
  checked: number;
  completed: number;
  failed: number;
  errors: number;
}

/** Most payouts looked at per tick; the rest wait for the next minute. */
const BATCH_SIZE = 100;

/**
 * `track-payouts` (every minute): moves every payout whose transfer is out there towards a final state.
 *
 * - `transfer_signed`: re-broadcasts the stored bytes (a crash between signing and broadcasting).
 * - `transfer_broadcast`: once the transfer has `confirmations` blocks, books its gas as `network_fee`
 *   (expense:network_fees / hot_wallet, in ETH); a direct payout is then `completed`, a swap payout
 *   `awaiting_swap`. A reverted transfer fails the payout and gives the owner the amount back (it never
 *   left the hot wallet), with a CRITICAL alert.
 * - `awaiting_swap`: asks ChangeNow; `finished` records what the owner received and the payout hash and
 *   completes the payout; `failed`/`refunded` return the amount to the owner (what ChangeNow refunded
 *   back into the hot wallet, the rest as a swap loss) and alert the operator.
 *
 * One payout's failure does not stop the others; it is logged and retried on the next tick.
 */
export async function trackPayouts(deps: TrackPayoutsDeps): Promise<TrackPayoutsReport> {
  const requeued = await requeueDeferredPayouts(deps);
  const { rows } = await deps.db.query<{ id: string }>(
    `SELECT id FROM payouts WHERE state IN ('transfer_signed', 'transfer_broadcast', 'awaiting_swap')
      ORDER BY state_changed_at LIMIT ${BATCH_SIZE}`,
  );
  const report: TrackPayoutsReport = { requeued, checked: 0, completed: 0, failed: 0, errors: 0 };
  for (const { id } of rows) {
    report.checked += 1;
    try {
      const state = await trackPayout(deps, id);
      if (state === 'completed') report.completed += 1;
      if (state === 'failed' || state === 'refunded') report.failed += 1;
    } catch (error) {
      report.errors += 1;
      if (isRetryable(error)) {
        deps.log?.warn('payout.tracking_failed', { payoutId: id, code: errorCode(error), error });
        continue;
      }
      // A failure that will not go away (the payout's records contradict each other): kept once for
      // the operator as a dead letter; the payout stays where it is and later ticks stay quiet.
      const deadLetter = await recordDeadLetter(deps.db, {
        source: 'track-payouts',
        messageId: `payout:${id}:${errorCode(error)}`,
        reasonCode: errorCode(error),
        reason: error instanceof Error ? error.message : String(error),
        data: JSON.stringify({ payoutId: id }),
        at: deps.clock.now(),
      });
      if (deadLetter.outcome !== 'already_recorded') {
        deps.log?.critical('payout.tracking_dead_lettered', { payoutId: id, code: errorCode(error), error, deadLetterId: String(deadLetter.id), action: deadLetterAction(deadLetter.id) });
      }
    }
  }
  return report;
}

/**
 * Deferred payouts whose `deferred_until` has passed go back to `requested` and to quote-payout,
 * which decides afresh (the minimum or the gas price may have changed). Conditional, so two
 * overlapping ticks re-queue a payout once; the dedupe key names the deferral it ends.
 */
async function requeueDeferredPayouts(deps: TrackPayoutsDeps): Promise<number> {
  const now = deps.clock.now();
  const { rows } = await deps.db.query<{ id: string; deferred_until: Date }>(
    `SELECT id, deferred_until FROM payouts WHERE state = 'deferred' AND deferred_until <= $1 ORDER BY deferred_until LIMIT ${BATCH_SIZE}`,
    [now],
  );
  let requeued = 0;
  for (const row of rows) {
    const isRequeued = await deps.db.transaction(async (tx) => {
      const isMoved = await transitionPayout(tx, { payoutId: row.id, from: 'deferred', to: 'requested', at: now });
      if (isMoved) {
        await enqueueMessage(tx, 'payout-requested', { payoutId: row.id }, { at: now, dedupeKey: `payout-requeued:${row.id}:${row.deferred_until.toISOString()}` });
      }
      return isMoved;
    });
    if (isRequeued) {
      requeued += 1;
      deps.log?.info('payout.requeued', { payoutId: row.id });
    }
  }
  return requeued;
}

/** One tracking step for one payout; returns the state it is left in. */
export async function trackPayout(deps: TrackPayoutsDeps, payoutId: string): Promise<string> {
  let payout = await retrievePayout(deps.db, payoutId);
  if (payout.state === 'transfer_signed') {
    await broadcastPayoutTransfer(deps, payoutId);
    payout = await retrievePayout(deps.db, payoutId);
  }
  if (payout.state === 'transfer_broadcast') {
    await confirmPayoutTransfer(deps, payout);
    payout = await retrievePayout(deps.db, payoutId);
  }
  if (payout.state === 'awaiting_swap') {
    await followSwap(deps, payout);
    payout = await retrievePayout(deps.db, payoutId);
  }
  return payout.state;
}

async function confirmPayoutTransfer(deps: TrackPayoutsDeps, payout: PayoutRow): Promise<void> {
  const result = await confirmTransfer(deps, payout.id, { confirmations: deps.confirmations });
  if (result.state === 'pending') return;
  const at = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await postNetworkFee(tx, result.transfer, at);
    if (result.state === 'confirmed') {
      const to = isDirectPayout(payout) ? 'completed' : 'awaiting_swap';
      const isMoved = await transitionPayout(tx, { payoutId: payout.id, from: 'transfer_broadcast', to, at });
      if (isMoved && to === 'completed') await queuePayoutNotice(tx, payout, 'payout_completed', at);
      return;
    }
    const isFailed = await transitionPayout(tx, {
      payoutId: payout.id,
      from: 'transfer_broadcast',
      to: 'failed',
      at,
      failureCode: 'transfer_reverted',
      failureReason: `Transfer ${result.transfer.txHash} reverted on chain`,
    });
    // The asset never left the hot wallet: book it back there and owe it to the owner again.
    if (isFailed) {
      await returnToOwners(tx, payout, { at, kind: 'payout_returned', description: 'Transfer reverted', backInHotWallet: payout.amountUnits });
      await queuePayoutNotice(tx, payout, 'payout_failed', at);
    }
  });
  if (result.state === 'reverted') deps.log?.critical('payout.transfer_reverted', { payoutId: payout.id, txHash: result.transfer.txHash });
  else deps.log?.info('payout.transfer_confirmed', { payoutId: payout.id, txHash: result.transfer.txHash });
}

async function postNetworkFee(tx: Tx, transfer: ChainTransfer, at: Date): Promise<void> {
  if (transfer.feeUnits === null) throw new Error('postNetworkFee: a settled transfer has no fee');
  if (transfer.feeUnits === 0n) return;
  await postLedgerTransaction(tx, {
    kind: 'network_fee',
    idempotencyKey: `gas:${transfer.payoutId}`,
    occurredAt: at,
    payoutId: transfer.payoutId,
    description: `Gas of ${transfer.txHash}`,
    entries: [
      { account: ledgerAccountCodes.networkFees('ETH'), asset: 'ETH', amount: transfer.feeUnits },
      { account: ledgerAccountCodes.hotWallet('ETH'), asset: 'ETH', amount: -transfer.feeUnits },
    ],
  });
}

const SWAP_ROW_STATUS: Record<ChangeNowExchangeStatus['status'], string | null> = {
  awaiting_deposit: 'waiting',
  confirming: 'confirming',
  exchanging: 'exchanging',
  sending: 'sending',
  verifying: 'verifying',
  finished: 'finished',
  failed: 'failed',
  refunded: 'refunded',
  unknown: null,
};

async function followSwap(deps: TrackPayoutsDeps, payout: PayoutRow): Promise<void> {
  const { rows } = await deps.db.query<{ provider_exchange_id: string }>('SELECT provider_exchange_id FROM swaps WHERE payout_id = $1', [payout.id]);
  const exchangeId = rows[0]?.provider_exchange_id;
  if (!exchangeId) throw new PermanentError('swap_not_found', 'The payout awaits a swap it does not have.', { payoutId: payout.id });
  const exchange = await deps.changenow.retrieveExchange(exchangeId);
  const at = deps.clock.now();
  const rowStatus = SWAP_ROW_STATUS[exchange.status];
  if (rowStatus === null) deps.log?.warn('payout.swap_status_unknown', { payoutId: payout.id, providerStatus: exchange.providerStatus });

  await deps.db.transaction(async (tx) => {
    await tx.query(
      `UPDATE swaps SET status = coalesce($2, status), received_to_amount = coalesce($3, received_to_amount),
              payin_hash = coalesce($4, payin_hash), payout_hash = coalesce($5, payout_hash),
              finished_at = CASE WHEN $2 = 'finished' THEN coalesce(finished_at, $6) ELSE finished_at END,
              status_checked_at = $6, updated_at = $6
        WHERE payout_id = $1`,
      [payout.id, rowStatus, exchange.status === 'finished' ? exchange.amountTo : null, exchange.payinHash, exchange.payoutHash, at],
    );
    if (exchange.status === 'finished') {
      if (exchange.amountTo === null) return; // not final yet: look again next tick
      const isCompleted = await transitionPayout(tx, { payoutId: payout.id, from: 'awaiting_swap', to: 'completed', at });
      if (isCompleted && payout.kind === 'conversion') await distributeConversion(tx, payout, exchange.amountTo, at);
      if (isCompleted) await queuePayoutNotice(tx, payout, 'payout_completed', at);
      return;
    }
    if (exchange.status === 'refunded') {
      const refunded = exchange.refundAmount !== null && isAssetCode(payout.asset) ? parseUnits(exchange.refundAmount, getAsset(payout.asset).decimals, 'floor') : 0n;
      const isMoved = await transitionPayout(tx, { payoutId: payout.id, from: 'awaiting_swap', to: 'refunded', at });
      if (isMoved) {
        await returnToOwners(tx, payout, { at, kind: 'swap_refunded', description: `ChangeNow refunded exchange ${exchangeId}`, backInHotWallet: refunded });
        await queuePayoutNotice(tx, payout, 'payout_failed', at);
      }
      return;
    }
    if (exchange.status === 'failed') {
      const isMoved = await transitionPayout(tx, {
        payoutId: payout.id,
        from: 'awaiting_swap',
        to: 'failed',
        at,
        failureCode: 'swap_failed',
        failureReason: `ChangeNow exchange ${exchangeId} failed`,
      });
      if (isMoved) {
        await returnToOwners(tx, payout, { at, kind: 'payout_returned', description: `ChangeNow exchange ${exchangeId} failed`, backInHotWallet: 0n });
        await queuePayoutNotice(tx, payout, 'payout_failed', at);
      }
    }
  });
  if (exchange.status === 'finished' && exchange.amountTo !== null) {
    deps.log?.info('payout.completed', { payoutId: payout.id, exchangeId, amountTo: exchange.amountTo, payoutHash: exchange.payoutHash });
  }
  if (exchange.status === 'failed' || exchange.status === 'refunded') {
    deps.log?.critical('payout.swap_failed', { payoutId: payout.id, exchangeId, status: exchange.providerStatus, refundAmount: exchange.refundAmount });
  }
}
