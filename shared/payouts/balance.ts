import { type StoredWallet, isSameStoredWallet, storedWalletColumns, storedWalletOf } from '../wallets/index.js';
import type { Clock } from '../clock/index.js';
import type { Db, Queryable, Tx } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { getAsset, isAssetCode, mulDiv } from '../money/index.js';
import { createPayout } from './create-payout.js';

export interface RunBalancePayoutsDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

export interface BalancePayoutsReport {
  /** Instant channels' balances (per asset) above zero and not claimed. */
  owed: number;
  /** Payouts requested by this run. */
  requested: number;
  /** Balances left for later: the wallet that failed is unchanged, or the last attempt is too recent. */
  waiting: number;
}

/** After a payout ended unpaid for a reason other than the wallet, its balance is tried again this much later. */
export const BALANCE_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * Failures that the same destination would meet again: the owner has to change the wallet (an
 * operator's rejection counts: that destination is not to be paid).
 */
const DESTINATION_REFUSED = new Set(['invalid_wallet_address', 'invalid_payout_extra_id', 'unsupported_payout_option', 'changenow_invalid_address']);

interface OwedBalance extends ChannelBalance {
  asset: string;
}

interface EndedPayout {
  channel_id: string;
  asset: string;
  state: 'failed' | 'refunded' | 'cancelled';
  failure_code: string | null;
  amount_units: string;
  state_changed_at: Date;
  destination_currency: string;
  destination_network: string;
  wallet: StoredWallet;
}

/** Instant channels' unclaimed owner balances, per asset (all of them, or one channel's one asset). */
async function owedBalances(q: Queryable, only?: { channelId: string; asset: string }): Promise<OwedBalance[]> {
  const { rows } = await q.query<Omit<OwedBalance, 'wallet'>>(
    `SELECT c.id AS channel_id, c.owner_account_id, a.asset, (-sum(e.amount))::text AS balance,
            c.payout_currency, c.payout_network, ${storedWalletColumns('c.payout_wallet', 'c.payout_extra_id')}
       FROM channels c
       JOIN ledger_accounts a ON a.channel_id = c.id
       JOIN ledger_entries e ON e.account_id = a.id
      WHERE c.payout_strategy = 'instant' AND ($1::uuid IS NULL OR (c.id = $1 AND a.asset = $2))
      GROUP BY c.id, a.asset
     HAVING -sum(e.amount) > 0
      ORDER BY c.id, a.asset`,
    [only?.channelId ?? null, only?.asset ?? null],
  );
  return rows.map((row) => ({ ...row, wallet: storedWalletOf(row as unknown as Record<string, unknown>, 'payout_wallet', 'payout_extra_id') }));
}

/**
 * Whether an owed balance is paid now. Not while a balance payout for it is still open. After a
 * payout of the channel in that asset ended unpaid: at once if the owner has since changed the
 * destination; else never when the destination was refused, only once the balance has grown after
 * the deferral limit (dust would be deferred a day again), and a day later otherwise.
 */
export function isBalanceDue(
  owed: Pick<OwedBalance, 'balance' | 'payout_currency' | 'payout_network' | 'wallet'>,
  lastEnded: EndedPayout | undefined,
  now: Date,
): boolean {
  if (!lastEnded) return true;
  const isSameDestination =
    lastEnded.destination_currency === owed.payout_currency &&
    lastEnded.destination_network === owed.payout_network &&
    isSameStoredWallet(lastEnded.wallet, owed.wallet);
  if (!isSameDestination) return true;
  if (lastEnded.state === 'cancelled' || DESTINATION_REFUSED.has(lastEnded.failure_code ?? '')) return false;
  if (lastEnded.failure_code === 'deferral_limit_reached') return BigInt(owed.balance) > BigInt(lastEnded.amount_units);
  return now.getTime() - lastEnded.state_changed_at.getTime() >= BALANCE_RETRY_AFTER_MS;
}

/** Per `<channel id>:<asset>`, the channel's payout in that asset that ended unpaid last. */
export async function lastEndedPayouts(q: Queryable, channelIds: readonly string[]): Promise<Map<string, EndedPayout>> {
  const { rows } = await q.query<Omit<EndedPayout, 'wallet'>>(
    `SELECT DISTINCT ON (channel_id, asset) channel_id, asset, state, failure_code, amount_units::text, state_changed_at,
            destination_currency, destination_network, ${storedWalletColumns('destination_wallet', 'destination_extra_id')}
       FROM payouts WHERE channel_id = ANY($1::uuid[]) AND state IN ('failed', 'refunded', 'cancelled')
      ORDER BY channel_id, asset, state_changed_at DESC`,
    [channelIds],
  );
  return new Map(rows.map((row) => [`${row.channel_id}:${row.asset}`, { ...row, wallet: storedWalletOf(row as unknown as Record<string, unknown>, 'destination_wallet', 'destination_extra_id') }]));
}

/**
 * The USD value of `units` of `asset` for the outflow limits: USDT at 1:1; otherwise at the rate of
 * the channel's latest settled payment in that asset (rounded up: the limits err on the safe side).
 * Null when there is none: the limits then hold the payout for an operator rather than guess.
 */
async function usdCentsOf(q: Queryable, channelId: string, asset: string, units: bigint): Promise<bigint | null> {
  if (asset === 'USDT_ERC20' && isAssetCode(asset)) return units / 10n ** BigInt(getAsset(asset).decimals - 2);
  const { rows } = await q.query<{ price_amount_cents: bigint; settled_outcome_units: string }>(
    `SELECT p.price_amount_cents, p.settled_outcome_units::text FROM payments p JOIN checkouts k ON k.id = p.checkout_id
      WHERE k.channel_id = $1 AND p.outcome_asset = $2 AND p.settled_outcome_units > 0
      ORDER BY p.settled_at DESC LIMIT 1`,
    [channelId, asset],
  );
  const rate = rows[0];
  return rate ? mulDiv(units, BigInt(rate.price_amount_cents), BigInt(rate.settled_outcome_units), 'ceil') : null;
}

/**
 * Part of the hourly `run-threshold-payouts`: pays instant channels' owners what is on their balance.
 * Settlement claims each payment's own net, so a balance on an instant channel is money that came back
 * (a payout failed before or after sending, a swap refunded, an operator rejected), a top-up's net, or
 * what the channel held when it switched from threshold to instant. Each owed balance that is due
 * (`isBalanceDue`) becomes one `balance` payout for exactly the amount read under the channel's lock,
 * claimed in the same transaction, to the destination set on the channel now; it then goes through the
 * usual stages (limits, wallet check, deferrals, swap or direct transfer).
 */
export async function runBalancePayouts(deps: RunBalancePayoutsDeps): Promise<BalancePayoutsReport> {
  const owed = await owedBalances(deps.db);
  const report: BalancePayoutsReport = { owed: owed.length, requested: 0, waiting: 0 };
  if (owed.length === 0) return report;
  const channelIds = [...new Set(owed.map((balance) => balance.channel_id))];
  const { rows: open } = await deps.db.query<{ channel_id: string; asset: string }>(
    `SELECT DISTINCT channel_id, asset FROM payouts
      WHERE channel_id = ANY($1::uuid[]) AND kind = 'balance' AND state NOT IN ('completed', 'failed', 'refunded', 'cancelled')`,
    [channelIds],
  );
  const lastEnded = await lastEndedPayouts(deps.db, channelIds);
  const key = (row: { channel_id: string; asset: string }) => `${row.channel_id}:${row.asset}`;
  const isOpen = new Set(open.map(key));
  const now = deps.clock.now();
  for (const candidate of owed) {
    if (isOpen.has(key(candidate)) || !isBalanceDue(candidate, lastEnded.get(key(candidate)), now)) {
      report.waiting += 1;
      continue;
    }
    const { channel_id: channelId, asset } = candidate;
    const payoutId = await claimChannelBalance(deps.db, {
      kind: 'balance',
      channelId,
      asset,
      claimDescription: 'Available balance of an instant channel',
      at: deps.clock.now(),
      // Claimed meanwhile, or the channel left the instant strategy: nothing.
      reread: async (tx) => (await owedBalances(tx, { channelId, asset }))[0],
      usdCentsOf: (tx, amount) => usdCentsOf(tx, channelId, asset, amount),
    });
    if (payoutId) {
      report.requested += 1;
      deps.logger.info('payout.balance_requested', { payoutId, channelId: candidate.channel_id, asset: candidate.asset });
    }
  }
  return report;
}

/** A channel's unclaimed balance in one asset, read under its lock, and the destination set on the channel now. */
export interface ChannelBalance {
  channel_id: string;
  owner_account_id: string;
  balance: string;
  payout_currency: string;
  payout_network: string;
  /** The channel's wallet as stored (copied onto the payout as is). */
  wallet: StoredWallet;
}

/**
 * One claim of a channel's whole balance in `asset` (threshold and balance runs): under the channel's
 * advisory lock (the one every claim on its balance takes), `reread` the balance, and claim exactly
 * that into a payout to the destination set now. Undefined when `reread` finds nothing (claimed by an
 * overlapping run, or no longer due).
 */
export async function claimChannelBalance(
  db: Db,
  input: {
    kind: 'threshold' | 'balance';
    channelId: string;
    asset: string;
    claimDescription: string;
    at: Date;
    reread: (tx: Tx) => Promise<ChannelBalance | undefined>;
    /** The amount's USD value for the limits and display (null: unknown, the limits hold the payout). */
    usdCentsOf: (tx: Tx, amount: bigint) => Promise<bigint | null>;
  },
): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('payouts:threshold:' || $1))`, [input.channelId]);
    const balance = await input.reread(tx);
    if (!balance) return undefined;
    const amount = BigInt(balance.balance);
    return createPayout(tx, {
      kind: input.kind,
      channelId: balance.channel_id,
      ownerAccountId: balance.owner_account_id,
      asset: input.asset,
      amountUnits: amount,
      amountUsdCents: await input.usdCentsOf(tx, amount),
      destination: { currency: balance.payout_currency, network: balance.payout_network, stored: balance.wallet },
      claimDescription: input.claimDescription,
      at: input.at,
    });
  });
}
