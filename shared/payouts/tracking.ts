import type { ChangeNowClient } from '../changenow/index.js';
import { type ChainTransfer, confirmTransfer, type StoredTransfer, type TransferDeps } from '../chain/index.js';
import type { AlongsideWrite, Db, Tx } from '../db/index.js';
import { enqueueMessage } from '../bus/index.js';
import { ledgerAccountCodes, postLedgerTransaction, type PostLedgerTransactionInput } from '../ledger/index.js';
import { getAsset, isAssetCode, parseUnits } from '../money/index.js';
import { raiseOperatorAlert } from '../watchdog/index.js';
import { canTransitionPayout, movePayoutWith, type PayoutState, transitionPayout } from './payout-state.js';
import { canTransitionSwap, PAYOUT_STATE_AFTER_SWAP, type SwapStatus } from './swap-status.js';
import { distributeConversion } from './conversion.js';
import { failPayoutIn } from './fail-payout.js';
import { payoutNotices, queuePayoutNotice } from './payout-notices.js';
import { isDirectPayout, type PayoutAndTransfer, type PayoutRow, retrievePayout, retrievePayoutAndTransfer, returnToOwners } from './payout-row.js';
import { payoutError } from './errors.js';

/** A pending transfer is checked for being priced out of blocks after this long. */
const STALLED_AFTER_MS = 10 * 60_000;
/** While a transfer stays unsettled, send-transfer is asked again at least this often (fees may have fallen). */
const TRANSFER_CHECK_EVERY_MS = 10 * 60_000;

/**
 * Asks send-transfer (it alone opens the sealed signed bytes and holds the key) to broadcast the
 * stored transfer, re-broadcast it when the node forgot it, or replace it at the same nonce. One
 * request is outstanding at a time: the dedupe key changes once send-transfer has acted on it (a
 * broadcast counted, an attempt added) or after 10 minutes.
 */
async function requestTransferCheck(deps: TrackPayoutsDeps, payoutId: string, reason: 'not_broadcast' | 'not_in_mempool' | 'stalled'): Promise<void> {
  const now = deps.clock.now();
  const { rows } = await deps.db.query<{ attempts: number; broadcasts: number }>(
    `SELECT (SELECT coalesce(max(attempt), 1) FROM chain_transfer_replacements r WHERE r.payout_id = t.payout_id)::int AS attempts,
            t.broadcast_attempts AS broadcasts
       FROM chain_transfers t WHERE t.payout_id = $1`,
    [payoutId],
  );
  const attempts = rows[0]?.attempts ?? 1;
  const broadcasts = rows[0]?.broadcasts ?? 0;
  const window = Math.floor(now.getTime() / TRANSFER_CHECK_EVERY_MS);
  const isRequested = await deps.db.transaction((tx) =>
    enqueueMessage(tx, 'transfer-requested', { payoutId }, { at: now, dedupeKey: `transfer-check:${payoutId}:${attempts}:${broadcasts}:${window}` }),
  );
  if (isRequested) deps.logger.warn('payout.transfer_check_requested', { payoutId, attempts, broadcasts, reason });
}

export interface TrackPayoutsDeps extends TransferDeps {
  changenow: ChangeNowClient;
  /** Blocks a transfer needs, its own included (`PAYOUT_CONFIRMATIONS`). */
  confirmations: number;
}

