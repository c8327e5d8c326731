import {
  broadcastStoredTransfer,
  type ChainTransfer,
  replaceStoredTransfer,
  signAndStoreTransfer,
  type SigningDeps,
  type TransferDeps,
  type TransferLock,
  type TransferRequest,
} from '../chain/index.js';
import type { AlongsideWrite, Queryable } from '../db/index.js';
import { errorCode } from '../errors/index.js';
import { ledgerAccountCodes } from '../ledger/index.js';
import { movePayoutWith, type PayoutState, payoutMoveWrite } from './payout-state.js';
import { isDirectPayout, type PayoutColumns, payoutColumns, type PayoutRow, payoutDestinationOf, retrievePayoutAndTransfer, toPayoutRow } from './payout-row.js';
import { payoutError } from './errors.js';

export type SendTransferOutcome = 'skipped' | 'broadcast' | 'replaced' | 'fee_capped' | 'in_mempool';

/**
 * `send-transfer`: signs the payout's one transaction (stored before broadcast, `→ transfer_signed`
 * in the same database transaction) and broadcasts the stored bytes (`→ transfer_broadcast` with the
 * `payout_funded` ledger transaction). Amount and recipient come from the database, read here and
 * handed to chain/ as a plain transfer request: the payout's amount, to the swap's deposit address
 * when the payout has a swap, else to the destination; read again under the payout row lock in the
 * signing transaction.
 *
 * Acts only on a direct payout in `quoted`, a payout in `swap_created`, or one already signed or
 * broadcast: then it broadcasts a transfer signed but never sent, checks a broadcast one with the
 * node, re-broadcasts the stored bytes when the node forgot them, and replaces them at the same nonce
 * with a higher fee when the node will not take them any more (track-payouts asks for all of these
 * with `transfer-requested`: only this stage opens the sealed bytes). Anything else — e.g. a
 * forged message for a swap payout that has no exchange yet — changes nothing.
 *
 * @throws TransientError `gas_price_above_cap`, `hot_wallet_insufficient_funds`, `chain_unavailable`, …: redelivered.
 */
export async function sendTransfer(deps: SigningDeps, payoutId: string): Promise<SendTransferOutcome> {
  const { payout, stored } = await retrievePayoutAndTransfer(deps.db, payoutId);
  if (!stored) {
    const isReady = payout.state === 'swap_created' || (payout.state === 'quoted' && isDirectPayout(payout));
    if (!isReady) return 'skipped';
    const signed = await signAndStoreTransfer(deps, {
      key: payoutId,
      isKnownUnsigned: true, // read above
      request: await transferRequestFor(deps.db, payout),
      lock: lockPayoutForTransfer(payoutId),
      // Under the lock, a payout that may still be sent is in the state read above (a direct payout
      // never reaches swap_created, and swap_created never goes back); any other state fails the check first.
      storedWith: payoutMoveWrite({ payoutId, from: payout.state, to: 'transfer_signed', at: deps.clock.now() }),
    });
    await broadcastPayoutTransfer(deps, payoutId, signed.isNew ? signed.transfer : undefined);
    return 'broadcast';
  }
  if (payout.state !== 'transfer_signed' && payout.state !== 'transfer_broadcast') return 'skipped';
  if (payout.state === 'transfer_signed') {
    try {
      await broadcastPayoutTransfer(deps, payoutId);
      return 'broadcast';
    } catch (error) {
      if (errorCode(error) !== 'transfer_fee_below_base_fee') throw error;
    }
  }
  const standing = await replaceStoredTransfer(deps, payoutId, { recordWith: (broadcast, transfer) => recordBroadcast(deps, transfer, broadcast) });
  if (standing === 'replaced' || standing === 'fee_capped') return standing;
  if (standing === 'rebroadcast') return 'broadcast';
  return 'in_mempool';
}

/** Payout states from which a transfer may be signed (the states that can advance to `transfer_signed`). */
const SIGNABLE_STATES: ReadonlySet<PayoutState> = new Set(['quoted', 'swap_created']);

/**
 * What the payout's transfer sends: its amount, to its destination when the payout is direct (the
 * owner takes the asset itself: no swap, nothing to read), else to its swap's deposit address. A
 * payout that needs a swap and has none is refused: its asset must never go to the owner's wallet.
 */
