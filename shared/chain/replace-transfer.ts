import { assertNoOpenTransaction } from '../db/index.js';
import { errorCode } from '../errors/index.js';
import { raiseOperatorAlert } from '../watchdog/index.js';
import { type BroadcastOptions, broadcastStoredTransfer } from './broadcast-transfer.js';
import { type ChainTransfer, retrieveChainTransferAndAttempts, type TransferAttempt } from './chain-transfer-rows.js';
import type { SigningDeps, TransferDeps } from './transfer-deps.js';
import { openSignedTransaction, sealSignedTransaction } from './sealed-transfer.js';
import { parseSignedEip1559, transactionHash } from './eip1559-transaction.js';

/**
 * Where the transfer stands with the node:
 * - `settled`: confirmed or failed already; `mined`: an attempt is in a block;
 * - `pending`: an attempt is in the mempool and its fee still clears the base fee (or it is young);
 * - `rebroadcast`: no attempt was known and the node took the latest bytes again;
 * - `needs_replacement`: the node will not take the bytes (fees rose above their max fee), or the
 *   pending attempt has been priced out of blocks for longer than `stalledAfterMs`.
 */
export type MempoolStanding = 'settled' | 'mined' | 'pending' | 'rebroadcast' | 'needs_replacement';

export interface MempoolOptions extends BroadcastOptions {
  /** A pending attempt whose max fee is below the base fee is stalled after this long. Default 10 min. */
  stalledAfterMs?: number;
}

const DEFAULT_STALLED_AFTER_MS = 10 * 60_000;
/** Nodes replace a pending transaction only for ≥ 10 % more on both fees; we bump by 12.5 %. */
const bump = (wei: bigint) => wei + (wei + 7n) / 8n + 1n;

/**
 * Keeps a broadcast transfer alive without the key (track-payouts): looks up every attempt; when the
 * node knows none of them (dropped from the mempool), re-broadcasts the latest stored bytes. Says
 * when only a replacement can help; `replaceStoredTransfer` (send-transfer) makes it.
 */
export async function checkTransferInMempool(deps: TransferDeps, payoutId: string, options: MempoolOptions = {}): Promise<MempoolStanding> {
  assertNoOpenTransaction('checkTransferInMempool');
  const found = await retrieveChainTransferAndAttempts(deps.db, payoutId);
  if (!found || found.transfer.status === 'confirmed' || found.transfer.status === 'failed') return 'settled';
  const { transfer: stored, attempts } = found;
  const latest = attempts[attempts.length - 1] as TransferAttempt;
  let isLatestPending = false;
  let isAnyPending = false;
  for (const attempt of [...attempts].reverse()) {
    const lookup = await deps.chain.lookupTransaction(attempt.txHash);
    if (lookup.state === 'mined') return 'mined';
    if (lookup.state === 'pending') {
      isAnyPending = true;
      if (attempt === latest) isLatestPending = true;
    }
  }
  if (isAnyPending) {
    if (!isLatestPending) return 'pending';
    const sentAt = latest.attempt === 1 ? (stored.broadcastAt ?? stored.signedAt) : latest.signedAt;
    const isOld = deps.clock.now().getTime() - sentAt.getTime() > (options.stalledAfterMs ?? DEFAULT_STALLED_AFTER_MS);
    if (!isOld) return 'pending';
    const { baseFeePerGas } = await deps.chain.estimateFees();
    return latest.maxFeePerGas < baseFeePerGas ? 'needs_replacement' : 'pending';
  }
  try {
    await broadcastStoredTransfer(deps, payoutId, options);
  } catch (error) {
    if (errorCode(error) === 'transfer_fee_below_base_fee') return 'needs_replacement';
    throw error;
  }
  deps.logger.warn('payout.transfer_rebroadcast', { payoutId, txHash: latest.txHash, attempt: latest.attempt, reason: 'unknown_to_node' });
  return 'rebroadcast';
}

/**
 * Replaces a transfer the node dropped and will not take again, or one priced out of blocks: the
 * same transaction (nonce, recipient, value, data, gas limit) signed again with fees 12.5 % above
 * the last attempt's (at least the current estimate), stored as the next attempt before it is
 * broadcast. One nonce can only ever be mined once, so the payout is still paid at most once.
 *
 * When the replacement would pay more than `maxFeePerGasCapWei` nothing is signed: the operator is
 * alerted once for this attempt and `fee_capped` is returned (acknowledged, not retried: track-payouts
 * asks again while the transfer stays dropped, and the replacement goes out once fees fall).
 *
 * @returns `replaced`, `fee_capped`, or what `checkTransferInMempool` found (nothing to replace).
 * @throws TransientError from the node (broadcast errors, `chain_unavailable`).
 */
