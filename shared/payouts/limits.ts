import { recordAuditEvent } from '../audit/index.js';
import { enqueueMessage } from '../bus/index.js';
import type { AlongsideWrite, Db, Tx } from '../db/index.js';
import { queuePayoutNotice } from './payout-notices.js';
import { retrievePayout, returnToOwners } from './payout-row.js';
import { transitionPayout } from './payout-state.js';
import { payoutError } from './errors.js';

export interface OutflowLimits {
  /** Largest single payout sent without an operator's approval, USD cents. */
  perPayoutMaxUsdCents: bigint;
  /** Most the hot wallet sends in any 24 hours without approval, USD cents. */
  dailyCapUsdCents: bigint;
}

export type HoldReason = 'over_payout_limit' | 'over_daily_limit' | 'unknown_usd_value' | 'destination_recently_changed' | 'unusual_amount';
export type LimitVerdict = { isWithinLimits: true } | { isWithinLimits: false; reason: HoldReason };

/** A payout to a destination changed this recently waits for an operator (a stolen session must not be paid at once). */
export const DESTINATION_COOL_OFF_MS = 24 * 3_600_000;
/** A payout above this many times the channel's median completed payout (30 days) waits for an operator... */
export const UNUSUAL_AMOUNT_FACTOR = 5n;
/** ...once the channel has at least this many completed payouts to take a median of. */
const UNUSUAL_AMOUNT_MIN_HISTORY = 3;
const HISTORY_MS = 30 * 86_400_000;

/** The advisory lock (`hashtext` of this) that makes daily-cap checks take turns. */
const DAILY_CAP_LOCK = 'payouts:daily_outflow_cap';

// States in which a payout's value has left, or is committed to leave, the hot wallet. A payout
// that ended otherwise (failed, refunded) counts too once it has a signed transfer: see the query.
const OUTFLOW_STATES = ['quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap', 'needs_attention', 'completed'];

/**
 * Whether a payout may go out without an operator. Held: an unknown USD value (never guessed); a
 * destination changed in the last 24 hours; more than the per-payout maximum; more than
 * `UNUSUAL_AMOUNT_FACTOR` × the channel's median completed payout of the last 30 days; or, with
 * everything sent in the last 24 hours, over the daily cap. A payout an operator approved is not
 * checked again; parking swaps (our own hot wallet) are not outflow. With `dailyCapWithTheMove`,
 * the daily cap is not read here but returned as `dailyCap`: a read for the statement that moves the
 * payout to `quoted` (`movePayoutWith`, `onlyIf` its `within`), which then moves it only within the cap.
 */
export async function checkOutflowLimits(
  tx: Tx,
  payoutId: string,
  limits: OutflowLimits,
  now: Date,
  options: { dailyCapWithTheMove?: boolean } = {},
): Promise<LimitVerdict | { isWithinLimits: true; dailyCap: AlongsideWrite }> {
  // One statement: the payout, when its channel's destination last changed, and the channel's
  // recent completed payouts' median (percentile_disc: an actual amount, exact cents). It also takes
  // the daily cap's lock for a payout the cap may concern (below): the outflow is read by the NEXT
  // statement, whose snapshot is taken after the lock is held.
  const { rows } = await tx.query<{
    kind: string;
    amount_usd_cents: bigint | null;
    approved_at: Date | null;
    destination_changed_at: Date | null;
    median_usd_cents: bigint | null;
    completed: number;
  }>(
    `SELECT p.kind, p.amount_usd_cents, p.approved_at, c.payout_destination_changed_at AS destination_changed_at,
            h.median_usd_cents, coalesce(h.completed, 0) AS completed,
            CASE WHEN p.approved_at IS NULL AND p.kind <> 'conversion' AND p.amount_usd_cents IS NOT NULL
                 THEN pg_advisory_xact_lock(hashtext('${DAILY_CAP_LOCK}'))::text END AS cap_lock
       FROM payouts p
       LEFT JOIN channels c ON c.id = p.channel_id
       LEFT JOIN LATERAL (
         SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY q.amount_usd_cents)::int8 AS median_usd_cents, count(*)::int AS completed
           FROM payouts q
          WHERE q.channel_id = p.channel_id AND q.id <> p.id AND q.kind <> 'conversion' AND q.state = 'completed'
            AND q.amount_usd_cents IS NOT NULL AND q.completed_at > $2
       ) h ON true
      WHERE p.id = $1`,
    [payoutId, new Date(now.getTime() - HISTORY_MS)],
  );
  const payout = rows[0];
  if (!payout) throw payoutError('unknown_payout', 'No payout has this id', { payoutId });
  if (payout.approved_at) return { isWithinLimits: true };
  if (payout.kind === 'conversion') return { isWithinLimits: true };
  if (payout.amount_usd_cents === null) return { isWithinLimits: false, reason: 'unknown_usd_value' };
  if (payout.destination_changed_at && now.getTime() - payout.destination_changed_at.getTime() < DESTINATION_COOL_OFF_MS) {
    return { isWithinLimits: false, reason: 'destination_recently_changed' };
  }
  if (payout.amount_usd_cents > limits.perPayoutMaxUsdCents) return { isWithinLimits: false, reason: 'over_payout_limit' };
  if (
    payout.completed >= UNUSUAL_AMOUNT_MIN_HISTORY &&
    payout.median_usd_cents !== null &&
    payout.amount_usd_cents > UNUSUAL_AMOUNT_FACTOR * BigInt(payout.median_usd_cents)
  ) {
    return { isWithinLimits: false, reason: 'unusual_amount' };
  }
  if (options.dailyCapWithTheMove) return { isWithinLimits: true, dailyCap: dailyCapCheck(payoutId, limits, now) };
  const cap = dailyCapCheck(payoutId, limits, now);
  const { rows: checked } = await tx.query<{ within: boolean }>(cap.sql, cap.params);
  if (checked[0]?.within !== true) return { isWithinLimits: false, reason: 'over_daily_limit' };
  return { isWithinLimits: true };
}

