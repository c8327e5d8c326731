import { storedWalletColumns, storedWalletOf } from '../wallets/index.js';
import type { Clock } from '../clock/index.js';
import type { Db, Queryable } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { getAsset } from '../money/index.js';
import { type ChannelBalance, claimChannelBalance, isBalanceDue, lastEndedPayouts } from './balance.js';

/** Threshold owners are paid from their parked USDT. */
export const PAYOUT_ASSET = 'USDT_ERC20';
/** USDT base units per USD cent (6 decimals; 1 USDT taken as 1 USD). */
export const UNITS_PER_CENT = 10n ** BigInt(getAsset(PAYOUT_ASSET).decimals - 2);

export interface RunThresholdPayoutsDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

export interface ThresholdPayoutsReport {
  /** Channels whose USDT balance had reached their threshold. */
  due: number;
  /** Payouts requested by this run. */
  requested: number;
  /** Over the threshold but left for later after their last payout ended unpaid (see `isBalanceDue`). */
  waiting: number;
}

interface DueChannel extends ChannelBalance {
  payout_threshold_cents: bigint;
}

/** Threshold channels whose parked USDT has reached the threshold (all of them, or just `channelId`). */
async function dueChannels(q: Queryable, channelId?: string): Promise<DueChannel[]> {
  const { rows } = await q.query<Omit<DueChannel, 'wallet'>>(
    `SELECT c.id AS channel_id, c.owner_account_id, (-sum(e.amount))::text AS balance, c.payout_threshold_cents,
            c.payout_currency, c.payout_network, ${storedWalletColumns('c.payout_wallet', 'c.payout_extra_id')}
       FROM channels c
       JOIN ledger_accounts a ON a.channel_id = c.id AND a.asset = $1
       JOIN ledger_entries e ON e.account_id = a.id
      WHERE c.payout_strategy = 'threshold' AND ($3::uuid IS NULL OR c.id = $3)
      GROUP BY c.id
     HAVING -sum(e.amount) >= c.payout_threshold_cents * $2::numeric
      ORDER BY c.id`,
    [PAYOUT_ASSET, UNITS_PER_CENT.toString(), channelId ?? null],
  );
  return rows.map((row) => ({ ...row, wallet: storedWalletOf(row as unknown as Record<string, unknown>, 'payout_wallet', 'payout_extra_id') }));
}

/**
 * `run-threshold-payouts` (hourly): one payout per threshold owner whose parked USDT has reached
 * their threshold, for exactly the balance read under that channel's lock, in the transaction that
 * claims it (`payout_claimed`: owner → payouts in flight). USDT parked while this runs stays on the
 * balance for the next payout; an overlapping run finds the balance claimed and does nothing.
 *
 * The payout goes to the wallet set on the channel now (the payout row keeps that snapshot), then
 * through the usual stages: a direct ERC-20 transfer for USDT on Ethereum, else a ChangeNow swap.
 * A channel that is paused or deleted is still paid what it is owed.
 */
export async function runThresholdPayouts(deps: RunThresholdPayoutsDeps): Promise<ThresholdPayoutsReport> {
  const due = await dueChannels(deps.db);
  // A payout that ended unpaid is not retried every hour (the owner would hear "not sent" hourly):
  // the same rules as an instant owner's balance.
  const lastEnded = await lastEndedPayouts(deps.db, due.map((channel) => channel.channel_id));
  let requested = 0;
  let waiting = 0;
  for (const candidate of due) {
    if (!isBalanceDue(candidate, lastEnded.get(`${candidate.channel_id}:${PAYOUT_ASSET}`), deps.clock.now())) {
      waiting += 1;
      continue;
    }
    const payoutId = await claimChannelBalance(deps.db, {
      kind: 'threshold',
      channelId: candidate.channel_id,
      asset: PAYOUT_ASSET,
      claimDescription: 'Threshold reached',
      at: deps.clock.now(),
      // Claimed by an overlapping run, or the threshold changed: nothing.
      reread: async (tx) => (await dueChannels(tx, candidate.channel_id))[0],
      usdCentsOf: async (_tx, amount) => amount / UNITS_PER_CENT,
    });
    if (payoutId) {
      requested += 1;
      deps.logger.info('payout.threshold_requested', { payoutId, channelId: candidate.channel_id });
    }
  }
  return { due: due.length, requested, waiting };
}
