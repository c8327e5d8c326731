import type { Clock } from '../clock/index.js';
import type { Db, Tx } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { queuePayoutNotice } from './payout-notices.js';
import { type PayoutRow, returnToOwners } from './payout-row.js';
import { transitionPayout } from './payout-state.js';

export interface FailPayoutInput {
  /** The state the payout must still be in; a payout found elsewhere (a redelivery) is left alone. */
  from: 'requested' | 'quoted' | 'transfer_broadcast';
  /** `failure_code` (the owner's message and the balance run's retry rules read it). */
  code: string;
  /** `failure_reason`, for people (cut to 1,000 characters). */
  reason: string;
  /** The `payout_returned` ledger transaction's description. */
  description: string;
  /**
   * Only when the transfer went out and came back (reverted on chain): the amount is back in the hot
   * wallet. Absent: nothing was sent, the claim is undone (`payouts:in_flight` → owners).
   */
  backInHotWallet?: bigint;
  at: Date;
}

/**
 * Ends a payout unpaid, in the caller's transaction: `from → failed` only if it is still in `from`;
 * then its amount is owed to its owners again (`payout_returned`, once per payout; a conversion batch
 * gives each owner their share back and is marked failed) and the owner is told (`payout_failed`).
 * Returns whether this call failed it; when it did not, nothing else is written.
 */
export async function failPayoutIn(tx: Tx, payout: PayoutRow, input: FailPayoutInput): Promise<boolean> {
  const { at } = input;
  const isFailed = await transitionPayout(tx, { payoutId: payout.id, from: input.from, to: 'failed', at, failureCode: input.code, failureReason: input.reason.slice(0, 1000) });
  if (!isFailed) return false;
  await returnToOwners(tx, payout, { at, kind: 'payout_returned', description: input.description, backInHotWallet: input.backInHotWallet ?? null });
  await queuePayoutNotice(tx, payout, 'payout_failed', at);
  return true;
}

/**
 * A stage's "no" before anything was sent (an invalid wallet, an asset the hot wallet cannot swap,
 * ChangeNow refusing the exchange): `failPayoutIn` in its own transaction, logged as `payout.failed`.
 */
export async function failPayout(
  deps: { db: Db; clock: Clock; log?: Logger },
  payout: PayoutRow,
  input: Omit<FailPayoutInput, 'at' | 'backInHotWallet'> & { from: 'requested' | 'quoted' },
): Promise<'failed' | 'skipped'> {
  const at = deps.clock.now();
  const isFailed = await deps.db.transaction((tx) => failPayoutIn(tx, payout, { ...input, at }));
  if (isFailed) deps.log?.warn('payout.failed', { payoutId: payout.id, code: input.code });
  return isFailed ? 'failed' : 'skipped';
}