async function transferRequestFor(q: Queryable, payout: PayoutRow): Promise<TransferRequest> {
  if (isDirectPayout(payout)) return transferRequestOf(payout, undefined);
  const swaps = await q.query<{ deposit_address: string }>('SELECT deposit_address FROM swaps WHERE payout_id = $1', [payout.id]);
  return transferRequestOf(payout, swaps.rows[0]?.deposit_address);
}

/** `transferRequestFor` of a payout whose swap's deposit address (if any) was read with it. */
function transferRequestOf(payout: PayoutRow, depositAddress: string | null | undefined): TransferRequest {
  if (isDirectPayout(payout)) {
    return { asset: payout.asset, amountUnits: payout.amountUnits, to: payoutDestinationOf(payout).wallet, toIndex: payout.destination.index };
  }
  if (depositAddress === undefined || depositAddress === null) {
    throw payoutError('payout_not_ready_for_transfer', 'The payout needs a swap and has none to send to.', { payoutId: payout.id });
  }
  return { asset: payout.asset, amountUnits: payout.amountUnits, to: depositAddress };
}

/**
 * The signing transaction's first step: locks the payout row (signers of one payout wait here, then
 * find the first one's transfer) and re-reads what to send, its swap's deposit address with it. A
 * payout still in a state that may be sent has no transfer: its transfer is stored in the transaction
 * that moves it to `transfer_signed` (`storedWith`), and no state leads back; the check, run only when
 * no transfer is stored, refuses a payout that left those states.
 */
function lockPayoutForTransfer(payoutId: string): TransferLock {
  return {
    sql: `SELECT ${payoutColumns('p')}, s.deposit_address AS swap_deposit_address
            FROM payouts p LEFT JOIN swaps s ON s.payout_id = p.id WHERE p.id = $1 FOR NO KEY UPDATE OF p`,
    params: [payoutId],
    unsignedWhen: `state IN (${[...SIGNABLE_STATES].map((state) => `'${state}'`).join(', ')})`,
    check: (row) => {
      if (!row) throw payoutError('payout_not_found', 'No payout has this id.', { payoutId });
      const payout = toPayoutRow(row as unknown as PayoutColumns);
      if (!SIGNABLE_STATES.has(payout.state)) {
        throw payoutError('payout_not_ready_for_transfer', 'The payout is not in a state that may be sent.', { payoutId, state: payout.state });
      }
      return transferRequestOf(payout, row.swap_deposit_address as string | null);
    },
  };
}

/**
 * Broadcasts the stored transfer (again) and records it: `transfer_signed → transfer_broadcast` and
 * `payout_funded` (payouts in flight → out of the hot wallet), once. When the transfer was already
 * settled on chain (we crashed after broadcasting), the same bookkeeping runs without sending anything.
 */
async function broadcastPayoutTransfer(deps: TransferDeps, payoutId: string, justStored?: ChainTransfer): Promise<void> {
  const result = await broadcastStoredTransfer(deps, payoutId, {
    recordWith: (broadcast, transfer) => recordBroadcast(deps, transfer, broadcast),
    ...(justStored ? { justStored } : {}),
  });
  if (result.outcome === 'settled') await recordBroadcast(deps, result.transfer);
}

/**
 * The payout's move to `transfer_broadcast` and its `payout_funded` in one statement (no transaction
 * around it), with the broadcast's own record when given (`broadcast`): all or nothing, once. Returns
 * whether the broadcast's write recorded it. A stop before it leaves the payout `transfer_signed` and
 * the transfer `signed`; track-payouts then asks for the broadcast again, and this runs again.
 */
async function recordBroadcast(deps: TransferDeps, transfer: ChainTransfer, broadcast?: AlongsideWrite): Promise<boolean> {
  const at = deps.clock.now();
  const recorded = await movePayoutWith(deps.db, {
    payoutId: transfer.payoutId,
    from: 'transfer_signed',
    to: 'transfer_broadcast',
    at,
    posting: {
      when: 'moved',
      transaction: {
        kind: 'payout_funded',
        idempotencyKey: `funded:${transfer.payoutId}`,
        occurredAt: at,
        payoutId: transfer.payoutId,
        description: `Transfer ${transfer.txHash}`,
        entries: [
          { account: ledgerAccountCodes.payoutsInFlight(transfer.asset), asset: transfer.asset, amount: transfer.amountUnits },
          { account: ledgerAccountCodes.hotWallet(transfer.asset), asset: transfer.asset, amount: -transfer.amountUnits },
        ],
      },
    },
  }, broadcast);
  return recorded.writtenRows > 0;
}