/**
 * The daily cap's rule, one SELECT of one row (`within`), parameters from `$1`: the payout's own USD
 * value and everything sent in the last 24 hours stay within the cap.
 *
 * One checker at a time (the lock taken by `checkOutflowLimits`' first statement): two payouts checked
 * concurrently would each miss the other's outflow and could pass the cap together. The lock lasts
 * until the caller's transaction ends, so the final check belongs in the transaction that moves the
 * payout to `quoted` (then it counts as outflow), in a later statement than the lock, whose snapshot
 * is taken after the lock is held: its own, or the move's (`dailyCapWithTheMove`).
 * What went out, or is committed to: a payout in an outflow state, or any payout with a signed
 * transfer whatever it became (a reverted transfer was still signed and sent; a refunded or failed
 * exchange still took the funds). Each counts from the later of quoted_at (when this check admitted
 * it, under this lock) and its transfer's signed_at (the bytes can go out from then on; broadcast_at
 * may still be null), never from its last state change, which a slow exchange or a late revert moves
 * forward. A row without quoted_at (not quoted by quote-payout) falls back to state_changed_at.
 */
function dailyCapCheck(payoutId: string, limits: OutflowLimits, now: Date): AlongsideWrite {
  return {
    sql: `SELECT coalesce((SELECT sum(p.amount_usd_cents)
                             FROM payouts p LEFT JOIN chain_transfers t ON t.payout_id = p.id
                            WHERE p.id <> $1 AND p.kind <> 'conversion' AND (p.state = ANY($2) OR t.payout_id IS NOT NULL)
                              AND coalesce(greatest(p.quoted_at, t.signed_at), p.state_changed_at) > $3), 0)
                 + (SELECT amount_usd_cents FROM payouts WHERE id = $1) <= $4::int8 AS within`,
    params: [payoutId, OUTFLOW_STATES, new Date(now.getTime() - 86_400_000), limits.dailyCapUsdCents.toString()],
  };
}

/** Holds a requested payout for an operator, with an audit entry. */
export async function holdPayout(tx: Tx, payoutId: string, reason: string, at: Date): Promise<boolean> {
  const isHeld = await transitionPayout(tx, { payoutId, from: 'requested', to: 'held', at, heldReason: reason });
  if (isHeld) {
    await recordAuditEvent(tx, { occurredAt: at, actor: { type: 'system' }, action: 'payout.held', subject: { type: 'payout', id: payoutId }, details: { reason, from: 'requested', to: 'held' } });
    const { rows } = await tx.query<{ channel_id: string | null }>('SELECT channel_id FROM payouts WHERE id = $1', [payoutId]);
    await queuePayoutNotice(tx, { id: payoutId, channelId: rows[0]?.channel_id ?? null }, 'payout_held', at);
  }
  return isHeld;
}

/** An operator releases a held payout: it re-enters the pipeline and skips the limits once. */
export async function approvePayout(db: Db, input: { payoutId: string; operator: string; at: Date }): Promise<void> {
  await db.transaction(async (tx) => {
    const isApproved = await transitionPayout(tx, { payoutId: input.payoutId, from: 'held', to: 'requested', at: input.at, approvedBy: input.operator });
    if (!isApproved) throw payoutError('payout_not_held', 'Only a held payout can be approved', { payoutId: input.payoutId });
    await recordAuditEvent(tx, {
      occurredAt: input.at,
      actor: { type: 'operator', id: input.operator },
      action: 'payout.approved',
      subject: { type: 'payout', id: input.payoutId },
      details: { from: 'held', to: 'requested' },
    });
    await enqueueMessage(tx, 'payout-requested', { payoutId: input.payoutId }, { at: input.at, dedupeKey: `payout-approved:${input.payoutId}` });
  });
}

/**
 * An operator refuses a held payout: it is cancelled and its amount is owed to its owner again,
 * returned as every payout that ends unpaid returns it (`returnToOwners`: `payout_returned`, once).
 */
export async function rejectPayout(db: Db, input: { payoutId: string; operator: string; reason: string; at: Date }): Promise<void> {
  await db.transaction(async (tx) => {
    const isCancelled = await transitionPayout(tx, { payoutId: input.payoutId, from: 'held', to: 'cancelled', at: input.at });
    if (!isCancelled) throw payoutError('payout_not_held', 'Only a held payout can be rejected', { payoutId: input.payoutId });
    const payout = await retrievePayout(tx, input.payoutId);
    await returnToOwners(tx, payout, { at: input.at, kind: 'payout_returned', description: `Rejected by ${input.operator}`, backInHotWallet: null });
    await recordAuditEvent(tx, {
      occurredAt: input.at,
      actor: { type: 'operator', id: input.operator },
      action: 'payout.rejected',
      subject: { type: 'payout', id: input.payoutId },
      details: { reason: input.reason.slice(0, 500), from: 'held', to: 'cancelled' },
    });
    await queuePayoutNotice(tx, payout, 'payout_failed', input.at);
  });
}
