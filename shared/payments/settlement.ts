import { randomUUID } from 'node:crypto';
import { storedWalletColumns, storedWalletOf } from '../wallets/index.js';
import { enqueueMessages, type HandleOnceResult, type MessageKey, messageClaimSql, type OutboxMessage, outboxMessage } from '../bus/index.js';
import type { Clock } from '../clock/index.js';
import { type AlongsideWrite, type Db, gatedWrite, type Tx } from '../db/index.js';
import { balanceOf, ledgerAccountCodes, postLedgerTransaction, type PostLedgerTransactionInput } from '../ledger/index.js';
import type { Logger } from '../logging/index.js';
import { formatPublicId } from '../ids/index.js';
import { type AssetCode, formatAmount, formatUsdCents, mulDiv, splitFee } from '../money/index.js';
import { hasLiveWebhookEndpointSql, recordOwnerWebhookEvents, subscriptionGrantEvent, type WebhookEventInput } from '../owner-webhooks/webhook-events.js';
import { createPayout, type CreatePayoutInput } from '../payouts/create-payout.js';
import { THRESHOLD_PROGRESS_LOCK_PREFIX, thresholdProgressMessages } from '../payouts/threshold-progress.js';
import { createGift, withdrawPendingGift } from '../gifts/index.js';
import { extendSubscription, revokePaymentPeriod } from '../subscriptions/index.js';
import { raiseOperatorAlert } from '../watchdog/index.js';
import { paymentError } from './errors.js';
import { redeemPromoCode } from '../promo-codes/index.js';

export interface SettlementDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** Platform fee on the outcome, basis points (PLATFORM_FEE_BPS). Rounded down: see splitFee. */
  platformFeeBps: number;
}

interface SettlementRow {
  id: string;
  status: string;
  settled_at: Date | null;
  outcome_asset: AssetCode | null;
  outcome_units: string | null;
  settled_outcome_units: string | null;
  booked_outcome_units: string | null;
  refund_booked_at: Date | null;
  price_amount_cents: bigint;
  price_cents: bigint;
  kind: 'subscription' | 'donation';
  is_gift: boolean;
  tier_id: string | null;
  duration_days: number | null;
  telegram_user_id: bigint;
  channel_id: string;
  owner_account_id: string;
  payout_strategy: 'instant' | 'threshold';
  payout_currency: string;
  payout_network: string;
  payout_wallet: string | null;
  payout_extra_id: string | null;
  payout_wallet_ciphertext: string | null;
  payout_wallet_index: Buffer | null;
  payout_wallet_hint: string | null;
  payout_extra_id_ciphertext: string | null;
  payout_extra_id_index: Buffer | null;
  notification_chat_id: bigint | null;
  promo_code_id: string | null;
  /** The owner has an enabled webhook endpoint: only then does the settlement record webhook events. */
  has_webhooks: boolean;
}

/** What one settle-payment delivery booked for its payment. */
export interface SettlementResult {
  paymentId: string;
  /** A gift checkout's settlement: the gift row created instead of the buyer's access. */
  giftId?: string;
  /** In order: the settlement itself, a later increase of the outcome, the refund of a settled payment. */
  booked: ('settlement' | 'top_up' | 'refund')[];
  /** Of the settlement (zero when this delivery did not settle). */
  feeUnits: bigint;
  netUnits: bigint;
  payoutId?: string;
  expiresAt?: Date;
}

/**
 * The settle-payment stage: books what a settled payment's row says and the ledger does not hold yet,
 * under the payment's row lock, in one transaction with the handle-once record:
 *
 * 1. Once per payment, the settlement: the outcome the settling report gave (`settled_outcome_units`;
 *    hot wallet debit, platform fee and owner net credits, in the outcome asset's base units), the
 *    subscription extended by the checkout's days (a gift checkout: a gift row and the buyer's DM with
 *    its claim link instead), and the follow-up messages — invite (subscriptions),
 *    owner notification, and for instant-payout channels a payout claiming that net. Threshold
 *    channels just accumulate.
 * 2. Each later increase of the outcome (a top-up, `finished` after an accepted `partially_paid`) as
 *    its own `payment_topped_up`, split the same way; its net stays on the owner's balance (an instant
 *    channel's balance is paid by the balance run).
 * 3. A refund after settlement (`refunded`): see `bookRefund`.
 *
 * On a threshold channel with a notification chat, after what this delivery booked: the owner's
 * `threshold_progress` messages for the marks their balance has now reached (one statement, see
 * `thresholdProgressMessages`), queued with the other follow-ups. Those settlements take the channel's
 * progress lock in their first statement, so two of them at once read each other's bookings and a
 * mark they cross together is not missed; other channels take no lock and pay no statement.
 *
 * The IPN that moves a settled payment queues another `payment-settled` for it; any delivery books
 * whatever is missing, so a message consumed late, early or twice books each unit once.
 */