/** One tracking step for one payout (`justRead`: the payout and its transfer as the caller just read them); returns the state it is left in. */
export async function trackPayout(deps: TrackPayoutsDeps, payoutId: string, justRead?: PayoutAndTransfer): Promise<string> {
  const read = justRead ?? (await retrievePayoutAndTransfer(deps.db, payoutId));
  let payout = read.payout;
  if (payout.state === 'transfer_signed') {
    // Signed but never broadcast (send-transfer stopped in between): it broadcasts the stored bytes.
    await requestTransferCheck(deps, payoutId, 'not_broadcast');
    return payout.state;
  }
  if (payout.state === 'transfer_broadcast') {
    const movedTo = await confirmPayoutTransfer(deps, payout, read.stored);
    // A payout this run completed or failed needs nothing more; any other is read again.
    if (movedTo === 'completed' || movedTo === 'failed') return movedTo;
    payout = await retrievePayout(deps.db, payoutId);
  }
  if (payout.state === 'awaiting_swap' || payout.state === 'needs_attention') {
    await followSwap(deps, { ...payout, state: payout.state });
    payout = await retrievePayout(deps.db, payoutId);
  }
  return payout.state;
}

/**
 * A broadcast transfer the node no longer knows (dropped from the mempool), or one pending so long it
 * may be priced out of blocks, is handed to send-transfer: it re-broadcasts the stored bytes or
 * replaces them at the same nonce (`requestTransferCheck`).
 */
async function confirmPayoutTransfer(deps: TrackPayoutsDeps, payout: PayoutRow, stored: StoredTransfer | undefined): Promise<PayoutState | undefined> {
  // The receipt is recorded by the statement (a transaction for a revert) that moves the payout; a
  // receipt recorded without the move (by a run of an earlier version that stopped in between, or by
  // a statement that left the move to a transaction for the owner's webhooks) is booked here in a
  // transaction of its own.
  let booked: { movedTo: PayoutState | undefined } | undefined;
  const at = deps.clock.now();
  const result = await confirmTransfer(deps, payout.id, {
    confirmations: deps.confirmations,
    ...(stored ? { justRead: stored } : {}),
    recordWith: async (receipt, settled) => {
      const recorded = await bookSettledTransfer(deps.db, payout, settled, at, receipt);
      if (recorded.booked) booked = { movedTo: recorded.movedTo };
      return recorded.isReceiptRecorded;
    },
  });
  if (result.state === 'pending') {
    if (result.confirmations > 0n) return undefined;
    const sentAt = result.transfer.broadcastAt ?? result.transfer.signedAt;
    const isOld = deps.clock.now().getTime() - sentAt.getTime() > STALLED_AFTER_MS;
    if (result.isKnownToNode && !isOld) return undefined;
    await requestTransferCheck(deps, payout.id, result.isKnownToNode ? 'stalled' : 'not_in_mempool');
    return undefined;
  }
  booked ??= { movedTo: await deps.db.transaction(async (tx) => (await bookSettledTransfer(tx, payout, result.transfer, deps.clock.now())).movedTo) };
  if (result.state === 'reverted') deps.logger.critical('payout.transfer_reverted', { payoutId: payout.id, txHash: result.transfer.txHash });
  else deps.logger.info('payout.transfer_confirmed', { payoutId: payout.id, txHash: result.transfer.txHash });
  return booked.movedTo;
}

/**
 * What a settled transfer does to its payout (idempotent: the fee's ledger key, the conditional move):
 * the gas booked; confirmed → completed (direct) or awaiting_swap; reverted → failed, the asset booked
 * back into the hot wallet and owed to its owners again. With `receipt` (the transfer's receipt, not
 * yet recorded) the receipt is recorded with them: a confirmed transfer's in the move's own statement,
 * outside any transaction (unless the owner's webhooks must hear of the move: then `booked` is false
 * and the caller books it in a transaction), a reverted one's in the transaction that fails the payout.
 * `movedTo`: the state it moved the payout to (undefined when another run had moved it).
 */
