import { Transaction } from 'ethers';
import { assertNoOpenTransaction, type Tx } from '../db/index.js';
import { AppError, PermanentError, TransientError, errorCode } from '../errors/index.js';
import type { SendRawOutcome } from './chain-provider.js';
import { CHAIN_TRANSFER_COLUMNS, type ChainTransfer, retrieveChainTransfer, toChainTransfer } from './chain-transfer-rows.js';
import type { TransferDeps } from './transfer-deps.js';

export interface BroadcastOptions {
  /**
   * Runs in the transaction that records the broadcast (status `signed` → `broadcast`, or a repeat
   * broadcast of a `broadcast` row), e.g. to move the payout to `transfer_broadcast`. Make it a
   * conditional update: it runs again on every re-broadcast.
   */
  onBroadcast?: (tx: Tx, transfer: ChainTransfer) => Promise<void>;
}

export interface BroadcastResult {
  transfer: ChainTransfer;
  /** How the node answered; `settled` when the transfer was already confirmed or failed (nothing sent). */
  outcome: SendRawOutcome | 'settled';
}

/**
 * Sends the payout's stored signed bytes with `eth_sendRawTransaction` and records the broadcast.
 * It never signs: a retry re-sends exactly the same transaction, so at most one can be mined.
 *
 * "already known", "nonce too low" and "replacement transaction underpriced" mean the node may
 * already have our transaction: we look our hash up, and if the chain or the mempool has it, the
 * transfer counts as broadcast. If our nonce was taken by another transaction instead, that is
 * `transfer_nonce_conflict`: nothing is re-signed, an operator must look.
 *
 * @throws PermanentError `transfer_not_found`, `stored_transfer_corrupt`;
 *   TransientError `transfer_nonce_conflict`, `hot_wallet_insufficient_funds`, `chain_unavailable`,
 *   `chain_request_failed` (each recorded in `last_broadcast_error`).
 */
export async function broadcastStoredTransfer(
  deps: TransferDeps,
  payoutId: string,
  options: BroadcastOptions = {},
): Promise<BroadcastResult> {
  assertNoOpenTransaction('broadcastStoredTransfer');
  const stored = await retrieveChainTransfer(deps.db, payoutId);
  if (!stored) throw new PermanentError('transfer_not_found', 'The payout has no signed transfer to broadcast.', { payoutId });
  if (stored.status === 'confirmed' || stored.status === 'failed') return { transfer: stored, outcome: 'settled' };
  if (Transaction.from(stored.signedTx).hash?.toLowerCase() !== stored.txHash) {
    throw new PermanentError('stored_transfer_corrupt', 'The stored signed transaction does not match its hash.', { payoutId });
  }

  let outcome: SendRawOutcome;
  try {
    outcome = await deps.chain.sendRawTransaction(stored.signedTx);
    if (outcome === 'nonce_too_low' || outcome === 'replacement_underpriced') {
      const lookup = await deps.chain.lookupTransaction(stored.txHash);
      if (lookup.state === 'unknown') {
        throw new TransientError('transfer_nonce_conflict', 'Another transaction holds this transfer’s nonce; an operator must review it.', {
          payoutId,
          txHash: stored.txHash,
          nonce: stored.nonce.toString(),
          answer: outcome,
        });
      }
    }
  } catch (error) {
    await recordBroadcastFailure(deps, payoutId, error);
    if (errorCode(error) === 'transfer_nonce_conflict' || errorCode(error) === 'hot_wallet_insufficient_funds') {
      deps.log?.critical('payout.transfer_broadcast_blocked', { payoutId, txHash: stored.txHash, code: errorCode(error) });
    }
    throw error;
  }

  const now = deps.clock.now();
  const transfer = await deps.db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `UPDATE chain_transfers
          SET status = CASE WHEN status = 'signed' THEN 'broadcast' ELSE status END,
              broadcast_at = coalesce(broadcast_at, $2),
              broadcast_attempts = broadcast_attempts + 1,
              last_broadcast_error = NULL,
              updated_at = $2
        WHERE payout_id = $1 AND status IN ('signed', 'broadcast')
        RETURNING ${CHAIN_TRANSFER_COLUMNS}`,
      [payoutId, now],
    );
    if (!rows[0]) return undefined; // confirmed meanwhile by another worker
    const updated = toChainTransfer(rows[0]);
    await options.onBroadcast?.(tx, updated);
    return updated;
  });
  const final = transfer ?? (await retrieveChainTransfer(deps.db, payoutId));
  if (!final) throw new Error('broadcastStoredTransfer: the transfer row disappeared');
  deps.log?.info('payout.transfer_broadcast', { payoutId, txHash: final.txHash, nonce: final.nonce.toString(), answer: outcome });
  return { transfer: final, outcome };
}

async function recordBroadcastFailure(deps: TransferDeps, payoutId: string, error: unknown): Promise<void> {
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
