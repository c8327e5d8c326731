import { clearWallet } from '../wallets/index.js';
import { randomUUID } from 'node:crypto';
import { enqueueMessage } from '../bus/index.js';
import type { ChangeNowClient, SwapPair } from '../changenow/index.js';
import type { Clock } from '../clock/index.js';
import type { Db, Queryable, Tx } from '../db/index.js';
import { ledgerAccountCodes, postLedgerTransaction } from '../ledger/index.js';
import { createPayout } from './create-payout.js';
import type { Logger } from '../logging/index.js';
import { formatUnits, getAsset, parseUnits, splitByLargestRemainder } from '../money/index.js';
import type { PayoutRow } from './payout-row.js';
import { payoutError } from './errors.js';

/** Threshold owners' ETH is parked as USDT on Ethereum, in the hot wallet. */
const FROM_ASSET = 'ETH';
const TO_ASSET = 'USDT_ERC20';
const PARKING_PAIR: SwapPair = { fromCurrency: 'eth', fromNetwork: 'eth', toCurrency: 'usdt', toNetwork: 'eth' };

export interface ConvertAccumulatedDeps {
  db: Db;
  clock: Clock;
  changenow: ChangeNowClient;
  /** The hot wallet: the parked USDT arrives here (it is also the swap's refund address). */
  hotWalletAddress: string;
  /** Smallest batch worth a swap, valued in USDT at ChangeNow's estimate (`CONVERSION_MIN_BATCH_USD_CENTS`). */
  minBatchUsdCents: bigint;
  logger: Logger;
}

export type ConvertAccumulatedResult =
  | { outcome: 'nothing_to_convert' }
  | { outcome: 'below_minimum'; totalUnits: bigint; reason: 'below_swap_minimum' | 'below_batch_minimum' }
  | { outcome: 'claimed'; batchId: string; payoutId: string; totalUnits: bigint; channelCount: number };

interface OwnerBalance {
  channelId: string;
  units: bigint;
}

/**
 * What threshold owners hold in `asset` and is not yet claimed by anything: their owner balances.
 * Only the owners' net is there (settlement books the platform fee elsewhere), so only the net is
 * converted.
 */
async function thresholdOwnerBalances(q: Queryable, asset: string): Promise<OwnerBalance[]> {
  const { rows } = await q.query<{ channel_id: string; balance: string }>(
    `SELECT a.channel_id, (-sum(e.amount))::text AS balance
       FROM ledger_accounts a
       JOIN channels c ON c.id = a.channel_id
       JOIN ledger_entries e ON e.account_id = a.id
      WHERE a.asset = $1 AND c.payout_strategy = 'threshold'
      GROUP BY a.channel_id
     HAVING -sum(e.amount) > 0
      ORDER BY a.channel_id`,
    [asset],
  );
  return rows.map((row) => ({ channelId: row.channel_id, units: BigInt(row.balance) }));
}

const sumUnits = (balances: readonly OwnerBalance[]) => balances.reduce((sum, balance) => sum + balance.units, 0n);

/**
 * `convert-accumulated` (every 15 minutes): parks threshold owners' ETH as USDT, many payments per swap.
 *
 * 1. Outside any transaction: the unconverted total, ChangeNow's minimum and its USDT estimate; below
 *    either minimum nothing happens (the balances stay and the next tick looks again).
 * 2. One transaction under an advisory lock, so overlapping ticks take turns: re-read the balances
 *    (a tick that ran meanwhile has claimed them, leaving nothing or dust), check both minimums again
 *    against what is there now (the rate and minimum from step 1), claim exactly what was read
 *    (`payout_claimed`: owners → payouts in flight), and record the `conversion` payout to our own
 *    wallet, the batch and each owner's share. A payment settled after this commit waits for the
 *    next batch. The payout then goes through the same stages as any other (quote, swap, transfer,
 *    tracking); `distributeConversion` or a failure return finishes the batch.
 */
