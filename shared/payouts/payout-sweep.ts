import { deadLetterAction, enqueueMessage, recordDeadLetter } from '../bus/index.js';
import type { TopicName } from '../messages/index.js';
import { errorCode, isRetryable } from '../errors/index.js';
import { ownedState } from '../watchdog/index.js';
import { transitionPayout } from './payout-state.js';
import type { PayoutState } from './payout-state.js';
import { isDirectPayout, PAYOUT_AND_TRANSFER_COLUMNS, type PayoutAndTransfer, payoutAndTransferOf, type PayoutColumns } from './payout-row.js';
import { trackPayout, type TrackPayoutsDeps } from './tracking.js';

export interface TrackPayoutsReport {
  /** Deferred payouts whose wait was over, sent back to quote-payout. */
  requeued: number;
  /** Payouts whose stage message was published again because they sat in requested/quoted/swap_created. */
  redriven: number;
  checked: number;
  completed: number;
  failed: number;
  errors: number;
}

/** Payouts claimed per page; a tick pages until nothing is due or its time budget is spent. */
const PAGE_SIZE = 100;
/** A claimed payout is not claimed again for this long (a crashed tick's payouts come back after it). */
const CLAIM_LEASE_MS = 5 * 60_000;
/** Time a tick may spend; the function's timeout is 120 s and the next tick comes in 60 s. */
const DEFAULT_TIME_BUDGET_MS = 50_000;
/** A held payout is looked at hourly (nothing to do but wait for the operator; the watchdog alerts). */
const HELD_RECHECK_MS = 3_600_000;
/** Re-drives of one payout are spaced by half its age in the state, between these bounds. */
const MIN_REDRIVE_INTERVAL_MS = 10 * 60_000;
const MAX_REDRIVE_INTERVAL_MS = 60 * 60_000;

type StageState = 'requested' | 'quoted' | 'swap_created';
const TRACKED_STATES = new Set<PayoutState>(['transfer_signed', 'transfer_broadcast', 'awaiting_swap', 'needs_attention']);

interface DuePayout {
  id: string;
  state: PayoutState;
  state_changed_at: Date;
  deferred_until: Date | null;
  last_redriven_at: Date | null;
  asset: string;
  destination_currency: string;
  destination_network: string;
  /** The payout with its transfer and attempts, read by the claim for the tracking step. */
  read: PayoutAndTransfer;
}

/**
 * `track-payouts` (every minute): the owner of every non-terminal payout. Pages through all payouts
 * whose `next_check_at` has come, oldest check first (so a payout that never changes state cannot
 * starve the others), each claimed with a short lease so overlapping ticks share the work:
 *
 * - `transfer_signed`, `transfer_broadcast`, `awaiting_swap`, `needs_attention`: one tracking step (`trackPayout`), then
 *   due again on the next tick, behind every other due payout.
 * - `requested`, `quoted`, `swap_created`: their stage message was lost, dead-lettered or its stage
 *   keeps failing (gas above the cap, hot wallet empty, ChangeNow down). After `redriveAfterSeconds`
 *   in the state the stage message is published again (the stages act only on a payout in their
 *   state, so an extra message is harmless), spaced out as the payout ages.
 * - `deferred`: re-queued to quote-payout once `deferred_until` has passed.
 * - `held`: waits for an operator.
 *
 * Age alerts for all of them are the watchdog's (shared/watchdog).
 */
export async function trackPayouts(deps: TrackPayoutsDeps & { timeBudgetMs?: number }): Promise<TrackPayoutsReport> {
  const report: TrackPayoutsReport = { requeued: 0, redriven: 0, checked: 0, completed: 0, failed: 0, errors: 0 };
  const tickStart = deps.clock.now();
  const deadline = Date.now() + (deps.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS);
  while (Date.now() < deadline) {
    const page = await claimDuePayouts(deps, tickStart);
    for (const payout of page) await sweepPayout(deps, payout, report);
    // A short page was all that was due and free; what another tick holds is that tick's, and what
    // comes due meanwhile is the next tick's.
    if (page.length < PAGE_SIZE) break;
  }
  return report;
}

