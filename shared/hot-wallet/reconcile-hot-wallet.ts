import { recordAuditEvent } from '../audit/index.js';
import type { Clock } from '../clock/index.js';
import type { Db, Tx } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { formatUnits, getAsset } from '../money/index.js';
import { queuedPayoutUnits } from '../payouts/index.js';
import { raiseOperatorAlert } from '../watchdog/index.js';
import type { HotWalletTarget } from './hot-wallet-assets.js';
import type { HotWalletChain } from './hot-wallet-chain.js';
import { formatAsset } from './position-report.js';
import { type AssetComparison, type HotWalletPosition, readHotWalletPosition, type Verdict } from './hot-wallet-position.js';

export interface ReconcileHotWalletDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  chain: HotWalletChain;
  target: HotWalletTarget;
  /**
   * A surplus is alerted once it has lasted this long. Default 60: a payment's funds reach the
   * wallet before its IPN is booked, and a swap's before track-payouts reads it finished, so a
   * young surplus is usually booking in progress. A deficit is alerted at once.
   */
  surplusAlertAfterMinutes?: number;
}

export interface HotWalletReconciliation {
  position: HotWalletPosition;
  /** Per asset: since when its verdict has been what it is now (null while matched). */
  driftSince: Record<string, string | null>;
  /** Alerts raised by this run (`hot_wallet.deficit`, `hot_wallet.unbooked_funds`, `hot_wallet.short_of_queued_payouts`). */
  alerts: string[];
}

const AUDIT_ACTION = 'hot_wallet.verdict_changed';

/**
 * The scheduled comparison of the hot wallet with the ledger (`reconcile-hot-wallet`, every 15
 * minutes): reads the position (`readHotWalletPosition`), records each change of an asset's verdict
 * in the audit log (`hot_wallet.verdict_changed`: the start and end of each drift), and alerts an
 * operator once per drift episode: a deficit at once (money is missing), a surplus once it has
 * lasted `surplusAlertAfterMinutes` (funds nobody booked: the alert says how to book them). It also
 * alerts, at most once a day per asset, when the payouts not signed yet need more than the wallet
 * can spend, so the float is topped up before a transfer fails.
 *
 * @throws TransientError `chain_unavailable` when the node cannot be read (the tick is redelivered).
 */
export async function reconcileHotWallet(deps: ReconcileHotWalletDeps): Promise<HotWalletReconciliation> {
  const position = await readHotWalletPosition(deps, deps.target);
  const now = deps.clock.now();
  const driftSince: Record<string, string | null> = {};
  const alerts: string[] = [];
  for (const comparison of position.assets) {
    const since = await deps.db.transaction((tx) => recordVerdict(tx, position, comparison, now));
    driftSince[comparison.asset] = since?.toISOString() ?? null;
    const alert = since ? await alertDrift(deps, position, comparison, since, now) : undefined;
    if (alert) alerts.push(alert);
    const context = {
      asset: comparison.asset,
      blockNumber: position.blockNumber,
      chainUnits: comparison.chainUnits,
      ledgerUnits: comparison.ledgerUnits,
      inFlightUnits: comparison.inFlightUnits,
      unexplainedUnits: comparison.unexplainedUnits,
      verdict: comparison.verdict,
    };
    if (comparison.verdict === 'matched') deps.logger.info('hot_wallet.reconciled', context);
    else deps.logger.warn('hot_wallet.drift', { ...context, since: since?.toISOString() });
  }
  alerts.push(...(await alertShortOfQueuedPayouts(deps, position, now)));
  if (!position.isEveryTransactionKnown) {
    deps.logger.warn('hot_wallet.unknown_transactions', { address: position.address, blockNumber: position.blockNumber, detail: 'the chain counts more transactions from the hot wallet than the gateway signed' });
  }
  return { position, driftSince, alerts };
}

/**
 * Records the verdict when it differs from the last one recorded for the asset, under a lock so that
 * overlapping runs agree on when a drift began. Returns when the current drift began (undefined when
 * matched).
 */
