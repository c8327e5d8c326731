import type { Queryable } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import { balanceOf } from '../ledger/index.js';
import { formatUnits, getAsset } from '../money/index.js';
import { FINISHED_PAYOUT_STATES } from '../payouts/index.js';
import type { BalancesResource } from './earnings-schemas.js';


/**
 * What the account is owed, per channel and asset and in total: `available` is the owner ledger
 * balance (`owner:<channel>:<asset>`, read with `balanceOf`), `inPayouts` what has been claimed from
 * it and is still on its way: the owner's payouts not yet finished, and shares of a conversion
 * batch still converting. Deleted channels count: their balance is still owed. No USD value: we
 * keep no exchange rate, and a guessed one would mislead.
 */
export async function listBalances(deps: { db: Queryable }, actor: { accountId: string }): Promise<BalancesResource> {
  const { rows: accounts } = await deps.db.query<{ code: string; asset: string; channel_id: string }>(
    `SELECT a.code, a.asset, a.channel_id FROM ledger_accounts a JOIN channels c ON c.id = a.channel_id
      WHERE c.owner_account_id = $1 ORDER BY c.created_at, c.id, a.asset`,
    [actor.accountId],
  );
  // Claimed and not yet delivered: the owner's own payouts on their way, and shares of a batch
  // being converted into the parking asset (credited back as that asset when it completes).
  const { rows: inFlight } = await deps.db.query<{ channel_id: string; asset: string; units: string }>(
    `SELECT channel_id, asset, sum(units)::text AS units FROM (
       SELECT channel_id, asset, amount_units AS units FROM payouts
        WHERE owner_account_id = $1 AND kind IN ('instant', 'threshold', 'balance') AND state <> ALL($2::text[])
       UNION ALL
       SELECT s.channel_id, b.from_asset, s.from_units FROM conversion_batch_shares s
         JOIN conversion_batches b ON b.id = s.batch_id JOIN channels c ON c.id = s.channel_id
        WHERE c.owner_account_id = $1 AND b.state = 'converting') claimed
      GROUP BY channel_id, asset`,
    [actor.accountId, FINISHED_PAYOUT_STATES],
  );

  type Cell = { available: bigint; inPayouts: bigint };
  const byChannel = new Map<string, Map<string, Cell>>();
  const cell = (channelId: string, asset: string): Cell => {
    let assets = byChannel.get(channelId);
    if (!assets) byChannel.set(channelId, (assets = new Map()));
    let value = assets.get(asset);
    if (!value) assets.set(asset, (value = { available: 0n, inPayouts: 0n }));
    return value;
  };
  for (const account of accounts) cell(account.channel_id, account.asset).available = await balanceOf(deps.db, account.code, account.asset);
  for (const row of inFlight) cell(row.channel_id, row.asset).inPayouts = BigInt(row.units);

  const totals = new Map<string, Cell>();
  const format = (asset: string, value: Cell) => ({
    asset,
    available: formatUnits(value.available, getAsset(asset).decimals),
    inPayouts: formatUnits(value.inPayouts, getAsset(asset).decimals),
  });
  const channels = [...byChannel].map(([channelId, assets]) => ({
    channelId: formatPublicId('channel', channelId),
    balances: [...assets].sort(([a], [b]) => a.localeCompare(b)).map(([asset, value]) => {
      const total = totals.get(asset) ?? { available: 0n, inPayouts: 0n };
      totals.set(asset, { available: total.available + value.available, inPayouts: total.inPayouts + value.inPayouts });
      return format(asset, value);
    }),
  }));
  return { totals: [...totals].sort(([a], [b]) => a.localeCompare(b)).map(([asset, value]) => format(asset, value)), channels };
}