async function bookSettledTransfer(
  q: Tx | Db,
  payout: PayoutRow,
  transfer: ChainTransfer,
  at: Date,
  receipt?: AlongsideWrite,
): Promise<{ booked: boolean; movedTo: PayoutState | undefined; isReceiptRecorded: boolean }> {
  const gas = networkFeeOf(transfer, at);
  if (transfer.status === 'confirmed') {
    const to = isDirectPayout(payout) ? 'completed' : 'awaiting_swap';
    const queue = to === 'completed' ? payoutNotices(payout, 'payout_completed', at) : [];
    // The gas is booked whether or not this run moves the payout (its key makes it once).
    const move = await movePayoutWith(q, { payoutId: payout.id, from: 'transfer_broadcast', to, at, queue, ...(gas ? { posting: { when: 'always', transaction: gas } } : {}) }, receipt);
    return { booked: !move.needsTransaction, movedTo: move.moved ? to : undefined, isReceiptRecorded: move.writtenRows > 0 };
  }
  if (transfer.status !== 'failed') throw payoutError('transfer_not_settled', 'bookSettledTransfer: the transfer is not settled', { payoutId: payout.id });
  const fail = async (tx: Tx) => {
    const isReceiptRecorded = receipt ? ((await tx.query(receipt.sql, receipt.params)).rowCount ?? 0) > 0 : false;
    if (gas) await postLedgerTransaction(tx, gas);
    // The asset never left the hot wallet: book it back there and owe it to the owner again.
    const isFailed = await failPayoutIn(tx, payout, {
      from: 'transfer_broadcast',
      code: 'transfer_reverted',
      reason: `Transfer ${transfer.txHash} reverted on chain`,
      description: 'Transfer reverted',
      backInHotWallet: payout.amountUnits,
      at,
    });
    return { booked: true, movedTo: isFailed ? ('failed' as const) : undefined, isReceiptRecorded };
  };
  return 'inTransaction' in q ? fail(q as Tx) : (q as Db).transaction(fail);
}

/** The gas a settled transfer paid, as its ledger transaction; undefined when it paid none. */
function networkFeeOf(transfer: ChainTransfer, at: Date): PostLedgerTransactionInput | undefined {
  if (transfer.feeUnits === null) throw payoutError('settled_transfer_without_fee', 'networkFeeOf: a settled transfer has no fee');
  if (transfer.feeUnits === 0n) return undefined;
  return {
    kind: 'network_fee',
    idempotencyKey: `gas:${transfer.payoutId}`,
    occurredAt: at,
    payoutId: transfer.payoutId,
    description: `Gas of ${transfer.txHash}`,
    entries: [
      { account: ledgerAccountCodes.networkFees('ETH'), asset: 'ETH', amount: transfer.feeUnits },
      { account: ledgerAccountCodes.hotWallet('ETH'), asset: 'ETH', amount: -transfer.feeUnits },
    ],
  };
}

/**
 * Reads the exchange of a funded swap payout and moves the payout when ChangeNow has settled it:
 * `finished` → completed (a conversion distributes what was received); `refunded` → refunded, the
 * refund booked back into the hot wallet and the amount owed to its owners again.
 *
 * `failed` is not final at ChangeNow: the deposit is with their support, who may still complete
 * the exchange or refund it. Returning the amount then could pay the owner twice (or leave a refund
 * unbooked), so the payout waits in `needs_attention` with its amount held where `payout_funded`
 * left it, the operator is alerted once, and every run asks again until ChangeNow says
 * `finished` or `refunded`.
 */
