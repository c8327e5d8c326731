import { outboxMessage } from '../bus/index.js';
import type { ChangeNowClient, SwapPair } from '../changenow/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { AppError, errorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { BPS_PER_WHOLE, formatUnits, getAsset, isAssetCode, parseUnits } from '../money/index.js';
import { assertPayoutAddress } from '../wallets/index.js';
import { checkOutflowLimits, type HoldReason, holdPayout, type OutflowLimits } from './limits.js';
import { movePayoutWith, transitionPayout } from './payout-state.js';
import { failPayout, failPayoutIn } from './fail-payout.js';
import { isDirectPayout, type PayoutRow, payoutDestinationOf, retrievePayout } from './payout-row.js';
import { raiseOperatorAlert } from '../watchdog/index.js';
import { payoutError } from './errors.js';

export interface QuotePayoutDeps {
  db: Db;
  clock: Clock;
  changenow: ChangeNowClient;
  limits: OutflowLimits;
  /** Defers an ETH payout whose gas would take more than `maxShareBps` of it. Absent: no check. */
  networkFee?: NetworkFeeGuard;
  logger: Logger;
}

export interface NetworkFeeGuard {
  /** What sending `asset` from the hot wallet costs now, in wei (see `expectedTransferFeeWei`). */
  estimateFeeWei(asset: 'ETH'): Promise<bigint>;
  /** Largest share of a payout the network fee may take, in basis points (`PAYOUT_MAX_NETWORK_FEE_BPS`). */
  maxShareBps: bigint;
}

export type DeferralReason = 'below_swap_minimum' | 'network_fee_too_high';

export type QuotePayoutOutcome = 'skipped' | 'held' | 'failed' | 'deferred' | 'direct' | 'quoted';

/** How long a payout below the swap minimum waits before it is quoted again. */
export const DEFERRAL_MS = 3_600_000;
/** Deferrals before a payout ends (failed, its amount returned): a day of hourly re-quotes. */
export const MAX_DEFERRALS = 24;

const WALLET_ERROR_CODES = new Set(['unsupported_payout_option', 'invalid_wallet_address', 'invalid_payout_extra_id']);

/** ChangeNow tickers of what the hot wallet sends. */
const SWAP_SOURCES: Record<string, { currency: string; network: string }> = {
  ETH: { currency: 'eth', network: 'eth' },
  USDT_ERC20: { currency: 'usdt', network: 'eth' },
};

/** The ChangeNow pair for a payout that needs a swap (payout_options codes in lower case). */
export function swapPairFor(payout: Pick<PayoutRow, 'asset' | 'destinationCurrency' | 'destinationNetwork'>): SwapPair | undefined {
  const source = SWAP_SOURCES[payout.asset];
  if (!source) return undefined;
  return {
    fromCurrency: source.currency,
    fromNetwork: source.network,
    toCurrency: payout.destinationCurrency.toLowerCase(),
    toNetwork: payout.destinationNetwork.toLowerCase(),
  };
}

function decimalsOf(asset: string): number {
  if (!isAssetCode(asset)) throw payoutError('unknown_payout_asset', `quotePayout: unknown asset ${asset}`);
  return getAsset(asset).decimals;
}

/**
 * `quote-payout`: decides how a `requested` payout goes out, re-reading it from the database.
 *
 * 1. Over the per-payout maximum or the daily cap → `held` (audit entry), nothing else.
 * 2. A destination that fails wallet validation → `failed`, the amount returned to the owner.
 * 3. Paid in the held asset on Ethereum → `quoted` (to-amount = the amount) and `transfer-requested`.
 * 3a. An ETH payout whose gas would take more than the configured share → `deferred` for an hour.
 * 4. Otherwise ChangeNow's minimum and estimate (network calls outside any transaction): below the
 *    minimum → `deferred` for an hour; else `quoted` with the estimate and `payout-quoted`.
 * The limits are checked, under their lock, in the transaction that quotes (see `markQuoted`), and
 * before any other outcome; a swap's also before ChangeNow is asked.
 * A deferred payout keeps its claimed amount; track-payouts re-queues it when the hour is up. After
 * `MAX_DEFERRALS` deferrals it fails instead: the amount returns to its owners, who are told, and the
 * operator is alerted.
 *
 * A payout in any other state is left alone (`skipped`): a redelivered or forged message does nothing.
 *
 * @throws TransientError from ChangeNow (`changenow_unavailable`), retried by the bus.
 */