export async function settlePayment(deps: SettlementDeps, key: MessageKey, paymentId: string): Promise<SettlementResult | undefined> {
  const now = deps.clock.now();
  const outcome = await deps.db.transaction(async (tx): Promise<HandleOnceResult<SettlementResult>> => {
    // The handle-once claim and the progress lock (evaluated only for the channels that need it)
    // ride in this statement: a repeat of this message finds the claim taken and books nothing.
    const claim = messageClaimSql(key, now, 3);
    const { rows } = await tx.query<SettlementRow & { is_first: boolean }>(
      `WITH claim AS (${claim.sql})
       SELECT EXISTS (SELECT 1 FROM claim) AS is_first, p.id, p.status, p.settled_at, p.outcome_asset, p.outcome_units::text AS outcome_units, p.price_amount_cents,
              p.settled_outcome_units::text AS settled_outcome_units, p.booked_outcome_units::text AS booked_outcome_units, p.refund_booked_at,
              k.price_cents, k.kind, k.is_gift, k.tier_id, k.duration_days, k.telegram_user_id, k.channel_id, k.promo_code_id,
              c.owner_account_id, c.payout_strategy, c.payout_currency, c.payout_network, ${storedWalletColumns('c.payout_wallet', 'c.payout_extra_id')},
              c.notification_chat_id, ${hasLiveWebhookEndpointSql('c.owner_account_id')} AS has_webhooks,
              CASE WHEN c.payout_strategy = 'threshold' AND c.notification_chat_id IS NOT NULL
                   THEN pg_advisory_xact_lock(hashtext($2 || k.channel_id::text))::text END AS progress_lock
       FROM payments p JOIN checkouts k ON k.id = p.checkout_id JOIN channels c ON c.id = k.channel_id
       WHERE p.id = $1 FOR UPDATE OF p`,
      [paymentId, THRESHOLD_PROGRESS_LOCK_PREFIX, ...claim.params],
    );
    const payment = rows[0];
    if (!payment) throw paymentError('unknown_payment', 'No payment has this id', { paymentId });
    if (!payment.is_first) return { isDuplicate: true };
    if (!payment.settled_at) throw paymentError('payment_not_settled', 'The payment is not settled', { paymentId });
    if (!payment.outcome_asset || payment.outcome_units === null || payment.settled_outcome_units === null) {
      throw paymentError('unsupported_outcome_currency', 'The payment outcome is in a currency the ledger does not book', { paymentId });
    }
    const booking = { ...payment, outcome_asset: payment.outcome_asset, outcome_units: payment.outcome_units, settled_outcome_units: payment.settled_outcome_units };
    const result: SettlementResult = { paymentId, booked: [], feeUnits: 0n, netUnits: 0n };
    const followUps: OutboxMessage[] = [];
    let booked = payment.booked_outcome_units === null ? null : BigInt(payment.booked_outcome_units);
    if (booked === null && payment.price_amount_cents !== payment.price_cents) {
      // The IPN holds such a payment before it settles (payment-updates.ts); a row settled some other way is refused here too.
      throw paymentError('price_mismatch', 'The payment is not for its checkout\'s price', { paymentId });
    }
    // An instant channel's payout, written last with the follow-ups (one statement), unless a refund needs it first.
    let payout: CreatePayoutInput | undefined;
    if (booked === null) {
      const { payout: settledPayout, ...settled } = await settleInTransaction(tx, deps, booking, now, followUps);
      Object.assign(result, settled);
      payout = settledPayout;
      result.booked.push('settlement');
      booked = BigInt(booking.settled_outcome_units);
    }
    const reported = BigInt(booking.outcome_units);
    if (payment.status !== 'refunded' && reported > booked) {
      await bookTopUp(tx, deps, booking, reported - booked, reported, now);
      result.booked.push('top_up');
      booked = reported;
    }
    const isRefunding = payment.status === 'refunded' && payment.refund_booked_at === null;
    const bookedUpdate: AlongsideWrite | undefined =
      payment.booked_outcome_units === null || BigInt(payment.booked_outcome_units) !== booked
        ? gatedWrite((and) => `UPDATE payments SET booked_outcome_units = $2 WHERE id = $1${and}`, [paymentId, booked.toString()])
        : undefined;
    if (isRefunding) {
      // The refund returns what the payment's payouts did not send: the payout exists first.
      if (payout) await createPayout(tx, payout);
      payout = undefined;
      // A refund's row needs the booked units first (payments_refund_booked_check).
      if (bookedUpdate) await tx.query(bookedUpdate.sql, bookedUpdate.params);
      await bookRefund(tx, deps, { ...booking, booked }, now);
      result.booked.push('refund');
    }
    // Read after every booking of this delivery, so a payment settled and refunded together crosses nothing.
    const hasGrown = result.booked.includes('settlement') || result.booked.includes('top_up');
    if (hasGrown && payment.payout_strategy === 'threshold' && payment.notification_chat_id !== null) {
      const settledUnits = BigInt(booking.settled_outcome_units);
      const rate = booking.outcome_asset === 'ETH' && settledUnits > 0n ? { cents: BigInt(payment.price_amount_cents), units: settledUnits } : undefined;
      followUps.push(...(await thresholdProgressMessages(tx, payment.channel_id, now, rate)));
    }
    // One statement for all of them with the booked units' update (and the payout); none when there is nothing.
    const alongside = isRefunding || !bookedUpdate ? {} : { alongside: bookedUpdate };
    if (payout) await createPayout(tx, { ...payout, queue: followUps, ...alongside });
    else await enqueueMessages(tx, followUps, alongside);
    return { isDuplicate: false, result };
  });
  if (outcome.isDuplicate) {
    deps.logger.info('payment.settlement_duplicate', { paymentId });
    return undefined;
  }
  const result = outcome.result;
  if (result.booked.includes('settlement')) {
    deps.logger.info('payment.settled', { paymentId, feeUnits: result.feeUnits, netUnits: result.netUnits, payoutId: result.payoutId, expiresAt: result.expiresAt, giftId: result.giftId });
  }
  if (result.booked.includes('top_up')) deps.logger.warn('payment.topped_up', { paymentId });
  if (result.booked.length === 0) deps.logger.info('payment.nothing_to_book', { paymentId });
  return result;
}

