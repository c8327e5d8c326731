import { type AlongsideWrite, assertNoOpenTransaction, gatedWrite } from '../db/index.js';
import type { TransactionLookup } from './chain-provider.js';
import { type ChainTransfer, retrieveChainTransfer, retrieveChainTransferAndAttempts, type StoredTransfer } from './chain-transfer-rows.js';
import { assertChainTransferTransition } from './chain-transfer-status.js';
import type { TransferDeps } from './transfer-deps.js';
import { chainError } from './errors.js';

export type ConfirmResult =
  /**
   * Not mined yet, or mined with fewer confirmations than required (`confirmations` so far).
   * `isKnownToNode` false: no attempt is mined or in the node's mempool (dropped, or never taken).
   */
  | { state: 'pending'; confirmations: bigint; isKnownToNode: boolean; transfer: ChainTransfer }
  /** Mined and buried deep enough; `transfer.feeUnits` is the gas paid in wei. */
  | { state: 'confirmed'; transfer: ChainTransfer }
  /** Mined but reverted: the asset did not move, the gas was still paid (`transfer.feeUnits`). */
  | { state: 'reverted'; transfer: ChainTransfer };

/** What a receipt about to be recorded says: the transfer as it will read once recorded. */
export type SettledTransfer = ChainTransfer & { status: 'confirmed' | 'failed'; feeUnits: bigint };

export interface ConfirmOptions {
  /** Blocks required including the transaction's own (1 = mined). Configured per chain. */
  confirmations: number;
  /**
   * Records the receipt with the caller's own writes (the payout's move, the gas posted), so the two
   * commit together: called with the receipt's write (an UPDATE of one row, or of none when another
   * run recorded it first) and the transfer as it reads once recorded, it runs that write in its
   * statement or transaction and returns whether the write recorded it. Without it the receipt is
   * recorded alone.
   */
  recordWith?: (receipt: AlongsideWrite, settled: SettledTransfer) => Promise<boolean>;
  /** The transfer and its attempts as the caller has just read them (`storedTransferColumns`): not read again. */
  justRead?: StoredTransfer;
}

/**
 * Checks the payout's transaction on chain and, once it has `confirmations` blocks, records block
 * number, gas used, effective gas price and the fee (gasUsed × effectiveGasPrice, wei) with status
 * `confirmed`, or `failed` (failure_reason 'reverted') when the receipt says it reverted. Repeating
 * it after that returns the stored result without asking the node.
 *
 * A transfer still `signed` whose hash is found mined (we crashed between broadcast and recording it)
 * is recorded as broadcast and confirmed in one go.
 *
 * @throws PermanentError `transfer_not_found`; TransientError `chain_unavailable`.
 */
export async function confirmTransfer(deps: TransferDeps, payoutId: string, options: ConfirmOptions): Promise<ConfirmResult> {
  assertNoOpenTransaction('confirmTransfer');
  if (!Number.isInteger(options.confirmations) || options.confirmations < 1) {
    throw chainError('invalid_confirmations', 'Confirmations must be a whole number of at least 1.');
  }
  const found = options.justRead ?? (await retrieveChainTransferAndAttempts(deps.db, payoutId));
  if (!found) throw chainError('transfer_not_found', 'The payout has no signed transfer.', { payoutId });
  const { transfer: stored, attempts } = found;
  const alreadySettled = settledResult(stored);
  if (alreadySettled) return alreadySettled;

  // Any attempt may be the one mined (a replacement shares the nonce): the newest is the likeliest.
  let mined: { txHash: string; lookup: Extract<TransactionLookup, { state: 'mined' }> } | undefined;
  let isKnownToNode = false;
  for (const attempt of [...attempts].reverse()) {
    const found = await deps.chain.lookupTransaction(attempt.txHash);
    if (found.state === 'mined') {
      mined = { txHash: attempt.txHash, lookup: found };
      break;
    }
    if (found.state === 'pending') isKnownToNode = true;
  }
  if (!mined) return { state: 'pending', confirmations: 0n, isKnownToNode, transfer: stored };
  const { lookup } = mined;
  if (lookup.confirmations < BigInt(options.confirmations)) {
    return { state: 'pending', confirmations: lookup.confirmations, isKnownToNode: true, transfer: stored };
  }

  const now = deps.clock.now();
  const feeUnits = lookup.gasUsed * lookup.effectiveGasPrice;
  const to = lookup.isSuccess ? 'confirmed' : 'failed';
  assertChainTransferTransition('signed', 'broadcast');
  assertChainTransferTransition('broadcast', to);
  // Only a transfer read as signed can still be (statuses only move forward): it was broadcast, since
  // it is mined; recorded so on its own first, the graph having no step from signed to settled.
  if (stored.status === 'signed') {
    await deps.db.query(
      `UPDATE chain_transfers SET status = 'broadcast', broadcast_at = $2, updated_at = $2 WHERE payout_id = $1 AND status = 'signed'`,
      [payoutId, now],
    );
  }
  const receipt = gatedWrite(
    (and) => `UPDATE chain_transfers
          SET status = $2, block_number = $3, gas_used = $4, effective_gas_price = $5, fee_units = $6,
              failure_reason = $7, confirmed_at = $8, updated_at = $8, mined_tx_hash = $9
        WHERE payout_id = $1 AND status = 'broadcast'${and}
        RETURNING payout_id`,
    [
      payoutId,
      to,
      lookup.blockNumber.toString(),
      lookup.gasUsed.toString(),
      lookup.effectiveGasPrice.toString(),
      feeUnits.toString(),
      lookup.isSuccess ? null : 'reverted',
      now,
      mined.txHash,
    ],
  );
  const receiptFacts: SettledTransfer = {
    ...stored,
    status: to,
    broadcastAt: stored.broadcastAt ?? now,
    blockNumber: lookup.blockNumber,
    gasUsed: lookup.gasUsed,
    effectiveGasPrice: lookup.effectiveGasPrice,
    feeUnits,
    failureReason: lookup.isSuccess ? null : 'reverted',
    confirmedAt: now,
    minedTxHash: mined.txHash,
  };
  const isRecorded = options.recordWith ? await options.recordWith(receipt, receiptFacts) : (await deps.db.query(receipt.sql, receipt.params)).rowCount > 0;
  // Undefined: another worker recorded it first.
  const recorded = isRecorded ? receiptFacts : undefined;
  const transfer = recorded ?? (await retrieveChainTransfer(deps.db, payoutId));
  if (!transfer) throw chainError('transfer_invariant_broken', 'confirmTransfer: the transfer row disappeared');
  const result = settledResult(transfer);
  if (!result) throw chainError('transfer_invariant_broken', 'confirmTransfer: the transfer was not recorded as settled');
  if (recorded) {
    const event = result.state === 'confirmed' ? 'payout.transfer_confirmed' : 'payout.transfer_reverted';
    const context = { payoutId, txHash: mined.txHash, blockNumber: lookup.blockNumber.toString(), feeUnits: feeUnits.toString() };
    if (result.state === 'confirmed') deps.logger.info(event, context);
    else deps.logger.critical(event, context);
  }
  return result;
}

function settledResult(transfer: ChainTransfer): ConfirmResult | undefined {
  if (transfer.status === 'confirmed') return { state: 'confirmed', transfer };
  if (transfer.status === 'failed') return { state: 'reverted', transfer };
  return undefined;
}
