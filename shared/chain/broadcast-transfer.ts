import { type AlongsideWrite, assertNoOpenTransaction, gatedWrite } from '../db/index.js';
import { AppError, errorCode } from '../errors/index.js';
import type { SendRawOutcome } from './chain-provider.js';
import { type ChainTransfer, firstAttemptOf, retrieveChainTransfer, retrieveChainTransferAndAttempts, type TransferAttempt } from './chain-transfer-rows.js';
import { assertChainTransferTransition } from './chain-transfer-status.js';
import type { TransferDeps } from './transfer-deps.js';
import { chainError } from './errors.js';
import { openSignedTransaction } from './sealed-transfer.js';
import { transactionHash } from './eip1559-transaction.js';

export interface BroadcastOptions {
  /**
   * Records the broadcast (status `signed` → `broadcast`, or a repeat broadcast of a `broadcast`
   * row) with the caller's own writes in one statement outside any transaction, e.g. the payout's
   * move to `transfer_broadcast` and its booking: called with the broadcast's write (an UPDATE of one
   * row, or of none when the transfer was confirmed meanwhile) and the transfer as stored, it runs
   * that write in its statement and returns whether the write recorded it. Make its own writes
   * conditional: it runs again on every re-broadcast. Without it the broadcast is recorded alone.
   */
  recordWith?: (broadcast: AlongsideWrite, transfer: ChainTransfer) => Promise<boolean>;
  /**
   * The transfer as the caller has just stored it (`signAndStoreTransfer`, `isNew`): broadcast without
   * reading it back. A new transfer has no replacement; should the node answer as if another attempt
   * held the nonce, the attempts are read from the database before deciding.
   */
  justStored?: ChainTransfer;
}

export interface BroadcastResult {
  transfer: ChainTransfer;
  /** How the node answered; `settled` when the transfer was already confirmed or failed (nothing sent). */
  outcome: SendRawOutcome | 'settled';
}

/**
 * Sends the payout's stored signed bytes (its latest attempt: a replacement, when there is one) with
 * `eth_sendRawTransaction` and records the broadcast. It never signs: a retry re-sends exactly the
 * same transaction, so at most one transaction with this nonce can be mined.
 *
 * "already known", "nonce too low" and "replacement transaction underpriced" mean the node may
 * already have one of our attempts: we look their hashes up, and if the chain or the mempool has
 * one, the transfer counts as broadcast. If our nonce was taken by another transaction instead, that
 * is `transfer_nonce_conflict`: nothing is re-signed, an operator must look. A node that will not
 * take the bytes because fees rose above their max fee answers `transfer_fee_below_base_fee`: the
 * transfer needs a replacement (`replaceStoredTransfer`, in send-transfer, which holds the key).
 *
 * @throws PermanentError `transfer_not_found`, `stored_transfer_corrupt`;
 *   TransientError `transfer_nonce_conflict`, `transfer_fee_below_base_fee`, `hot_wallet_insufficient_funds`,
 *   `chain_unavailable`, `chain_request_failed` (each recorded in `last_broadcast_error`).
 */
