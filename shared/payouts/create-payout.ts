import { randomUUID } from 'node:crypto';
import { type InsertedOutboxRow, type OutboxMessage, outboxInsert, outboxMessage } from '../bus/index.js';
import type { AlongsideWrite, Tx } from '../db/index.js';
import { ledgerAccountCodes, ledgerPosting, type PostingColumns, runWithLedgerPosting } from '../ledger/index.js';
import { payoutError } from './errors.js';
import { type StoredWallet, storedWalletValues } from '../wallets/index.js';

/**
 * Where a payout goes: a snapshot copied onto the row, so a later wallet edit cannot redirect it.
 * The wallet is copied as stored (sealed for the owner: no key needed here).
 */
export interface PayoutDestination {
  currency: string;
  network: string;
  stored: StoredWallet;
}

/** What each kind of payout claims from, and what its row and claim name besides the amount. */
export type PayoutOrigin =
  /** One settled payment's net, on its channel. One instant payout per payment (claim `claim:instant:<payment>`). */
  | { kind: 'instant'; channelId: string; ownerAccountId: string; paymentId: string }
  /** A channel's whole balance in `asset` (claim `threshold-claim:<payout>` / `balance-claim:<payout>`). */
  | { kind: 'threshold' | 'balance'; channelId: string; ownerAccountId: string }
  /**
   * Threshold owners' ETH parked in USDT: no channel, each share claimed from its owner, the batch
   * named on the claim (`conversion-claim:<batch>`). The caller records the batch and its shares.
   */
  | { kind: 'conversion'; batchId: string; shares: readonly { channelId: string; units: bigint }[] };

export type CreatePayoutInput = PayoutOrigin & {
  /** Defaults to a new uuid. */
  id?: string;
  asset: string;
  /** For `conversion`, the sum of the shares. */
  amountUnits: bigint;
  /** The USD value when requested, for outflow limits and display; null when unknown (the limits then hold it). */
  amountUsdCents: bigint | null;
  destination: PayoutDestination;
  /** The claim's text for people (ledger `description`); none for instant payouts. */
  claimDescription?: string;
  at: Date;
  /**
   * The caller's follow-up messages, queued with `payout-requested` by the payout's own statement
   * (only when it writes the payout).
   */
  queue?: readonly OutboxMessage[];
  /** A write of the caller's that the payout's statement makes too, once the claim's accounts exist (`onlyWhere` required). */
  alongside?: AlongsideWrite;
};

/**
 * Creates a payout, the one way a `payouts` row is written: in the caller's transaction, its claim
 * (`payout_claimed`: the owners' balances → `payouts:in_flight`, the claim naming the payout) and the
 * row in `requested` with the destination snapshot and the `payout-requested` message that starts
 * the stages (with the caller's `queue` and `alongside` write), in one statement, the owners'
 * balances locked first. Returns the payout's id.
 */
export async function createPayout(tx: Tx, input: CreatePayoutInput): Promise<string> {
  const id = input.id ?? randomUUID();
  const { asset, amountUnits, at } = input;
  // The caller's write goes first in the statement, its parameters from $1 (`AlongsideWrite`).
  const alongside = input.alongside;
  if (alongside && !alongside.onlyWhere) throw payoutError('payout_invariant_broken', 'createPayout: a write alongside the claim must be gated on it (onlyWhere)');
  const first = (alongside?.params.length ?? 0) + 1;
  const $ = (n: number) => `$${first + n - 1}`;
  const owners = input.kind === 'conversion' ? input.shares : [{ channelId: input.channelId, units: amountUnits }];
  const channel = input.kind === 'conversion' ? { channelId: null, ownerAccountId: null } : input;
  const values = [
    id,
    input.kind,
    channel.channelId,
    channel.ownerAccountId,
    input.kind === 'instant' ? input.paymentId : null,
    asset,
    amountUnits.toString(),
    input.amountUsdCents?.toString() ?? null,
    input.destination.currency,
    input.destination.network,
    ...storedWalletValues(input.destination.stored),
    at,
  ];
  const claim = ledgerPosting(
    {
      kind: 'payout_claimed',
      idempotencyKey: claimKey(input, id),
      occurredAt: at,
      payoutId: id,
      ...(input.kind === 'instant' ? { paymentId: input.paymentId } : {}),
      ...(input.kind === 'conversion' ? { conversionBatchId: input.batchId } : {}),
      ...(input.claimDescription !== undefined ? { description: input.claimDescription } : {}),
      entries: [
        ...owners.map((owner) => ({ account: ledgerAccountCodes.owner(owner.channelId, asset), asset, amount: owner.units })),
        { account: ledgerAccountCodes.payoutsInFlight(asset), asset, amount: -amountUnits },
      ],
    },
    first + values.length,
    { locksBalancesFirst: true },
  );
  const requested = outboxMessage('payout-requested', { payoutId: id }, { at, dedupeKey: `payout-requested:${id}` });
  const queue = outboxInsert([requested, ...(input.queue ?? [])], first + values.length + claim.params.length, { when: 'EXISTS (SELECT 1 FROM payout)' });
  const row = await runWithLedgerPosting<PostingColumns & { payout_id: string | null; queued: InsertedOutboxRow[] }>(
    tx,
    claim,
    `WITH ${claim.checks}, ${claim.writes},
     payout AS (
       INSERT INTO payouts (id, kind, channel_id, owner_account_id, payment_id, state, asset, amount_units, amount_usd_cents,
                            destination_currency, destination_network, destination_wallet, destination_extra_id,
                            destination_wallet_ciphertext, destination_wallet_index, destination_wallet_hint, destination_extra_id_ciphertext,
                            destination_extra_id_index, claim_transaction_id, requested_at, state_changed_at, created_at, updated_at)
       SELECT ${$(1)}::uuid, ${$(2)}::text, ${$(3)}::uuid, ${$(4)}::uuid, ${$(5)}::uuid, 'requested', ${$(6)}::text, ${$(7)}::numeric, ${$(8)}::bigint, ${$(9)}::text, ${$(10)}::text,
              ${$(11)}::text, ${$(12)}::text, ${$(13)}::text, ${$(14)}::bytea, ${$(15)}::text, ${$(16)}::text, ${$(17)}::bytea, ${claim.transactionId}, ${$(18)}::timestamptz, ${$(18)}, ${$(18)}, ${$(18)}
        WHERE ${claim.ready}
       RETURNING id),
     queued AS (${queue.sql})${alongside?.onlyWhere ? `, alongside AS (${alongside.onlyWhere(claim.ready)})` : ''}
     SELECT ${claim.columns}, (SELECT id FROM payout) AS payout_id,
            (SELECT coalesce(jsonb_agg(jsonb_build_object('id', id::text, 'message_id', message_id)), '[]'::jsonb) FROM queued) AS queued`,
    [...(alongside?.params ?? []), ...values, ...claim.params, ...queue.params],
  );
  if (row.payout_id === null) throw payoutError('payout_invariant_broken', 'createPayout: the payout row was not written with its claim', { payoutId: id });
  queue.inserted(tx, row.queued);
  return id;
}

function claimKey(input: CreatePayoutInput, id: string): string {
  switch (input.kind) {
    case 'instant':
      return `claim:instant:${input.paymentId}`;
    case 'conversion':
      return `conversion-claim:${input.batchId}`;
    default:
      return `${input.kind}-claim:${id}`;
  }
}