export async function quotePayout(deps: QuotePayoutDeps, payoutId: string): Promise<QuotePayoutOutcome> {
  const payout = await retrievePayout(deps.db, payoutId);
  if (payout.state !== 'requested') return 'skipped';
  // The limits come first: a payout over them is held whatever else is wrong with it. A direct payout
  // asks nothing of ChangeNow, so its limits are checked once, in the transaction that quotes it
  // (`markQuoted`), or here before any other outcome (a bad destination, a deferral, a failed gas
  // estimate); a swap's are checked before ChangeNow is asked anything, and again when it is quoted.
  const isDirect = isDirectPayout(payout);
  if (!isDirect) {
    const held = await holdIfOverLimits(deps, payout.id);
    if (held) return held;
  }
  const unlessHeld = async <T>(outcome: () => Promise<T>): Promise<T | 'held' | 'skipped'> => {
    const held = isDirect ? await holdIfOverLimits(deps, payout.id) : undefined;
    return held ?? outcome();
  };

  try {
    const destination = payoutDestinationOf(payout);
    assertPayoutAddress({
      currency: payout.destinationCurrency,
      network: payout.destinationNetwork,
      address: destination.wallet,
      extraId: destination.extraId,
    });
  } catch (error) {
    if (!WALLET_ERROR_CODES.has(errorCode(error))) return unlessHeld(() => Promise.reject(error));
    const reason = error instanceof AppError ? error.message : 'The payout destination is not valid.';
    return unlessHeld(() => failPayout(deps, payout, { from: 'requested', code: errorCode(error), reason, description: `Payout failed: ${errorCode(error)}` }));
  }

  const now = deps.clock.now();
  if (deps.networkFee && payout.asset === 'ETH') {
    const networkFee = deps.networkFee;
    let feeWei: bigint;
    try {
      feeWei = await networkFee.estimateFeeWei('ETH');
    } catch (error) {
      return unlessHeld(() => Promise.reject(error));
    }
    if (feeWei * BPS_PER_WHOLE > payout.amountUnits * networkFee.maxShareBps) {
      return unlessHeld(() => deferPayout(deps, payout, 'network_fee_too_high', { feeWei: feeWei.toString(), amountUnits: payout.amountUnits.toString() }));
    }
  }

  if (isDirect) {
    const toAmount = formatUnits(payout.amountUnits, decimalsOf(payout.asset));
    const outcome = await markQuoted(deps, payout, toAmount, now, 'transfer-requested');
    if (outcome === 'quoted') deps.logger.info('payout.quoted', { payoutId, route: 'direct' });
    return outcome === 'quoted' ? 'direct' : outcome;
  }

  const pair = swapPairFor(payout);
  if (!pair) {
    const code = 'unsupported_payout_asset';
    return failPayout(deps, payout, { from: 'requested', code, reason: 'The hot wallet cannot swap this asset.', description: `Payout failed: ${code}` });
  }
  const decimals = decimalsOf(payout.asset);
  const fromAmount = formatUnits(payout.amountUnits, decimals);
  const minimum = await deps.changenow.minAmount(pair);
  const minUnits = parseUnits(minimum.minAmount, decimals, 'ceil');
  if (payout.amountUnits < minUnits) return deferPayout(deps, payout, 'below_swap_minimum', { minAmount: minimum.minAmount, fromAmount });
  const estimate = await deps.changenow.estimate(pair, fromAmount);
  const outcome = await markQuoted(deps, payout, estimate.toAmount, deps.clock.now(), 'payout-quoted');
  if (outcome === 'quoted') deps.logger.info('payout.quoted', { payoutId, route: 'swap', fromAmount, toAmount: estimate.toAmount });
  return outcome;
}

