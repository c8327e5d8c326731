import { enqueueMessage } from '../bus/index.js';
import type { ChangeNowClient, ChangeNowExchange } from '../changenow/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { AppError, errorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { formatUnits, getAsset, isAssetCode } from '../money/index.js';
import { transitionPayout } from './payout-state.js';
import { failPayout } from './fail-payout.js';
import { isDirectPayout, payoutDestinationOf, retrievePayout } from './payout-row.js';
import { swapPairFor } from './quote.js';
import { payoutError } from './errors.js';

export interface CreateSwapDeps {
  db: Db;
  clock: Clock;
  changenow: ChangeNowClient;
  /** The hot wallet's address: ChangeNow returns a failed swap's deposit there. */
  refundAddress: string;
  logger: Logger;
}

export type CreateSwapOutcome = 'skipped' | 'created' | 'failed';

/**
 * ChangeNow's "no" to the exchange itself (nothing was created, or what was created must not be
 * funded): the payout cannot go out as requested, so it fails and the owner keeps the balance.
 * Other permanent errors (our API key, a malformed request) are ours to fix: dead-lettered, payout kept.
 */
const PAYOUT_FAILING_CODES = new Set([
  'changenow_invalid_address',
  'changenow_amount_out_of_range',
  'changenow_pair_inactive',
  'changenow_exchange_mismatch',
]);

/**
 * `create-swap`: for a `quoted` payout, creates its one ChangeNow exchange (refund to the hot wallet)
 * and stores it with `quoted → swap_created` in one transaction, then asks for the transfer.
 *
 * `createExchange` is never blindly retried: after a lost answer a redelivery may create a second
 * exchange, but only the stored one (UNIQUE payout_id, conditional insert) is ever funded.
 * A ChangeNow refusal of the destination (400, e.g. `changenow_invalid_address`) fails the payout
 * and returns the amount to the owner.
 *
 * @throws TransientError `changenow_unavailable` (5xx, no answer): redelivered.
 */
export async function createSwap(deps: CreateSwapDeps, payoutId: string): Promise<CreateSwapOutcome> {
  const payout = await retrievePayout(deps.db, payoutId);
  if (payout.state !== 'quoted') return 'skipped';
  const existing = await deps.db.query('SELECT 1 FROM swaps WHERE payout_id = $1', [payoutId]);
  if (existing.rows.length > 0) return 'skipped';
  const pair = swapPairFor(payout);
  // A payout in the asset the hot wallet holds goes straight to the owner (quote-payout never asks for
  // a swap); a forged or hand re-driven payout-quoted must not buy the owner a spread.
  if (!pair || !isAssetCode(payout.asset) || isDirectPayout(payout)) {
    throw payoutError('payout_not_swappable', 'This payout does not go through a swap.', { payoutId });
  }

  const destination = payoutDestinationOf(payout);
  let exchange: ChangeNowExchange;
  try {
    exchange = await deps.changenow.createExchange({
      pair,
      fromAmount: formatUnits(payout.amountUnits, getAsset(payout.asset).decimals),
      address: destination.wallet,
      refundAddress: deps.refundAddress,
      ...(destination.extraId ? { extraId: destination.extraId } : {}),
      flow: 'standard',
    });
  } catch (error) {
    if (!PAYOUT_FAILING_CODES.has(errorCode(error))) throw error;
    const code = errorCode(error);
    const reason = error instanceof AppError ? error.message : 'ChangeNow refused the exchange.';
    return failPayout(deps, payout, { from: 'quoted', code, reason, description: `Swap refused: ${code}` });
  }

  const now = deps.clock.now();
  const isStored = await deps.db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `INSERT INTO swaps (payout_id, provider_exchange_id, from_asset, from_amount_units, from_currency, from_network, to_currency, to_network,
                          expected_to_amount, deposit_address, deposit_extra_id, payout_address, payout_extra_id,
                          payout_address_ciphertext, payout_address_index, payout_extra_id_ciphertext, refund_address, flow,
                          status, status_checked_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'standard', 'new', $18, $18, $18)
       ON CONFLICT (payout_id) DO NOTHING
       RETURNING id`,
      [
        payoutId,
        exchange.id,
        payout.asset,
        payout.amountUnits.toString(),
        pair.fromCurrency,
        pair.fromNetwork,
        payout.destinationCurrency,
        payout.destinationNetwork,
        exchange.toAmount,
        exchange.payinAddress,
        exchange.payinExtraId,
        // The owner's address as the payout stores it (sealed: copied, not re-sealed).
        payout.destination.clear,
        payout.destination.clearExtraId,
        payout.destination.ciphertext,
        payout.destination.index,
        payout.destination.extraIdCiphertext,
        deps.refundAddress,
        now,
      ],
    );
    if (rows.length === 0) return false; // another delivery stored its exchange first: ours is never funded
    const isMoved = await transitionPayout(tx, { payoutId, from: 'quoted', to: 'swap_created', at: now });
    if (!isMoved) throw payoutError('payout_not_quoted', 'The payout left the quoted state while its exchange was created.', { payoutId });
    await enqueueMessage(tx, 'transfer-requested', { payoutId }, { at: now, dedupeKey: `transfer-requested:${payoutId}` });
    return true;
  });
  if (!isStored) {
    deps.logger.warn('payout.swap_orphaned', { payoutId, exchangeId: exchange.id });
    return 'skipped';
  }
  deps.logger.info('payout.swap_created', { payoutId, exchangeId: exchange.id });
  return 'created';
}
