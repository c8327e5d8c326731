import { enqueueMessage } from '../bus/index.js';
import type { ChangeNowClient, SwapPair } from '../changenow/index.js';
import type { Clock } from '../clock/index.js';
import type { Db } from '../db/index.js';
import { AppError, errorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { formatUnits, getAsset, isAssetCode, parseUnits } from '../money/index.js';
import { assertPayoutAddress } from '../wallets/index.js';
import { checkOutflowLimits, holdPayout, type OutflowLimits } from './limits.js';
import { transitionPayout } from './payout-state.js';
import { isDirectPayout, type PayoutRow, retrievePayout, returnUnsentPayout } from './payout-row.js';

export interface QuotePayoutDeps {
  db: Db;
  clock: Clock;
  changenow: ChangeNowClient;
  limits: OutflowLimits;
  log?: Logger;
}

export type QuotePayoutOutcome = 'skipped' | 'held' | 'failed' | 'deferred' | 'direct' | 'quoted';

/** How long a payout below the swap minimum waits before it is quoted again. */
export const DEFERRAL_MS = 3_600_000;

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
  if (!isAssetCode(asset)) throw new Error(`quotePayout: unknown asset ${asset}`);
  return getAsset(asset).decimals;
}

/**
 * `quote-payout`: decides how a `requested` payout goes out, re-reading it from the database.
 *
 * 1. Over the per-payout maximum or the daily cap → `held` (audit entry), nothing else.
 * 2. A destination that fails wallet validation → `failed`, the amount returned to the owner.
 * 3. Paid in the held asset on Ethereum → `quoted` (to-amount = the amount) and `transfer-requested`.
 * 4. Otherwise ChangeNow's minimum and estimate (network calls outside any transaction): below the
 *    minimum → `deferred` for an hour; else `quoted` with the estimate and `payout-quoted`.
 *
 * A payout in any other state is left alone (`skipped`): a redelivered or forged message does nothing.
 *
 * @throws TransientError from ChangeNow (`changenow_unavailable`), retried by the bus.
 */
export async function quotePayout(deps: QuotePayoutDeps, payoutId: string): Promise<QuotePayoutOutcome> {
  const payout = await retrievePayout(deps.db, payoutId);
  if (payout.state !== 'requested') return 'skipped';

  const limitOutcome = await deps.db.transaction(async (tx) => {
    const verdict = await checkOutflowLimits(tx, payoutId, deps.limits, deps.clock.now());
    if (verdict.isWithinLimits) return 'within' as const;
    const isHeld = await holdPayout(tx, payoutId, verdict.reason, deps.clock.now());
    return isHeld ? ('held' as const) : ('skipped' as const);
  });
  if (limitOutcome === 'held') deps.log?.warn('payout.held', { payoutId });
  if (limitOutcome !== 'within') return limitOutcome;

  try {
    assertPayoutAddress({
      currency: payout.destinationCurrency,
      network: payout.destinationNetwork,
      address: payout.destinationWallet,
      extraId: payout.destinationExtraId,
    });
  } catch (error) {
    if (!WALLET_ERROR_CODES.has(errorCode(error))) throw error;
    const reason = error instanceof AppError ? error.message : 'The payout destination is not valid.';
    return failPayoutBeforeSending(deps, payout, errorCode(error), reason);
  }

  const now = deps.clock.now();
  if (isDirectPayout(payout)) {
    const toAmount = formatUnits(payout.amountUnits, decimalsOf(payout.asset));
    const isQuoted = await markQuoted(deps, payout, toAmount, now, 'transfer-requested');
    if (isQuoted) deps.log?.info('payout.quoted', { payoutId, route: 'direct' });
    return isQuoted ? 'direct' : 'skipped';
  }

  const pair = swapPairFor(payout);
  if (!pair) return failPayoutBeforeSending(deps, payout, 'unsupported_payout_asset', 'The hot wallet cannot swap this asset.');
  const decimals = decimalsOf(payout.asset);
  const fromAmount = formatUnits(payout.amountUnits, decimals);
  const minimum = await deps.changenow.minAmount(pair);
  const minUnits = parseUnits(minimum.minAmount, decimals, 'ceil');
  if (payout.amountUnits < minUnits) {
    const isDeferred = await deps.db.transaction((tx) =>
      transitionPayout(tx, { payoutId, from: 'requested', to: 'deferred', at: now, deferredUntil: new Date(now.getTime() + DEFERRAL_MS) }),
    );
    if (isDeferred) deps.log?.info('payout.deferred', { payoutId, reason: 'below_swap_minimum', minAmount: minimum.minAmount, fromAmount });
    return isDeferred ? 'deferred' : 'skipped';
  }
  const estimate = await deps.changenow.estimate(pair, fromAmount);
  const isQuoted = await markQuoted(deps, payout, estimate.toAmount, deps.clock.now(), 'payout-quoted');
  if (isQuoted) deps.log?.info('payout.quoted', { payoutId, route: 'swap', fromAmount, toAmount: estimate.toAmount });
  return isQuoted ? 'quoted' : 'skipped';
}

async function markQuoted(
  deps: QuotePayoutDeps,
  payout: PayoutRow,
  toAmount: string,
  at: Date,
  next: 'transfer-requested' | 'payout-quoted',
): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const isQuoted = await transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'quoted', at });
    if (!isQuoted) return false;
    await tx.query('UPDATE payouts SET quoted_to_amount = $2, quoted_at = $3 WHERE id = $1', [payout.id, toAmount, at]);
    await enqueueMessage(tx, next, { payoutId: payout.id }, { at, dedupeKey: `${next}:${payout.id}` });
    return true;
  });
}

async function failPayoutBeforeSending(deps: QuotePayoutDeps, payout: PayoutRow, code: string, reason: string): Promise<'failed' | 'skipped'> {
  const at = deps.clock.now();
  const isFailed = await deps.db.transaction(async (tx) => {
    const moved = await transitionPayout(tx, { payoutId: payout.id, from: 'requested', to: 'failed', at, failureCode: code, failureReason: reason.slice(0, 1000) });
    if (moved) await returnUnsentPayout(tx, payout, at, `Payout failed: ${code}`);
    return moved;
  });
  if (isFailed) deps.log?.warn('payout.failed', { payoutId: payout.id, code });
  return isFailed ? 'failed' : 'skipped';
}
