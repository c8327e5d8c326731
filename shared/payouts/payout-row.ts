import type { Queryable, Tx } from '../db/index.js';
import { PermanentError } from '../errors/index.js';
import { ledgerAccountCodes, postLedgerTransaction } from '../ledger/index.js';
import type { PayoutState } from './payout-state.js';

/** What the payout stages re-read from `payouts` before acting: never taken from a message. */
export interface PayoutRow {
  id: string;
  state: PayoutState;
  channelId: string | null;
  asset: string;
  amountUnits: bigint;
  destinationCurrency: string;
  destinationNetwork: string;
  destinationWallet: string;
  destinationExtraId: string | null;
}

/** The payout by id. @throws PermanentError `payout_not_found`. */
export async function retrievePayout(q: Queryable, payoutId: string, options: { lock?: boolean } = {}): Promise<PayoutRow> {
  const { rows } = await q.query<{
    id: string;
    state: PayoutState;
    channel_id: string | null;
    asset: string;
    amount_units: string;
    destination_currency: string;
    destination_network: string;
    destination_wallet: string;
    destination_extra_id: string | null;
  }>(
    `SELECT id, state, channel_id, asset, amount_units::text, destination_currency, destination_network, destination_wallet, destination_extra_id
       FROM payouts WHERE id = $1${options.lock ? ' FOR NO KEY UPDATE' : ''}`,
    [payoutId],
  );
  const row = rows[0];
  if (!row) throw new PermanentError('payout_not_found', 'No payout has this id.', { payoutId });
  return {
    id: row.id,
    state: row.state,
    channelId: row.channel_id,
    asset: row.asset,
    amountUnits: BigInt(row.amount_units),
    destinationCurrency: row.destination_currency,
    destinationNetwork: row.destination_network,
    destinationWallet: row.destination_wallet,
    destinationExtraId: row.destination_extra_id,
  };
}

/**
 * Whether the owner is paid in the asset the hot wallet holds, on Ethereum: then there is no swap and
 * the transfer goes straight to the destination (ETH → ETH/ETH, USDT_ERC20 → USDT/ETH).
 */
export function isDirectPayout(payout: Pick<PayoutRow, 'asset' | 'destinationCurrency' | 'destinationNetwork'>): boolean {
  if (payout.destinationNetwork !== 'ETH') return false;
  return (payout.asset === 'ETH' && payout.destinationCurrency === 'ETH') || (payout.asset === 'USDT_ERC20' && payout.destinationCurrency === 'USDT');
}

/**
 * Gives a payout's amount back to its owner while it is still claimed (`payouts:in_flight`, nothing
 * sent): a `payout_returned` ledger transaction, once per payout. A conversion payout has no owner.
 */
export async function returnUnsentPayout(tx: Tx, payout: PayoutRow, at: Date, description: string): Promise<void> {
  if (!payout.channelId) return;
  await postLedgerTransaction(tx, {
    kind: 'payout_returned',
    idempotencyKey: `return:${payout.id}`,
    occurredAt: at,
    payoutId: payout.id,
    description: description.slice(0, 500),
    entries: [
      { account: ledgerAccountCodes.payoutsInFlight(payout.asset), asset: payout.asset, amount: payout.amountUnits },
      { account: ledgerAccountCodes.owner(payout.channelId, payout.asset), asset: payout.asset, amount: -payout.amountUnits },
    ],
  });
}