async function followSwap(deps: TrackPayoutsDeps, payout: PayoutRow & { state: 'awaiting_swap' | 'needs_attention' }): Promise<void> {
  const { rows } = await deps.db.query<{ provider_exchange_id: string; status: SwapStatus }>('SELECT provider_exchange_id, status FROM swaps WHERE payout_id = $1', [payout.id]);
  const swap = rows[0];
  if (!swap) throw payoutError('swap_not_found', 'The payout awaits a swap it does not have.', { payoutId: payout.id });
  const exchangeId = swap.provider_exchange_id;
  const exchange = await deps.changenow.retrieveExchange(exchangeId);
  const at = deps.clock.now();
  const reported = exchange.status === 'unknown' ? null : exchange.status;
  if (reported === null) deps.logger.warn('payout.swap_status_unknown', { payoutId: payout.id, providerStatus: exchange.providerStatus });
  else if (reported !== swap.status && !canTransitionSwap(swap.status, reported)) {
    deps.logger.warn('payout.swap_status_stale', { payoutId: payout.id, exchangeId, stored: swap.status, reported });
  }
  // The row keeps ChangeNow's status as is, moved only along the swap graph and only from the status read above.
  const rowStatus = reported !== null && canTransitionSwap(swap.status, reported) ? reported : null;
  const target = reported === null ? null : PAYOUT_STATE_AFTER_SWAP[reported];
  const from = payout.state;

  const moved = await deps.db.transaction(async (tx) => {
    await tx.query(
      `UPDATE swaps SET status = CASE WHEN status = $7 THEN coalesce($2, status) ELSE status END,
              received_to_amount = coalesce($3, received_to_amount),
              payin_hash = coalesce($4, payin_hash), payout_hash = coalesce($5, payout_hash),
              finished_at = CASE WHEN $2 = 'finished' AND status = $7 THEN coalesce(finished_at, $6) ELSE finished_at END,
              status_checked_at = $6, updated_at = $6
        WHERE payout_id = $1`,
      [payout.id, rowStatus, exchange.status === 'finished' ? exchange.amountTo : null, exchange.payinHash, exchange.payoutHash, at, swap.status],
    );
    if (target === 'completed') {
      if (exchange.amountTo === null) return null; // not final yet: look again next tick
      const isCompleted = await transitionPayout(tx, { payoutId: payout.id, from, to: 'completed', at });
      if (isCompleted && payout.kind === 'conversion') await distributeConversion(tx, payout, exchange.amountTo, at);
      if (isCompleted) await queuePayoutNotice(tx, payout, 'payout_completed', at);
      return isCompleted ? ('completed' as const) : null;
    }
    if (target === 'refunded') {
      const refunded = exchange.refundAmount !== null && isAssetCode(payout.asset) ? parseUnits(exchange.refundAmount, getAsset(payout.asset).decimals, 'floor') : 0n;
      const isMoved = await transitionPayout(tx, { payoutId: payout.id, from, to: 'refunded', at });
      if (isMoved) {
        await returnToOwners(tx, payout, { at, kind: 'swap_refunded', description: `ChangeNow refunded exchange ${exchangeId}`, backInHotWallet: refunded });
        await queuePayoutNotice(tx, payout, 'payout_failed', at);
      }
      return isMoved ? ('refunded' as const) : null;
    }
    if (target === 'needs_attention' && canTransitionPayout(from, target)) {
      const isMoved = await transitionPayout(tx, { payoutId: payout.id, from, to: target, at });
      if (isMoved) {
        // No owner notice: nothing is decided yet, and "back on your balance" would be untrue.
        await raiseOperatorAlert(tx, deps.logger, {
          kind: 'payout.swap_needs_attention',
          subjectType: 'payouts',
          subjectId: payout.id,
          episode: `exchange:${exchangeId}`,
          message: `ChangeNow exchange ${exchangeId} failed after we funded it; its deposit is with ChangeNow support. Contact them with the exchange id: the payout completes or is refunded when they settle it.`,
          details: { exchangeId, providerStatus: exchange.providerStatus, payoutKind: payout.kind },
          at,
        });
      }
      return isMoved ? ('needs_attention' as const) : null;
    }
    return null;
  });
  if (moved === 'completed') {
    deps.logger.info('payout.completed', { payoutId: payout.id, exchangeId, amountTo: exchange.amountTo, payoutHash: exchange.payoutHash });
  }
  if (moved === 'refunded') {
    deps.logger.critical('payout.swap_failed', { payoutId: payout.id, exchangeId, status: exchange.providerStatus, refundAmount: exchange.refundAmount });
  }
}