export async function convertAccumulated(deps: ConvertAccumulatedDeps): Promise<ConvertAccumulatedResult> {
  const seen = sumUnits(await thresholdOwnerBalances(deps.db, FROM_ASSET));
  if (seen === 0n) return { outcome: 'nothing_to_convert' };
  const decimals = getAsset(FROM_ASSET).decimals;
  const minimum = await deps.changenow.minAmount(PARKING_PAIR);
  if (seen < parseUnits(minimum.minAmount, decimals, 'ceil')) return { outcome: 'below_minimum', totalUnits: seen, reason: 'below_swap_minimum' };
  const estimate = await deps.changenow.estimate(PARKING_PAIR, formatUnits(seen, decimals));
  const estimatedCents = parseUnits(estimate.toAmount, 2, 'floor'); // 1 USDT taken as 1 USD
  if (estimatedCents < deps.minBatchUsdCents) return { outcome: 'below_minimum', totalUnits: seen, reason: 'below_batch_minimum' };

  const minUnits = parseUnits(minimum.minAmount, decimals, 'ceil');
  const at = deps.clock.now();
  const claimed = await deps.db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('payouts:conversion_batches'))`);
    const balances = await thresholdOwnerBalances(tx, FROM_ASSET);
    const total = sumUnits(balances);
    // Checked again under the lock: an overlapping tick may have claimed what we saw, leaving only
    // dust settled since, which must wait for a batch worth a swap rather than be deferred for ever.
    if (total === 0n) return undefined;
    if (total < minUnits || (estimatedCents * total) / seen < deps.minBatchUsdCents) return { kind: 'below_minimum', total } as const;
    const batchId = randomUUID();
    // The USD value at the estimate's rate, for display; conversions are not subject to outflow limits.
    const payoutId = await createPayout(tx, {
      kind: 'conversion',
      batchId,
      shares: balances,
      asset: FROM_ASSET,
      amountUnits: total,
      amountUsdCents: (estimatedCents * total) / seen,
      // The platform's own hot wallet: no owner's secret, kept in clear.
      destination: { currency: 'USDT', network: 'ETH', stored: clearWallet(deps.hotWalletAddress) },
      claimDescription: `ETH of ${balances.length} threshold owners parked as USDT`,
      at,
    });
    await tx.query(
      `INSERT INTO conversion_batches (id, payout_id, from_asset, to_asset, total_from_units, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6)`,
      [batchId, payoutId, FROM_ASSET, TO_ASSET, total.toString(), at],
    );
    await tx.query(
      `INSERT INTO conversion_batch_shares (batch_id, channel_id, from_units)
       SELECT $1, share.channel_id, share.from_units FROM unnest($2::uuid[], $3::numeric[]) AS share (channel_id, from_units)`,
      [batchId, balances.map((balance) => balance.channelId), balances.map((balance) => balance.units.toString())],
    );
    return { kind: 'claimed', batchId, payoutId, total, channelCount: balances.length } as const;
  });
  if (!claimed) return { outcome: 'nothing_to_convert' };
  if (claimed.kind === 'below_minimum') return { outcome: 'below_minimum', totalUnits: claimed.total, reason: claimed.total < minUnits ? 'below_swap_minimum' : 'below_batch_minimum' };
  deps.logger.info('conversion.batch_claimed', { batchId: claimed.batchId, payoutId: claimed.payoutId, totalUnits: claimed.total, channels: claimed.channelCount });
  return { outcome: 'claimed', batchId: claimed.batchId, payoutId: claimed.payoutId, totalUnits: claimed.total, channelCount: claimed.channelCount };
}

/**
 * A conversion payout's swap finished: the USDT received (`amountTo`, in the hot wallet) is split
 * across the batch's owners in proportion to the ETH each put in, by largest remainder, so the
 * shares sum exactly to what arrived. One `conversion_completed` ledger transaction (hot wallet USDT
 * in, each owner's USDT balance credited), the shares and the batch in the caller's transaction —
 * the one that completes the payout — so a replay does nothing. Each owner is told.
 */
export async function distributeConversion(tx: Tx, payout: PayoutRow, amountTo: string, at: Date): Promise<void> {
  const { rows } = await tx.query<{ id: string; state: string }>('SELECT id, state FROM conversion_batches WHERE payout_id = $1 FOR UPDATE', [payout.id]);
  const batch = rows[0];
  if (!batch) throw payoutError('conversion_batch_not_found', 'The conversion payout has no batch.', { payoutId: payout.id });
  if (batch.state !== 'converting') return;
  const { rows: shareRows } = await tx.query<{ channel_id: string; from_units: string }>(
    'SELECT channel_id, from_units::text FROM conversion_batch_shares WHERE batch_id = $1 ORDER BY channel_id',
    [batch.id],
  );
  const received = parseUnits(amountTo, getAsset(TO_ASSET).decimals, 'floor');
  if (received <= 0n) throw payoutError('conversion_received_nothing', 'ChangeNow reports the parking swap finished with nothing received.', { payoutId: payout.id, amountTo });
  const toUnits = splitByLargestRemainder(received, shareRows.map((share) => BigInt(share.from_units)));
  const transactionId = await postLedgerTransaction(tx, {
      kind: 'conversion_completed',
      idempotencyKey: `conversion-completed:${batch.id}`,
      occurredAt: at,
      conversionBatchId: batch.id,
      payoutId: payout.id,
      description: `${amountTo} USDT for ${shareRows.length} threshold owners`,
      entries: [
        { account: ledgerAccountCodes.hotWallet(TO_ASSET), asset: TO_ASSET, amount: received },
        ...shareRows
          .map((share, index) => ({ account: ledgerAccountCodes.owner(share.channel_id, TO_ASSET), asset: TO_ASSET, amount: -(toUnits[index] ?? 0n) }))
          .filter((entry) => entry.amount !== 0n),
      ],
    });
  await tx.query(
    `UPDATE conversion_batch_shares AS s SET to_units = share.to_units
       FROM unnest($2::uuid[], $3::numeric[]) AS share (channel_id, to_units)
      WHERE s.batch_id = $1 AND s.channel_id = share.channel_id`,
    [batch.id, shareRows.map((share) => share.channel_id), toUnits.map((units) => units.toString())],
  );
  await tx.query(
    `UPDATE conversion_batches SET state = 'distributed', received_to_units = $2, completion_transaction_id = $3, completed_at = $4, updated_at = $4
      WHERE id = $1`,
    [batch.id, received.toString(), transactionId, at],
  );
  for (const [index, share] of shareRows.entries()) {
    if ((toUnits[index] ?? 0n) === 0n) continue;
    await enqueueMessage(
      tx,
      'owner-notification-requested',
      { kind: 'balance_parked', channelId: share.channel_id, subjectId: batch.id },
      { at, dedupeKey: `balance_parked:${batch.id}:${share.channel_id}` },
    );
  }
}