/**
 * Claims up to a page of due payouts: checked before this tick started (a payout this tick already
 * looked at, or moved, waits for the next tick), oldest check first, skipping rows another tick holds.
 * One statement, so its own transaction: the row locks last until the lease is written. It returns
 * each payout with its transfer and attempts for the tracking step, which reads nothing again (what
 * it then writes is conditional on the state it read, so a row moved meanwhile only waits a tick).
 */
async function claimDuePayouts(deps: TrackPayoutsDeps, tickStart: Date): Promise<DuePayout[]> {
  const leaseUntil = new Date(deps.clock.now().getTime() + CLAIM_LEASE_MS);
  const { rows } = await deps.db.query<Omit<DuePayout, 'read'> & PayoutColumns & Record<string, unknown>>(
    `UPDATE payouts p SET next_check_at = $2
       FROM (SELECT id FROM payouts WHERE next_check_at < $1 ORDER BY next_check_at, id LIMIT ${PAGE_SIZE} FOR NO KEY UPDATE SKIP LOCKED) due
            LEFT JOIN chain_transfers t ON t.payout_id = due.id
      WHERE p.id = due.id
      RETURNING p.state_changed_at, p.deferred_until, p.last_redriven_at, ${PAYOUT_AND_TRANSFER_COLUMNS}`,
    [tickStart, leaseUntil],
  );
  return rows.map((row) => ({ ...row, read: payoutAndTransferOf(row) }));
}

/** When the payout is due again, unless its state changed meanwhile (then it is due at once). */
async function scheduleNextCheck(deps: TrackPayoutsDeps, payout: DuePayout, at: Date): Promise<void> {
  await deps.db.query('UPDATE payouts SET next_check_at = $4 WHERE id = $1 AND state = $2 AND state_changed_at = $3', [
    payout.id,
    payout.state,
    payout.state_changed_at,
    at,
  ]);
}

async function sweepPayout(deps: TrackPayoutsDeps, payout: DuePayout, report: TrackPayoutsReport): Promise<void> {
  const now = deps.clock.now();
  try {
    if (TRACKED_STATES.has(payout.state)) {
      report.checked += 1;
      const state = await trackPayout(deps, payout.id, payout.read);
      if (state === 'completed') report.completed += 1;
      if (state === 'failed' || state === 'refunded') report.failed += 1;
      // A payout that moved is due as its new state says (sql/015's trigger sets next_check_at).
      if (state === payout.state) await scheduleNextCheck(deps, payout, deps.clock.now());
    } else if (payout.state === 'requested' || payout.state === 'quoted' || payout.state === 'swap_created') {
      await redriveStage(deps, { ...payout, state: payout.state }, now, report);
    } else if (payout.state === 'deferred') {
      const until = payout.deferred_until ?? now;
      if (until <= now) {
        if (await requeueDeferred(deps, payout, until)) report.requeued += 1;
      } else {
        await scheduleNextCheck(deps, payout, until);
      }
    } else if (payout.state === 'held') {
      await scheduleNextCheck(deps, payout, new Date(now.getTime() + HELD_RECHECK_MS));
    }
  } catch (error) {
    report.errors += 1;
    // Due again on the next tick, behind the others (only a crashed tick leaves it to the claim lease).
    await scheduleNextCheck(deps, payout, deps.clock.now()).catch(() => undefined);
    if (isRetryable(error)) {
      deps.logger.warn('payout.tracking_failed', { payoutId: payout.id, state: payout.state, code: errorCode(error), error });
      return;
    }
    // A failure that will not go away (the payout's records contradict each other): kept once for
    // the operator as a dead letter; the payout stays where it is and later ticks stay quiet.
    const deadLetter = await recordDeadLetter(deps.db, {
      source: 'track-payouts',
      messageId: `payout:${payout.id}:${errorCode(error)}`,
      reasonCode: errorCode(error),
      reason: error instanceof Error ? error.message : String(error),
      data: JSON.stringify({ payoutId: payout.id }),
      at: deps.clock.now(),
    });
    if (deadLetter.outcome !== 'already_recorded') {
      deps.logger.critical('payout.tracking_dead_lettered', {
        payoutId: payout.id,
        code: errorCode(error),
        error,
        deadLetterId: String(deadLetter.id),
        action: deadLetterAction(deadLetter.id),
      });
    }
  }
}