type BookablePayment = SettlementRow & { outcome_asset: AssetCode; outcome_units: string; settled_outcome_units: string };

async function settleInTransaction(
  tx: Tx,
  deps: SettlementDeps,
  payment: BookablePayment,
  now: Date,
  followUps: OutboxMessage[],
): Promise<Omit<SettlementResult, 'booked'> & { payout?: CreatePayoutInput }> {
  const asset = payment.outcome_asset;
  const gross = BigInt(payment.settled_outcome_units);
  const { fee, net } = splitFee(gross, deps.platformFeeBps);
  const entries = [
    { account: ledgerAccountCodes.hotWallet(asset), asset, amount: gross },
    { account: ledgerAccountCodes.platformFees(asset), asset, amount: -fee },
    { account: ledgerAccountCodes.owner(payment.channel_id, asset), asset, amount: -net },
  ].filter((entry) => entry.amount !== 0n);
  // Posted by the subscriber's grant when there is one (extendSubscription's statement), else at the end.
  let unposted: PostLedgerTransactionInput | undefined =
    gross > 0n
      ? {
          kind: 'payment_settled',
          idempotencyKey: `settle:${payment.id}`,
          occurredAt: now,
          paymentId: payment.id,
          description: `${payment.kind} paid, invoice $${formatUsdCents(payment.price_amount_cents)}`,
          entries,
        }
      : undefined;

  const result: Omit<SettlementResult, 'booked'> & { payout?: CreatePayoutInput } = { paymentId: payment.id, feeUnits: fee, netUnits: net };
  // A discounted checkout's code counts one use per settled payment.
  if (payment.promo_code_id !== null) await redeemPromoCode(tx, payment.id, now);
  const webhookEvents: WebhookEventInput[] = [];
  const paymentPublicId = formatPublicId('payment', payment.id);
  const channelPublicId = formatPublicId('channel', payment.channel_id);
  if (payment.has_webhooks) {
    webhookEvents.push({
      accountId: payment.owner_account_id,
      type: 'payment.settled',
      sourceKey: `payment:${payment.id}`,
      at: now,
      data: {
        paymentId: paymentPublicId,
        channelId: channelPublicId,
        kind: payment.kind,
        telegramUserId: payment.telegram_user_id.toString(),
        priceUsd: formatUsdCents(payment.price_cents),
        asset,
        amount: formatAmount({ asset, units: gross }),
        feeAmount: formatAmount({ asset, units: fee }),
        netAmount: formatAmount({ asset, units: net }),
        settledAt: now.toISOString(),
      },
    });
  }
  if (payment.kind === 'subscription' && payment.is_gift) {
    if (payment.duration_days === null) throw paymentError('checkout_without_duration', 'Subscription checkout has no duration', { paymentId: payment.id });
    // A gift: booked like any payment (above and below), but the days go to whoever claims it.
    result.giftId = await createGift(
      tx,
      { paymentId: payment.id, buyerTelegramUserId: payment.telegram_user_id, channelId: payment.channel_id, tierId: payment.tier_id, durationDays: payment.duration_days, now },
      followUps,
    );
  } else if (payment.kind === 'subscription') {
    if (payment.duration_days === null) throw paymentError('checkout_without_duration', 'Subscription checkout has no duration', { paymentId: payment.id });
    const extension = await extendSubscription(tx, {
      telegramUserId: payment.telegram_user_id,
      channelId: payment.channel_id,
      paymentId: payment.id,
      durationDays: payment.duration_days,
      now,
      ...(unposted ? { booking: unposted } : {}),
    });
    unposted = undefined;
    result.expiresAt = extension.expiresAt;
    if (payment.has_webhooks) {
      webhookEvents.push(
        subscriptionGrantEvent({
          accountId: payment.owner_account_id,
          channelPublicId,
          telegramUserId: payment.telegram_user_id,
          grant: { kind: 'payment', id: payment.id, paymentPublicId },
          extension: { ...extension, subscriptionPublicId: formatPublicId('subscription', extension.subscriptionId) },
          at: now,
        }),
      );
    }
    followUps.push(outboxMessage('invite-requested', { paymentId: payment.id }, { at: now, dedupeKey: `invite-requested:${payment.id}` }));
  }
  // Payment news goes to the channel's notification chat; without one there is nobody to tell, so
  // no message (at thousands of payments that is thousands of deliveries that would only be skipped).
  if (payment.notification_chat_id !== null) {
    const notification = payment.kind === 'subscription' ? 'payment_received' : 'donation_received';
    followUps.push(
      outboxMessage(
        'owner-notification-requested',
        { kind: notification, channelId: payment.channel_id, subjectId: payment.id },
        { at: now, dedupeKey: `${notification}:${payment.id}` },
      ),
    );
  }

  if (payment.payout_strategy === 'instant' && net > 0n) {
    // The owner's share of the invoice, in USD, for outflow limits and display.
    const netUsdCents = mulDiv(payment.price_amount_cents, net, gross, 'floor');
    // The net moves into a payout (claimed from the owner's balance, written by the caller with the
    // follow-ups), to the destination set on the channel now. One instant payout per payment.
    result.payoutId = randomUUID();
    result.payout = {
      id: result.payoutId,
      kind: 'instant',
      channelId: payment.channel_id,
      ownerAccountId: payment.owner_account_id,
      paymentId: payment.id,
      asset,
      amountUnits: net,
      amountUsdCents: netUsdCents,
      destination: { currency: payment.payout_currency, network: payment.payout_network, stored: storedWalletOf(payment as unknown as Record<string, unknown>, 'payout_wallet', 'payout_extra_id') },
      at: now,
    };
  }
  if (unposted) await postLedgerTransaction(tx, unposted);
  await recordOwnerWebhookEvents(tx, webhookEvents); // one statement, none when the owner has no endpoint
  return result; // the caller queues `followUps` and writes the payout
}