export async function broadcastStoredTransfer(
  deps: TransferDeps,
  payoutId: string,
  options: BroadcastOptions = {},
): Promise<BroadcastResult> {
  assertNoOpenTransaction('broadcastStoredTransfer');
  const found = options.justStored
    ? { transfer: options.justStored, attempts: [firstAttemptOf(options.justStored)] }
    : await retrieveChainTransferAndAttempts(deps.db, payoutId);
  if (!found) throw chainError('transfer_not_found', 'The payout has no signed transfer to broadcast.', { payoutId });
  const { transfer: stored, attempts } = found;
  if (stored.status === 'confirmed' || stored.status === 'failed') return { transfer: stored, outcome: 'settled' };
  const latest = attempts[attempts.length - 1] as TransferAttempt;
  const signedTx = openSignedTransaction(payoutId, latest.attempt, latest.signedTx);
  if (transactionHash(signedTx) !== latest.txHash) {
    throw chainError('stored_transfer_corrupt', 'The stored signed transaction does not match its hash.', { payoutId, attempt: latest.attempt });
  }

  let outcome: SendRawOutcome;
  try {
    outcome = await deps.chain.sendRawTransaction(signedTx);
    if (outcome === 'fee_too_low') {
      throw chainError('transfer_fee_below_base_fee', 'Fees rose above this transaction’s max fee; it needs a replacement at a higher fee.', {
        payoutId,
        txHash: latest.txHash,
        attempt: latest.attempt,
      });
    }
    if (outcome === 'nonce_too_low' || outcome === 'replacement_underpriced') {
      const known = options.justStored ? ((await retrieveChainTransferAndAttempts(deps.db, payoutId))?.attempts ?? attempts) : attempts;
      if (!(await isAnyAttemptKnown(deps, known))) {
        throw chainError('transfer_nonce_conflict', 'Another transaction holds this transfer’s nonce; an operator must review it.', {
          payoutId,
          txHash: latest.txHash,
          nonce: stored.nonce.toString(),
          answer: outcome,
        });
      }
    }
  } catch (error) {
    await recordBroadcastFailure(deps, payoutId, error);
    if (errorCode(error) === 'transfer_nonce_conflict' || errorCode(error) === 'hot_wallet_insufficient_funds') {
      deps.logger.critical('payout.transfer_broadcast_blocked', { payoutId, txHash: latest.txHash, code: errorCode(error) });
    }
    throw error;
  }

  const now = deps.clock.now();
  assertChainTransferTransition('signed', 'broadcast');
  // A replacement's own row first (a later attempt only: fee bumps are rare), then the transfer's,
  // with what the caller records of it (see `recordWith`).
  if (latest.attempt > 1) {
    await deps.db.query('UPDATE chain_transfer_replacements SET broadcast_at = $2 WHERE payout_id = $1 AND attempt = $3 AND broadcast_at IS NULL', [
      payoutId,
      now,
      latest.attempt,
    ]);
  }
  const broadcast = gatedWrite(
    (and) => `UPDATE chain_transfers
        SET status = CASE WHEN status = 'signed' THEN 'broadcast' ELSE status END,
            broadcast_at = coalesce(broadcast_at, $2),
            broadcast_attempts = broadcast_attempts + 1,
            last_broadcast_error = NULL,
            updated_at = $2
      WHERE payout_id = $1 AND status IN ('signed', 'broadcast')${and}
      RETURNING payout_id`,
    [payoutId, now],
  );
  const isRecorded = options.recordWith
    ? await options.recordWith(broadcast, stored)
    : ((await deps.db.query(broadcast.sql, broadcast.params)).rowCount ?? 0) > 0;
  // Not recorded: confirmed meanwhile by another worker.
  const final: ChainTransfer | undefined = isRecorded
    ? { ...stored, status: 'broadcast', broadcastAt: stored.broadcastAt ?? now, broadcastAttempts: stored.broadcastAttempts + 1, lastBroadcastError: null }
    : await retrieveChainTransfer(deps.db, payoutId);
  if (!final) throw chainError('transfer_invariant_broken', 'broadcastStoredTransfer: the transfer row disappeared');
  deps.logger.info('payout.transfer_broadcast', { payoutId, txHash: latest.txHash, attempt: latest.attempt, nonce: final.nonce.toString(), answer: outcome });
  return { transfer: final, outcome };
}

/** Whether the chain or the mempool has any attempt of the transfer. */
async function isAnyAttemptKnown(deps: TransferDeps, attempts: readonly TransferAttempt[]): Promise<boolean> {
  for (const attempt of [...attempts].reverse()) {
    if ((await deps.chain.lookupTransaction(attempt.txHash)).state !== 'unknown') return true;
  }
  return false;
}

/** Counts a failed broadcast on the transfer and keeps the error code for operators (bookkeeping only). */
export async function recordBroadcastFailure(deps: TransferDeps, payoutId: string, error: unknown): Promise<void> {
  const code = errorCode(error);
  const message = error instanceof AppError ? `${code}: ${error.message}` : code;
  try {
    await deps.db.query(
      `UPDATE chain_transfers SET broadcast_attempts = broadcast_attempts + 1, last_broadcast_error = $2, updated_at = $3
        WHERE payout_id = $1`,
      [payoutId, message.slice(0, 1000), deps.clock.now()],
    );
  } catch {
    // Bookkeeping only: the original error is what the caller needs to see.
  }
}