/** The stage a payout in this state waits for, by its topic. */
function stageTopic(payout: DuePayout & { state: StageState }): TopicName {
  if (payout.state === 'requested') return 'payout-requested';
  if (payout.state === 'quoted') {
    const route = { asset: payout.asset, destinationCurrency: payout.destination_currency, destinationNetwork: payout.destination_network };
    return isDirectPayout(route) ? 'transfer-requested' : 'payout-quoted';
  }
  return 'transfer-requested';
}

/**
 * Publishes the stage message again for a payout that has sat in a stage state past its limit. The
 * first re-drive comes `redriveAfterSeconds` after the payout entered the state; later ones are
 * spaced by half its age in the state (10 min … 1 h). The dedupe key names the re-drive, so two
 * overlapping ticks publish it once.
 */
async function redriveStage(deps: TrackPayoutsDeps, payout: DuePayout & { state: StageState }, now: Date, report: TrackPayoutsReport): Promise<void> {
  const redriveAfterMs = (ownedState('payouts', payout.state).redriveAfterSeconds ?? 0) * 1000;
  const firstRedriveAt = new Date(payout.state_changed_at.getTime() + redriveAfterMs);
  if (now < firstRedriveAt) return scheduleNextCheck(deps, payout, firstRedriveAt);
  const ageMs = now.getTime() - payout.state_changed_at.getTime();
  const intervalMs = Math.min(Math.max(ageMs / 2, MIN_REDRIVE_INTERVAL_MS), MAX_REDRIVE_INTERVAL_MS);
  const lastRedrive = payout.last_redriven_at && payout.last_redriven_at >= payout.state_changed_at ? payout.last_redriven_at : undefined;
  if (lastRedrive && now.getTime() - lastRedrive.getTime() < intervalMs) {
    return scheduleNextCheck(deps, payout, new Date(lastRedrive.getTime() + intervalMs));
  }
  const topic = stageTopic(payout);
  const isRedriven = await deps.db.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      `UPDATE payouts SET redrive_count = redrive_count + 1, last_redriven_at = $4, next_check_at = $5
        WHERE id = $1 AND state = $2 AND state_changed_at = $3`,
      [payout.id, payout.state, payout.state_changed_at, now, new Date(now.getTime() + intervalMs)],
    );
    if (rowCount !== 1) return false; // it moved on meanwhile
    await enqueueMessage(tx, topic, { payoutId: payout.id }, { at: now, dedupeKey: `redrive:${topic}:${payout.id}:${now.toISOString()}` });
    return true;
  });
  if (isRedriven) {
    report.redriven += 1;
    deps.logger.warn('payout.redriven', { payoutId: payout.id, state: payout.state, topic, stuckSeconds: Math.floor(ageMs / 1000) });
  }
}

/**
 * A deferred payout whose wait is over goes back to `requested` and to quote-payout, which decides
 * afresh (the minimum or the gas price may have changed). Conditional, so two overlapping ticks
 * re-queue it once; the dedupe key names the deferral it ends.
 */
async function requeueDeferred(deps: TrackPayoutsDeps, payout: DuePayout, deferredUntil: Date): Promise<boolean> {
  const now = deps.clock.now();
  const isRequeued = await deps.db.transaction(async (tx) => {
    const isMoved = await transitionPayout(tx, { payoutId: payout.id, from: 'deferred', to: 'requested', at: now });
    if (isMoved) {
      await enqueueMessage(tx, 'payout-requested', { payoutId: payout.id }, { at: now, dedupeKey: `payout-requeued:${payout.id}:${deferredUntil.toISOString()}` });
    }
    return isMoved;
  });
  if (isRequeued) deps.logger.info('payout.requeued', { payoutId: payout.id });
  return isRequeued;
}
