import { storedWalletColumns, storedWalletOf } from '../wallets/index.js';
import { type OutboxMessage, outboxMessage } from '../bus/index.js';
import type { Queryable } from '../db/index.js';
import { ledgerAccountCodes } from '../ledger/index.js';
import { mulDiv } from '../money/index.js';
import { isBalanceDue, lastEndedPayouts } from './balance.js';
import { PAYOUT_ASSET, UNITS_PER_CENT } from './threshold.js';

/**
 * How far a threshold owner's accumulated balance is towards their payout threshold, and the two
 * marks the owner is told about (`threshold_progress`, docs/payouts.md "Progress towards the threshold").
 *
 * The balance is what run-threshold-payouts will pay from, in USD cents: the parked USDT (1 USDT = $1,
 * as the run counts it) plus the ETH still to be parked — on the owner's balance or in a conversion
 * batch that is converting — valued at the invoice rate of the channel's latest ETH payment (the
 * owner's net share of an invoice is what instant payouts value it at too). Rounded down: progress
 * is never overstated.
 *
 * A cycle is the accumulation between two payouts that take the channel's balance: its id is the
 * channel's latest `threshold` (or `balance`) payout that has not ended unpaid, `first` before any.
 * A payout that fails gives its amount back to the balance and its cycle id back to the one before,
 * whose marks were already announced, so a failure never re-announces the same money.
 */

/** The marks announced, in percent of the threshold. */
export const THRESHOLD_MARKS = [50, 100] as const;
export type ThresholdMark = (typeof THRESHOLD_MARKS)[number];

/** The cycle id before a channel's first payout. */
export const FIRST_CYCLE = 'first';

const USDT = PAYOUT_ASSET;
const ETH = 'ETH';

export interface ThresholdProgress {
  channelId: string;
  /** False when the channel is not on the threshold strategy (or has no threshold): nothing to measure. */
  isThreshold: boolean;
  thresholdCents: bigint;
  cycle: string;
  /** Parked USDT on the owner's balance, base units. */
  usdtUnits: bigint;
  /** ETH owed to the owner and not yet parked (balance + converting batch shares), base units. */
  ethUnits: bigint;
  /** `usdtUnits` in cents, rounded down. */
  usdtCents: bigint;
  /** `ethUnits` at the latest ETH payment's rate, rounded down; 0 without such a payment. */
  ethCents: bigint;
  balanceCents: bigint;
  /** Marks of this cycle already queued for the owner (read with the balance, one statement). */
  queued: ThresholdMark[];
}

/** An ETH rate as an invoice gives it: `cents` for `units` of ETH (the payment's whole outcome). */
export interface EthRate {
  cents: bigint;
  units: bigint;
}

/** The outbox dedupe key, which is also notify-owner's: one message per channel, cycle and mark. */
export function thresholdProgressKey(channelId: string, cycle: string, mark: ThresholdMark): string {
  return `threshold_progress:${channelId}:${thresholdProgressSubject(cycle, mark)}`;
}

/** The message's `subjectId`: `<cycle>:<mark>`. */
export function thresholdProgressSubject(cycle: string, mark: ThresholdMark): string {
  return `${cycle}:${mark}`;
}

