/**
 * Where a ChangeNow exchange stands, in our vocabulary. ChangeNow's own values (API v2 `status`) are kept beside it
 * as `providerStatus` for logs and support tickets.
 *
 * - `awaiting_deposit`: created (`new`) or waiting for the deposit (`waiting`); nothing received yet.
 * - `confirming`: the deposit was seen and waits for confirmations.
 * - `exchanging`, `sending`: ChangeNow is swapping, then paying out; `payoutHash` may appear during `sending`.
 * - `verifying`: held by ChangeNow's AML/KYC check; it can still finish, fail or refund. Needs a human.
 * - `finished`: paid out; `amountTo` and `payoutHash` are final.
 * - `failed`: ChangeNow gave up (usually a deposit below the minimum); the deposit is with ChangeNow support.
 * - `refunded`: the deposit went back to `refundAddress`.
 * - `unknown`: a value ChangeNow added after this code was written. Treat it as "still open, look at it"; never as
 *   finished or failed.
 */
export type ChangeNowStatus =
  | 'awaiting_deposit'
  | 'confirming'
  | 'exchanging'
  | 'sending'
  | 'verifying'
  | 'finished'
  | 'failed'
  | 'refunded'
  | 'unknown';

/** ChangeNow API v2 `status` values this code knows, mapped to ours. */
export const CHANGENOW_STATUS_MAP = {
  new: 'awaiting_deposit',
  waiting: 'awaiting_deposit',
  confirming: 'confirming',
  exchanging: 'exchanging',
  sending: 'sending',
  verifying: 'verifying',
  finished: 'finished',
  failed: 'failed',
  refunded: 'refunded',
} as const satisfies Record<string, Exclude<ChangeNowStatus, 'unknown'>>;

/** Statuses after which ChangeNow does nothing more with the exchange. */
export const FINAL_CHANGENOW_STATUSES: readonly ChangeNowStatus[] = ['finished', 'failed', 'refunded'];

/** Our status for ChangeNow's `status` text; `unknown` for anything not in {@link CHANGENOW_STATUS_MAP}. */
export function mapChangeNowStatus(providerStatus: string): ChangeNowStatus {
  return Object.hasOwn(CHANGENOW_STATUS_MAP, providerStatus)
    ? CHANGENOW_STATUS_MAP[providerStatus as keyof typeof CHANGENOW_STATUS_MAP]
    : 'unknown';
}

/** True for `finished`, `failed` and `refunded`: polling can stop. */
export function isFinalChangeNowStatus(status: ChangeNowStatus): boolean {
  return FINAL_CHANGENOW_STATUSES.includes(status);
}