/**
 * More of a settled payment arrived: the increase is booked on its own (hot wallet in, platform fee
 * and owner net out, the fee rounded down as at settlement), once per payment and reported total.
 * Access is not extended (the checkout's days were granted at settlement) and no payout is claimed:
 * the net waits on the owner's balance (threshold: parked with the rest; instant: the balance run).
 */
async function bookTopUp(tx: Tx, deps: SettlementDeps, payment: BookablePayment, increase: bigint, reportedTotal: bigint, now: Date): Promise<void> {
  const asset = payment.outcome_asset;
  const { fee, net } = splitFee(increase, deps.platformFeeBps);
  await postLedgerTransaction(tx, {
    kind: 'payment_topped_up',
    idempotencyKey: `topup:${payment.id}:${reportedTotal}`,
    occurredAt: now,
    paymentId: payment.id,
    description: `More received for a settled ${payment.kind} payment`,
    entries: [
      { account: ledgerAccountCodes.hotWallet(asset), asset, amount: increase },
      { account: ledgerAccountCodes.platformFees(asset), asset, amount: -fee },
      { account: ledgerAccountCodes.owner(payment.channel_id, asset), asset, amount: -net },
    ].filter((entry) => entry.amount !== 0n),
  });
}

/**
 * NowPayments refunded a payment we had settled. What it does (docs/payouts.md):
 * - the platform gives its fee back, and the owner's net is taken back from what the owner still has
 *   on their balance in that asset; what was already claimed or paid out is the platform's loss
 *   (`expense:refund_losses`) — a payout in progress goes on;
 * - the gross is owed to NowPayments (`external:nowpayments` goes negative): the funds are still in
 *   the hot wallet until the operator settles with the processor;
 * - the rest of the access the payment bought is revoked (the member is removed by the expiry run);
 * - the operator is alerted once, with the amounts.
 */