/** Holds the payout if it is over the outflow limits: 'held' (or 'skipped' when it moved meanwhile); undefined when within them. */
async function holdIfOverLimits(deps: QuotePayoutDeps, payoutId: string): Promise<'held' | 'skipped' | undefined> {
  const outcome = await deps.db.transaction(async (tx) => {
    const verdict = await checkOutflowLimits(tx, payoutId, deps.limits, deps.clock.now());
    if (verdict.isWithinLimits) return undefined;
    const isHeld = await holdPayout(tx, payoutId, verdict.reason, deps.clock.now());
    return isHeld ? ('held' as const) : ('skipped' as const);
  });
  if (outcome === 'held') deps.logger.warn('payout.held', { payoutId });
  return outcome;
}

async function deferPayout(deps: QuotePayoutDeps, payout: PayoutRow, reason: DeferralReason, details: Record<string, string>): Promise<'deferred' | 'failed' | 'skipped'> {
  const at = deps.clock.now();
  const outcome = await deps.db.transaction(async (tx) => {
    const { rows } = await tx.query<{ deferral_count: number }>('SELECT deferral_count FROM payouts WHERE id = $1 FOR NO KEY UPDATE', [payout.id]);
    const deferrals = rows[0]?.deferral_count ?? 0;
    if (deferrals >= MAX_DEFERRALS) {
      // A deferral has an end: the claim is undone (a conversion batch gives each owner their share
      // back), the owner is told, and the operator is alerted once.
      const reasonText = `Deferred ${deferrals} times (${reason}); the amount is back on the balance.`;
      const isFailed = await failPayoutIn(tx, payout, {
        from: 'requested',
        code: 'deferral_limit_reached',
        reason: reasonText,
        description: `Payout deferred ${deferrals} times (${reason})`,
        at,
      });
      if (!isFailed) return 'skipped' as const;
      await raiseOperatorAlert(tx, deps.logger, {
        kind: 'payout.deferral_limit_reached',
        subjectType: 'payouts',
        subjectId: payout.id,
        episode: 'final',
        message: `A ${payout.kind} payout was deferred ${deferrals} times (${reason}) and has ended; its amount is back with its owners. Check ChangeNow's minimum or the gas price.`,
        details: { reason, deferrals, ...details },
        at,
      });
      return 'failed' as const;
    }
    const isDeferred = await transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'deferred', at, deferredUntil: new Date(at.getTime() + DEFERRAL_MS), deferredReason: reason });
    if (!isDeferred) return 'skipped' as const;
    await tx.query('UPDATE payouts SET deferral_count = deferral_count + 1 WHERE id = $1', [payout.id]);
    return 'deferred' as const;
  });
  if (outcome === 'deferred') deps.logger.info('payout.deferred', { payoutId: payout.id, reason, ...details });
  return outcome;
}

async function markQuoted(
  deps: QuotePayoutDeps,
  payout: PayoutRow,
  toAmount: string,
  at: Date,
  next: 'transfer-requested' | 'payout-quoted',
): Promise<'quoted' | 'held' | 'skipped'> {
  return deps.db.transaction(async (tx) => {
    // Again, under the cap's lock: another payout may have been quoted since the first check. The
    // daily cap is read by the move itself, in the statement after the lock.
    const hold = async (reason: HoldReason) => {
      const isHeld = await holdPayout(tx, payout.id, reason, at);
      if (isHeld) deps.logger.warn('payout.held', { payoutId: payout.id, reason });
      return isHeld ? ('held' as const) : ('skipped' as const);
    };
    const verdict = await checkOutflowLimits(tx, payout.id, deps.limits, at, { dailyCapWithTheMove: true });
    if (!verdict.isWithinLimits) return hold(verdict.reason);
    const dailyCap = 'dailyCap' in verdict ? verdict.dailyCap : undefined;
    const queue = [outboxMessage(next, { payoutId: payout.id }, { at, dedupeKey: `${next}:${payout.id}` })];
    const move = await movePayoutWith(
      tx,
      { payoutId: payout.id, from: 'requested', to: 'quoted', at, quotedToAmount: toAmount, queue, ...(dailyCap ? { onlyIf: '(SELECT within FROM alongside)' } : {}) },
      dailyCap,
    );
    if (move.moved) return 'quoted';
    if (!dailyCap) return 'skipped';
    // Not moved: over the cap, or moved by another delivery meanwhile. The full check tells which.
    const again = await checkOutflowLimits(tx, payout.id, deps.limits, at);
    return again.isWithinLimits ? 'skipped' : hold(again.reason);
  });
}