const SUBJECT = /^(first|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(50|100)$/;

export function parseThresholdProgressSubject(subjectId: string): { cycle: string; mark: ThresholdMark } | undefined {
  const match = SUBJECT.exec(subjectId);
  if (!match) return undefined;
  return { cycle: match[1]!, mark: Number(match[2]) as ThresholdMark };
}

/** Whether the balance is at or over `mark` % of the threshold, decided exactly. */
export function hasReached(progress: Pick<ThresholdProgress, 'balanceCents' | 'thresholdCents'>, mark: ThresholdMark): boolean {
  return progress.balanceCents * 100n >= progress.thresholdCents * BigInt(mark);
}

/** Whole percent of the threshold, rounded down (so 99.9 % never reads as 100 %). */
export function percentOfThreshold(progress: Pick<ThresholdProgress, 'balanceCents' | 'thresholdCents'>): bigint {
  return progress.thresholdCents > 0n ? (progress.balanceCents * 100n) / progress.thresholdCents : 0n;
}

interface ProgressRow {
  strategy: string;
  threshold_cents: bigint | null;
  cycle: string;
  usdt_units: string;
  eth_units: string;
  rate_cents: bigint | null;
  rate_units: string | null;
  queued: string[];
}

/**
 * One statement: the channel's threshold, cycle, balance in USDT and unparked ETH, the ETH rate and
 * which marks of the cycle are already queued. `rate` is the rate of the payment being settled when
 * it is ETH (the channel's latest), which spares the lookup. Undefined for an unknown channel.
 */
export async function readThresholdProgress(q: Queryable, channelId: string, rate?: EthRate): Promise<ThresholdProgress | undefined> {
  const usdtAccount = ledgerAccountCodes.owner(channelId, USDT);
  const ethAccount = ledgerAccountCodes.owner(channelId, ETH);
  const { rows } = await q.query<ProgressRow>(
    `WITH cycle AS (
       SELECT coalesce((SELECT id::text FROM payouts
                         WHERE channel_id = $1 AND kind IN ('threshold', 'balance') AND state NOT IN ('failed', 'refunded', 'cancelled')
                         ORDER BY requested_at DESC, id DESC LIMIT 1), $7) AS id),
     owed AS (
       SELECT coalesce(-sum(e.amount) FILTER (WHERE a.code = $2), 0) AS usdt, coalesce(-sum(e.amount) FILTER (WHERE a.code = $3), 0) AS eth
         FROM ledger_accounts a JOIN ledger_entries e ON e.account_id = a.id WHERE a.code IN ($2, $3)),
     parking AS (
       SELECT coalesce(sum(s.from_units), 0) AS eth FROM conversion_batch_shares s JOIN conversion_batches b ON b.id = s.batch_id
        WHERE s.channel_id = $1 AND b.state = 'converting' AND b.from_asset = 'ETH'),
     rate AS (
       SELECT p.price_amount_cents AS cents, p.settled_outcome_units AS units
         FROM ledger_accounts a JOIN ledger_entries e ON e.account_id = a.id
         JOIN ledger_transactions t ON t.id = e.transaction_id JOIN payments p ON p.id = t.payment_id
        WHERE $4::bigint IS NULL AND a.code = $3 AND t.kind = 'payment_settled' AND p.settled_outcome_units > 0
        ORDER BY t.occurred_at DESC, t.id DESC LIMIT 1)
     SELECT c.payout_strategy AS strategy, c.payout_threshold_cents AS threshold_cents, cycle.id AS cycle,
            owed.usdt::text AS usdt_units, (owed.eth + parking.eth)::text AS eth_units,
            coalesce($4::bigint, (SELECT cents FROM rate)) AS rate_cents, coalesce($5::numeric, (SELECT units FROM rate))::text AS rate_units,
            ARRAY(SELECT o.dedupe_key FROM outbox o WHERE o.dedupe_key IN ($6 || cycle.id || ':50', $6 || cycle.id || ':100')) AS queued
       FROM channels c, cycle, owed, parking
      WHERE c.id = $1`,
    [channelId, usdtAccount, ethAccount, rate?.cents.toString() ?? null, rate?.units.toString() ?? null, `threshold_progress:${channelId}:`, FIRST_CYCLE],
  );
  const row = rows[0];
  if (!row) return undefined;
  const thresholdCents = row.threshold_cents === null ? 0n : BigInt(row.threshold_cents);
  const usdtUnits = BigInt(row.usdt_units);
  const ethUnits = BigInt(row.eth_units);
  const usdtCents = usdtUnits / UNITS_PER_CENT;
  const rateUnits = row.rate_units === null ? 0n : BigInt(row.rate_units);
  const ethCents = row.rate_cents === null || rateUnits === 0n ? 0n : mulDiv(ethUnits, BigInt(row.rate_cents), rateUnits, 'floor');
  return {
    channelId,
    isThreshold: row.strategy === 'threshold' && thresholdCents > 0n,
    thresholdCents,
    cycle: row.cycle,
    usdtUnits,
    ethUnits,
    usdtCents,
    ethCents,
    balanceCents: usdtCents + ethCents,
    queued: THRESHOLD_MARKS.filter((mark) => row.queued.includes(thresholdProgressKey(channelId, row.cycle, mark))),
  };
}

/**
 * The `threshold_progress` messages a threshold channel is due after its balance grew: one per mark
 * the balance has reached in this cycle and that was not queued yet (both at once when one payment
 * jumps past both; notify-owner then tells only the higher). Checking the level rather than the
 * step of this payment means a mark missed earlier (no notification chat yet, the threshold lowered)
 * is caught up by the next payment. The caller must hold the channel's progress lock (on
 * `THRESHOLD_PROGRESS_LOCK_PREFIX` + channel id), so that two settlements of the channel at once read
 * each other's bookings; the outbox dedupe key makes a repeat enqueue nothing.
 */
export async function thresholdProgressMessages(q: Queryable, channelId: string, at: Date, rate?: EthRate): Promise<OutboxMessage[]> {
  const progress = await readThresholdProgress(q, channelId, rate);
  if (!progress?.isThreshold) return [];
  return THRESHOLD_MARKS.filter((mark) => hasReached(progress, mark) && !progress.queued.includes(mark)).map((mark) =>
    outboxMessage(
      'owner-notification-requested',
      { kind: 'threshold_progress', channelId, subjectId: thresholdProgressSubject(progress.cycle, mark) },
      { at, dedupeKey: thresholdProgressKey(channelId, progress.cycle, mark) },
    ),
  );
}

/** The advisory lock (`hashtext` of this) that serializes one channel's settlements for the progress check. */
export const THRESHOLD_PROGRESS_LOCK_PREFIX = 'threshold-progress:';

/** What happens after the 100 % mark, as the next payout run will decide it. */
export type ThresholdNextStep = 'hourly_run' | 'after_parking' | 'after_failed_payout';

/**
 * The next step once the threshold is reached: the hourly run pays when the parked USDT alone has
 * reached it; while part of the balance is still ETH, only after parking; and after a payout that
 * ended unpaid, on the schedule `isBalanceDue` gives the run (the owner was told when it failed).
 */
export async function thresholdNextStep(q: Queryable, progress: ThresholdProgress, now: Date): Promise<ThresholdNextStep> {
  const { rows } = await q.query<{ payout_currency: string; payout_network: string }>(
    `SELECT payout_currency, payout_network, ${storedWalletColumns('payout_wallet', 'payout_extra_id')} FROM channels WHERE id = $1`,
    [progress.channelId],
  );
  const row = rows[0];
  const channel = row && { ...row, wallet: storedWalletOf(row as unknown as Record<string, unknown>, 'payout_wallet', 'payout_extra_id') };
  const lastEnded = (await lastEndedPayouts(q, [progress.channelId])).get(`${progress.channelId}:${USDT}`);
  if (channel && !isBalanceDue({ ...channel, balance: progress.usdtUnits.toString() }, lastEnded, now)) return 'after_failed_payout';
  return progress.usdtCents >= progress.thresholdCents ? 'hourly_run' : 'after_parking';
}