async function recordVerdict(tx: Tx, position: HotWalletPosition, comparison: AssetComparison, now: Date): Promise<Date | undefined> {
  const subjectId = `${position.chainId}:${position.address}:${comparison.asset}`;
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hot-wallet-verdict:${subjectId}`]);
  const { rows } = await tx.query<{ occurred_at: Date; verdict: Verdict }>(
    `SELECT occurred_at, details->>'verdict' AS verdict FROM audit_log
      WHERE subject_type = 'hot_wallet' AND subject_id = $1 AND action = $2
      ORDER BY occurred_at DESC, id DESC LIMIT 1`,
    [subjectId, AUDIT_ACTION],
  );
  const last = rows[0];
  const lastVerdict: Verdict = last?.verdict ?? 'matched';
  if (lastVerdict === comparison.verdict) return comparison.verdict === 'matched' ? undefined : (last?.occurred_at ?? now);
  await recordAuditEvent(tx, {
    occurredAt: now,
    actor: { type: 'system', id: 'reconcile-hot-wallet' },
    action: AUDIT_ACTION,
    subject: { type: 'hot_wallet', id: subjectId },
    details: {
      verdict: comparison.verdict,
      previous: lastVerdict,
      blockNumber: position.blockNumber.toString(),
      chainUnits: comparison.chainUnits.toString(),
      ledgerUnits: comparison.ledgerUnits.toString(),
      inFlightUnits: comparison.inFlightUnits.toString(),
      unexplainedUnits: comparison.unexplainedUnits.toString(),
    },
  });
  return comparison.verdict === 'matched' ? undefined : now;
}

async function alertDrift(deps: ReconcileHotWalletDeps, position: HotWalletPosition, comparison: AssetComparison, since: Date, now: Date): Promise<string | undefined> {
  const { asset, unexplainedUnits } = comparison;
  const details = {
    asset,
    address: position.address,
    blockNumber: position.blockNumber.toString(),
    chainUnits: comparison.chainUnits.toString(),
    ledgerUnits: comparison.ledgerUnits.toString(),
    inFlightUnits: comparison.inFlightUnits.toString(),
    unexplainedUnits: unexplainedUnits.toString(),
    since: since.toISOString(),
    action: 'npm run hot-wallet -- reconcile',
  };
  const subject = { subjectType: 'hot_wallet', subjectId: `${position.address}:${asset}`, episode: `${comparison.verdict}@${since.toISOString()}`, at: now, details };
  if (comparison.verdict === 'deficit') {
    const isRaised = await raiseOperatorAlert(deps.db, deps.logger, {
      kind: 'hot_wallet.deficit',
      ...subject,
      message:
        `The hot wallet holds ${formatAsset(-unexplainedUnits, asset)} less on chain than the ledger says, beyond everything in flight (block ${position.blockNumber}). ` +
        'Money is missing, or a transaction the gateway did not sign left the wallet: hold payouts, compare the wallet’s transactions with chain_transfers, and see npm run hot-wallet -- reconcile.',
    });
    return isRaised ? 'hot_wallet.deficit' : undefined;
  }
  const minutes = (now.getTime() - since.getTime()) / 60_000;
  if (minutes < (deps.surplusAlertAfterMinutes ?? 60)) return undefined;
  const amount = formatUnits(unexplainedUnits, getAsset(asset).decimals);
  const isRaised = await raiseOperatorAlert(deps.db, deps.logger, {
    kind: 'hot_wallet.unbooked_funds',
    ...subject,
    message:
      `The hot wallet has held ${formatAsset(unexplainedUnits, asset)} more on chain than the ledger knows of since ${since.toISOString()}. ` +
      'If it is a top-up of the float, book it: npm run hot-wallet -- book-capital ' +
      `--asset ${asset} --amount ${amount} --operator <you> --note <why> --tx <funding tx hash>. ` +
      'If it is a payment or a swap delivery, find why it was not booked (reconcile, track-payouts) instead.',
  });
  return isRaised ? 'hot_wallet.unbooked_funds' : undefined;
}

/**
 * The payouts not signed yet against what the wallet can spend of each asset: its balance on chain,
 * less what signed transfers the chain has not carried out yet will still take. Short → one
 * `hot_wallet.short_of_queued_payouts` alert per asset and UTC day (the cool-down), before a transfer fails.
 */
async function alertShortOfQueuedPayouts(deps: ReconcileHotWalletDeps, position: HotWalletPosition, now: Date): Promise<string[]> {
  const queued = await queuedPayoutUnits(deps.db);
  const raised: string[] = [];
  for (const comparison of position.assets) {
    const need = queued.get(comparison.asset);
    if (!need) continue;
    const pending = comparison.transfersInFlightUnits > 0n ? comparison.transfersInFlightUnits : 0n;
    const spendable = comparison.chainUnits - pending;
    if (need.units <= spendable) continue;
    const details = {
      asset: comparison.asset,
      address: position.address,
      blockNumber: position.blockNumber.toString(),
      spendableUnits: spendable.toString(),
      queuedUnits: need.units.toString(),
      queuedPayouts: need.payouts,
      shortUnits: (need.units - spendable).toString(),
      action: 'npm run hot-wallet -- reconcile',
    };
    const isRaised = await raiseOperatorAlert(deps.db, deps.logger, {
      kind: 'hot_wallet.short_of_queued_payouts',
      subjectType: 'hot_wallet',
      subjectId: `${position.address}:${comparison.asset}`,
      episode: now.toISOString().slice(0, 10),
      at: now,
      details,
      message:
        `${need.payouts} payout(s) not signed yet need ${formatAsset(need.units, comparison.asset)} and the hot wallet can spend ${formatAsset(spendable, comparison.asset)}. ` +
        'Top up the float (then book it: npm run hot-wallet -- book-capital) before their transfers fail.',
    });
    if (isRaised) raised.push('hot_wallet.short_of_queued_payouts');
  }
  return raised;
}
