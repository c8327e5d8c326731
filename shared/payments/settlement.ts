import { randomUUID } from 'node:crypto';
import { enqueueMessage, handleOnce, type MessageKey } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import type { Db, Tx } from '../db/index.js';
import { PermanentError } from '../errors/index.js';
import { ledgerAccountCodes, postLedgerTransaction } from '../ledger/index.js';
import type { Logger } from '../logging/index.js';
import { type AssetCode, formatUsdCents, mulDiv, splitFee } from '../money/index.js';
import { extendSubscription } from '../subscriptions/index.js';

export interface SettlementDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Platform fee on the outcome, basis points (PLATFORM_FEE_BPS). Rounded down: see splitFee. */
  platformFeeBps: number;
}

interface SettlementRow {
  id: string;
  settled_at: Date | null;
  outcome_asset: AssetCode | null;
  outcome_units: string | null;
  price_amount_cents: bigint;
  kind: 'subscription' | 'donation';
  duration_days: number | null;
  telegram_user_id: bigint;
  channel_id: string;
  owner_account_id: string;
  payout_strategy: 'instant' | 'threshold';
  payout_currency: string;
  payout_network: string;
  payout_wallet: string;
  payout_extra_id: string | null;
  notification_chat_id: bigint | null;
}

export interface SettlementResult {
  paymentId: string;
  feeUnits: bigint;
  netUnits: bigint;
  payoutId?: string;
  expiresAt?: Date;
}

/**
 * The settle-payment stage, once per payment: books the outcome (hot wallet debit; platform fee and
 * owner net credits, in the outcome asset's base units), extends the subscription by the checkout's
 * days, and writes the follow-up messages — invite (subscriptions), owner notification, and for
 * instant-payout channels a payout claiming the owner's net. Threshold channels just accumulate.
 * Everything in one transaction with the handle-once record; a redelivery does nothing.
 */
export async function settlePayment(deps: SettlementDeps, key: MessageKey, paymentId: string): Promise<SettlementResult | undefined> {
  const now = deps.clock.now();
  const outcome = await handleOnce(deps.db, key, now, async (tx) => {
    const { rows } = await tx.query<SettlementRow>(
      `SELECT p.id, p.settled_at, p.outcome_asset, p.outcome_units::text AS outcome_units, p.price_amount_cents,
              k.kind, k.duration_days, k.telegram_user_id, k.channel_id,
              c.owner_account_id, c.payout_strategy, c.payout_currency, c.payout_network, c.payout_wallet, c.payout_extra_id,
              c.notification_chat_id
       FROM payments p JOIN checkouts k ON k.id = p.checkout_id JOIN channels c ON c.id = k.channel_id
       WHERE p.id = $1 FOR UPDATE OF p`,
      [paymentId],
    );
    const payment = rows[0];
    if (!payment) throw new PermanentError('unknown_payment', 'No payment has this id', { paymentId });
    if (!payment.settled_at) throw new PermanentError('payment_not_settled', 'The payment is not settled', { paymentId });
    if (!payment.outcome_asset || payment.outcome_units === null) {
      throw new PermanentError('unsupported_outcome_currency', 'The payment outcome is in a currency the ledger does not book', { paymentId });
    }
    return settleInTransaction(tx, deps, { ...payment, outcome_asset: payment.outcome_asset, outcome_units: payment.outcome_units }, now);
  });
  if (outcome.isDuplicate) {
    deps.logger.info('payment.settlement_duplicate', { paymentId });
    return undefined;
  }
  deps.logger.info('payment.settled', {
    paymentId,
    feeUnits: outcome.result.feeUnits,
    netUnits: outcome.result.netUnits,
    payoutId: outcome.result.payoutId,
    expiresAt: outcome.result.expiresAt,
  });
  return outcome.result;
}

