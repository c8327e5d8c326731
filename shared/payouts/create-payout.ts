import { randomUUID } from 'node:crypto';
import { enqueueMessages, type OutboxMessage, outboxMessage } from '../bus/index.js';
import type { Tx } from '../db/index.js';
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
   * Where the `payout-requested` message goes: given, it is appended for the caller to queue with its
   * other follow-ups in one statement; absent, it is queued here.
   */
  followUps?: OutboxMessage[];
};

/**
 * Creates a payout, the one way a `payouts` row is written: in the caller's transaction, its claim
 * (`payout_claimed`: the owners' balances → `payouts:in_flight`, the claim naming the payout) and the
 * row in `requested` with the destination snapshot, in one statement (the owners' balances locked
 * first), and the `payout-requested` message that starts the stages, queued here or appended to
 * `followUps`. Returns the payout's id.
 */
export async function createPayout(tx: Tx, input: CreatePayoutInput): Promise<string> {
  const id = input.id ?? randomUUID();
  const { asset, amountUnits, at } = input;
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
    values.length + 1,
    { locksBalancesFirst: true },
  );
  const row = await runWithLedgerPosting<PostingColumns & { payout_id: string | null }>(
    tx,
    claim,
    `WITH ${claim.checks}, ${claim.writes},
     payout AS (
       INSERT INTO payouts (id, kind, channel_id, owner_account_id, payment_id, state, asset, amount_units, amount_usd_cents,
                            destination_currency, destination_network, destination_wallet, destination_extra_id,
                            destination_wallet_ciphertext, destination_wallet_index, destination_wallet_hint, destination_extra_id_ciphertext,
                            destination_extra_id_index, claim_transaction_id, requested_at, state_changed_at, created_at, updated_at)
       SELECT $1::uuid, $2::text, $3::uuid, $4::uuid, $5::uuid, 'requested', $6::text, $7::numeric, $8::bigint, $9::text, $10::text,
              $11::text, $12::text, $13::text, $14::bytea, $15::text, $16::text, $17::bytea, ${claim.transactionId}, $18::timestamptz, $18, $18, $18
        WHERE ${claim.ready}
       RETURNING id)
     SELECT ${claim.columns}, (SELECT id FROM payout) AS payout_id`,
    [...values, ...claim.params],
  );
  if (row.payout_id === null) throw payoutError('payout_invariant_broken', 'createPayout: the payout row was not written with its claim', { payoutId: id });
  const requested = outboxMessage('payout-requested', { payoutId: id }, { at, dedupeKey: `payout-requested:${id}` });
  if (input.followUps) input.followUps.push(requested);
  else await enqueueMessages(tx, [requested]);
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