async function bookRefund(tx: Tx, deps: SettlementDeps, payment: BookablePayment & { booked: bigint }, now: Date): Promise<void> {
  const asset = payment.outcome_asset;
  const ownerAccount = ledgerAccountCodes.owner(payment.channel_id, asset);
  const { rows } = await tx.query<{ fee: string; net: string }>(
    `SELECT coalesce(-sum(e.amount) FILTER (WHERE a.code = $2), 0)::text AS fee, coalesce(-sum(e.amount) FILTER (WHERE a.code = $3), 0)::text AS net
       FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id JOIN ledger_accounts a ON a.id = e.account_id
      WHERE t.payment_id = $1 AND t.kind IN ('payment_settled', 'payment_topped_up')`,
    [payment.id, ledgerAccountCodes.platformFees(asset), ownerAccount],
  );
  const fee = BigInt(rows[0]?.fee ?? '0');
  const net = BigInt(rows[0]?.net ?? '0');
  const available = await balanceOf(tx, ownerAccount, asset);
  const recovered = net < available ? net : available > 0n ? available : 0n;
  const loss = net - recovered;
  await postLedgerTransaction(tx, {
    kind: 'payment_refunded',
    idempotencyKey: `refund:${payment.id}`,
    occurredAt: now,
    paymentId: payment.id,
    description: `Refunded by NowPayments after settlement`,
    entries: [
      { account: ledgerAccountCodes.platformFees(asset), asset, amount: fee },
      { account: ownerAccount, asset, amount: recovered },
      { account: ledgerAccountCodes.refundLosses(asset), asset, amount: loss },
      { account: ledgerAccountCodes.nowpayments(asset), asset, amount: -payment.booked },
    ].filter((entry) => entry.amount !== 0n),
  });
  await tx.query('UPDATE payments SET refund_booked_at = $2 WHERE id = $1', [payment.id, now]);
  const revoked = payment.kind === 'subscription' ? await revokePaymentPeriod(tx, { paymentId: payment.id, now }) : undefined;
  const isGiftWithdrawn = payment.is_gift ? await withdrawPendingGift(tx, payment.id, now) : false;
  const { rows: payouts } = await tx.query<{ id: string; state: string }>('SELECT id, state FROM payouts WHERE payment_id = $1', [payment.id]);
  await raiseOperatorAlert(tx, deps.logger, {
    kind: 'payment.refunded_after_settlement',
    subjectType: 'payments',
    subjectId: payment.id,
    episode: 'refund',
    message:
      `NowPayments refunded a settled payment: ${payment.booked} ${asset} base units are owed to NowPayments (still in the hot wallet). ` +
      (loss > 0n ? `The owner had already been paid or claimed ${loss} of their share: the platform carries it. ` : 'The owner’s share was taken back from their balance. ') +
      'Settle the amount with NowPayments and book it.',
    details: {
      asset,
      grossUnits: payment.booked.toString(),
      feeUnits: fee.toString(),
      recoveredUnits: recovered.toString(),
      lossUnits: loss.toString(),
      ...(payouts[0] ? { payoutId: payouts[0].id, payoutState: payouts[0].state } : {}),
      ...(revoked ? { accessRevokedSeconds: String(revoked.revokedSeconds) } : {}),
      ...(payment.is_gift ? { gift: isGiftWithdrawn ? 'withdrawn before anyone claimed it' : 'already claimed or expired: left as it is' } : {}),
    },
    at: now,
  });
}