async function settleInTransaction(tx: Tx, deps: SettlementDeps, payment: SettlementRow & { outcome_asset: AssetCode; outcome_units: string }, now: Date): Promise<SettlementResult> {
  const asset = payment.outcome_asset;
  const gross = BigInt(payment.outcome_units);
  const { fee, net } = splitFee(gross, deps.platformFeeBps);
  const entries = [
    { account: ledgerAccountCodes.hotWallet(asset), asset, amount: gross },
    { account: ledgerAccountCodes.platformFees(asset), asset, amount: -fee },
    { account: ledgerAccountCodes.owner(payment.channel_id, asset), asset, amount: -net },
  ].filter((entry) => entry.amount !== 0n);
  if (gross > 0n) {
    await postLedgerTransaction(tx, {
      kind: 'payment_settled',
      idempotencyKey: `settle:${payment.id}`,
      occurredAt: now,
      paymentId: payment.id,
      description: `${payment.kind} paid, invoice $${formatUsdCents(payment.price_amount_cents)}`,
      entries,
    });
  }

  const result: SettlementResult = { paymentId: payment.id, feeUnits: fee, netUnits: net };
  if (payment.kind === 'subscription') {
    if (payment.duration_days === null) throw new PermanentError('checkout_without_duration', 'Subscription checkout has no duration', { paymentId: payment.id });
    const extension = await extendSubscription(tx, {
      telegramUserId: payment.telegram_user_id,
      channelId: payment.channel_id,
      paymentId: payment.id,
      durationDays: payment.duration_days,
      now,
    });
    result.expiresAt = extension.expiresAt;
    await enqueueMessage(tx, 'invite-requested', { paymentId: payment.id }, { at: now, dedupeKey: `invite-requested:${payment.id}` });
  }
  // Payment news goes to the channel's notification chat; without one there is nobody to tell, so
  // no message (at thousands of payments that is thousands of deliveries that would only be skipped).
  if (payment.notification_chat_id !== null) {
    const notification = payment.kind === 'subscription' ? 'payment_received' : 'donation_received';
    await enqueueMessage(
      tx,
      'owner-notification-requested',
      { kind: notification, channelId: payment.channel_id, subjectId: payment.id },
      { at: now, dedupeKey: `${notification}:${payment.id}` },
    );
  }

  if (payment.payout_strategy === 'instant' && net > 0n) {
    // The owner's share of the invoice, in USD, for outflow limits and display.
    const netUsdCents = mulDiv(payment.price_amount_cents, net, gross, 'floor');
    result.payoutId = await claimInstantPayout(tx, payment, asset, net, netUsdCents, now);
    await enqueueMessage(tx, 'payout-requested', { payoutId: result.payoutId }, { at: now, dedupeKey: `payout-requested:${result.payoutId}` });
  }
  return result;
}

/**
 * Moves the owner's net for this payment into a payout: a 'payout_claimed' ledger transaction
 * (owner balance → payouts in flight) and the payout row with the destination copied from the
 * channel now, so a later wallet edit cannot redirect it. One instant payout per payment.
 */
async function claimInstantPayout(tx: Tx, payment: SettlementRow, asset: AssetCode, net: bigint, netUsdCents: bigint, now: Date): Promise<string> {
  const payoutId = randomUUID();
  const claimId = await postLedgerTransaction(tx, {
    kind: 'payout_claimed',
    idempotencyKey: `claim:instant:${payment.id}`,
    occurredAt: now,
    paymentId: payment.id,
    payoutId,
    entries: [
      { account: ledgerAccountCodes.owner(payment.channel_id, asset), asset, amount: net },
      { account: ledgerAccountCodes.payoutsInFlight(asset), asset, amount: -net },
    ],
  });
  await tx.query(
    `INSERT INTO payouts (id, kind, channel_id, owner_account_id, payment_id, state, asset, amount_units, amount_usd_cents,
                          destination_currency, destination_network, destination_wallet, destination_extra_id,
                          claim_transaction_id, requested_at, state_changed_at, created_at, updated_at)
     VALUES ($1, 'instant', $2, $3, $4, 'requested', $5, $6, $13, $7, $8, $9, $10, $11, $12, $12, $12, $12)`,
    [payoutId, payment.channel_id, payment.owner_account_id, payment.id, asset, net, payment.payout_currency, payment.payout_network, payment.payout_wallet, payment.payout_extra_id, claimId, now, netUsdCents],
  );
  return payoutId;
}
