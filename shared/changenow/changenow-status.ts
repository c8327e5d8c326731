/**
 * ChangeNow's exchange `status` (API v2), exactly as ChangeNow writes it. This is the one vocabulary
 * for swaps: `swaps.status` stores it as is, the simulator speaks it, and what a payout does on each
 * value is one table (`PAYOUT_STATE_AFTER_SWAP`, shared/payouts/swap-status.ts). Nothing translates it
 * into other words and back (as with NowPayments' `payments.status`).
 *
 * - `new`, `waiting`: created, waiting for the deposit; nothing received yet.
 * - `confirming`: the deposit was seen and waits for confirmations.
 * - `exchanging`, `sending`: ChangeNow is swapping, then paying out; `payoutHash` may appear during `sending`.
 * - `verifying`: held by ChangeNow's AML/KYC check; it can still go on, fail or refund. Needs a human.
 * - `finished`: paid out; `amountTo` and `payoutHash` are final.
 * - `failed`: ChangeNow gave up (usually a deposit below the minimum). Not final: the deposit is with
 *   ChangeNow support, who may still complete or refund the exchange.
 * - `refunded`: the deposit went back to `refundAddress`.
 * - `expired`: a fixed-rate exchange whose deposit did not come in time (we create standard-flow ones).
 */
export const CHANGENOW_STATUSES = [
  'new', 'waiting', 'confirming', 'exchanging', 'sending', 'finished', 'failed', 'refunded', 'verifying', 'expired',
] as const;
export type ChangeNowStatus = (typeof CHANGENOW_STATUSES)[number];

export function isChangeNowStatus(value: unknown): value is ChangeNowStatus {
  return typeof value === 'string' && (CHANGENOW_STATUSES as readonly string[]).includes(value);
}

/**
 * ChangeNow's `status` text when this code knows it, else `'unknown'`: a value ChangeNow added after
 * this code was written. Treat it as "still open, look at it", never as finished or failed; it is
 * never stored (the swap keeps its last known status).
 */
export function parseChangeNowStatus(providerStatus: string): ChangeNowStatus | 'unknown' {
  return isChangeNowStatus(providerStatus) ? providerStatus : 'unknown';
}