export async function replaceStoredTransfer(deps: SigningDeps, payoutId: string, options: MempoolOptions = {}): Promise<MempoolStanding | 'replaced' | 'fee_capped'> {
  const standing = await checkTransferInMempool(deps, payoutId, options);
  if (standing !== 'needs_replacement') return standing;
  const { transfer: stored, attempts } = (await retrieveChainTransferAndAttempts(deps.db, payoutId)) as { transfer: ChainTransfer; attempts: TransferAttempt[] };
  const latest = attempts[attempts.length - 1] as TransferAttempt;
  const cap = deps.settings.maxFeePerGasCapWei;

  const { baseFeePerGas, maxPriorityFeePerGas: suggestedTip } = await deps.chain.estimateFees();
  const floorFee = bump(latest.maxFeePerGas);
  const now = deps.clock.now();
  if (baseFeePerGas + suggestedTip > cap || floorFee > cap) {
    const neededWei = floorFee > baseFeePerGas + suggestedTip ? floorFee : baseFeePerGas + suggestedTip;
    await raiseOperatorAlert(deps.db, deps.logger, {
      kind: 'payout.replacement_fee_capped',
      subjectType: 'payouts',
      subjectId: payoutId,
      episode: `attempt-${latest.attempt + 1}`,
      message: `The payout's transaction (nonce ${stored.nonce}) was dropped and its replacement needs at least ${neededWei} wei/gas, above MAX_FEE_PER_GAS_GWEI; later payouts wait behind its nonce. Raise the cap or wait for fees to fall (track-payouts asks again every 10 minutes).`,
      details: { nonce: stored.nonce.toString(), neededMaxFeePerGas: neededWei.toString(), capWei: cap.toString(), txHash: latest.txHash },
      at: now,
    });
    return 'fee_capped';
  }
  const wanted = max(2n * baseFeePerGas + suggestedTip, floorFee);
  const maxFeePerGas = wanted < cap ? wanted : cap;
  const tip = max(suggestedTip, bump(latest.maxPriorityFeePerGas));
  const maxPriorityFeePerGas = tip < maxFeePerGas ? tip : maxFeePerGas;

  const { chainId, nonce, to, value, data, gasLimit } = parseSignedEip1559(openSignedTransaction(payoutId, 1, stored.signedTx));
  const signedTx = await deps.wallet.signTransaction({ chainId, nonce, to, value, data, gasLimit, maxFeePerGas, maxPriorityFeePerGas });
  const txHash = transactionHash(signedTx);

  const isStored = await deps.db.transaction(async (tx) => {
    // The transfer row lock serializes replacers: the second sees the first's attempt and stops.
    const { rows } = await tx.query<{ status: string; attempts: number }>(
      `SELECT t.status, (SELECT coalesce(max(attempt), 1) FROM chain_transfer_replacements r WHERE r.payout_id = t.payout_id)::int AS attempts
         FROM chain_transfers t WHERE t.payout_id = $1 FOR NO KEY UPDATE`,
      [payoutId],
    );
    const row = rows[0];
    if (!row || row.status === 'confirmed' || row.status === 'failed' || Number(row.attempts) !== latest.attempt) return false;
    await tx.query(
      `INSERT INTO chain_transfer_replacements (payout_id, attempt, max_fee_per_gas, max_priority_fee_per_gas, signed_tx_ciphertext, tx_hash, signed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [payoutId, latest.attempt + 1, maxFeePerGas.toString(), maxPriorityFeePerGas.toString(), sealSignedTransaction(payoutId, latest.attempt + 1, signedTx).ciphertext, txHash, now],
    );
    return true;
  });
  if (!isStored) return checkTransferInMempool(deps, payoutId, options);
  deps.logger.warn('payout.transfer_replaced', {
    payoutId,
    nonce: stored.nonce.toString(),
    attempt: latest.attempt + 1,
    txHash,
    replacesTxHash: latest.txHash,
    maxFeePerGas: maxFeePerGas.toString(),
  });
  await broadcastStoredTransfer(deps, payoutId, options);
  return 'replaced';
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
