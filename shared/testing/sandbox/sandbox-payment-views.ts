import type { Queryable } from '../../db/index.js';
import { formatPublicId, parsePublicId } from '../../ids/index.js';
import { formatUsdCents } from '../../money/index.js';
import { formatAssetAmount } from './sandbox-views.js';

/**
 * What happened to a payment, from the IPN to the owner's wallet, for the sandbox page and CLI:
 * subscription, invite, ledger transactions, payout with its transfer and swap. Read-only.
 */

export interface LedgerTransactionView {
  id: string;
  kind: string;
  occurredAt: string;
  description: string | null;
  entries: { account: string; amount: string }[];
}

export interface PayoutView {
  id: string;
  kind: string;
  state: string;
  amount: string;
  destination: string;
  heldReason: string | null;
  deferredUntil: string | null;
  failureCode: string | null;
  completedAt: string | null;
  transfer: { txHash: string; status: string; to: string; amount: string; blockNumber: string | null; gas: string | null } | null;
  swap: { exchangeId: string; status: string; receivedAmount: string | null; payoutHash: string | null } | null;
}

export interface PaymentView {
  id: string;
  providerPaymentId: string;
  invoiceId: string | null;
  checkoutId: string;
  telegramUserId: string;
  channel: { id: string; title: string; strategy: string };
  tier: number | null;
  status: string;
  isSettled: boolean;
  settledAt: string | null;
  priceUsd: string;
  paid: string | null;
  outcome: string | null;
  createdAt: string;
  subscription: { id: string; status: string; expiresAt: string } | null;
  invite: { sentAt: string | null; joinedAt: string | null; revokedAt: string | null } | null;
  ledger: LedgerTransactionView[];
  payout: PayoutView | null;
}

const iso = (value: Date | null | undefined) => (value ? value.toISOString() : null);
const text = (value: unknown) => (value === null || value === undefined ? null : String(value));

/** `owner:<uuid>:eth` reads better as `owner:ch_…:eth`. */
function displayAccount(code: string): string {
  return code.replace(/^owner:([0-9a-f-]{36}):/, (_, uuid: string) => `owner:${formatPublicId('channel', uuid)}:`);
}

interface PaymentRow {
  id: string;
  provider_payment_id: string;
  provider_invoice_id: string | null;
  checkout_id: string;
  telegram_user_id: bigint;
  channel_id: string;
  closed_title: string;
  payout_strategy: string;
  tier_number: number | null;
  status: string;
  settled_at: Date | null;
  price_amount_cents: bigint;
  pay_currency: string | null;
  actually_paid: string | null;
  pay_amount: string | null;
  outcome_asset: string | null;
  outcome_units: string | null;
  created_at: Date;
}

const PAYMENT_SELECT = `SELECT p.id, p.provider_payment_id, k.provider_invoice_id, k.id AS checkout_id, k.telegram_user_id, c.id AS channel_id,
       c.closed_title, c.payout_strategy, t.tier_number, p.status, p.settled_at, p.price_amount_cents, p.pay_currency,
       p.actually_paid::text AS actually_paid, p.pay_amount::text AS pay_amount, p.outcome_asset, p.outcome_units::text AS outcome_units, p.created_at
  FROM payments p JOIN checkouts k ON k.id = p.checkout_id JOIN channels c ON c.id = k.channel_id
  LEFT JOIN channel_tiers t ON t.id = k.tier_id`;

/**
 * One payment and everything it caused, found by its public id (`pay_…`) or NowPayments' payment
 * id; undefined when no payment matches.
 */
export async function retrievePaymentView(db: Queryable, id: string): Promise<PaymentView | undefined> {
  const isProviderId = /^\d{1,30}$/.test(id);
  const where = isProviderId ? "p.provider = 'nowpayments' AND p.provider_payment_id = $1" : 'p.id = $1';
  let key = id;
  if (!isProviderId) {
    try {
      key = parsePublicId('payment', id);
    } catch {
      return undefined;
    }
  }
  const { rows } = await db.query<PaymentRow>(`${PAYMENT_SELECT} WHERE ${where}`, [key]);
  return rows[0] ? buildPaymentView(db, rows[0]) : undefined;
}

/** A subscriber's most recent payments, newest first. */
export async function listPaymentViews(db: Queryable, telegramUserId: number, limit = 10): Promise<PaymentView[]> {
  const { rows } = await db.query<PaymentRow>(`${PAYMENT_SELECT} WHERE k.telegram_user_id = $1 ORDER BY p.created_at DESC LIMIT ${Math.max(1, Math.min(limit, 50))}`, [
    telegramUserId,
  ]);
  const views: PaymentView[] = [];
  for (const row of rows) views.push(await buildPaymentView(db, row));
  return views;
}

async function buildPaymentView(db: Queryable, row: PaymentRow): Promise<PaymentView> {
  const { rows: subscriptions } = await db.query<{ id: string; status: string; expires_at: Date }>(
    'SELECT id, status, expires_at FROM subscriptions WHERE telegram_user_id = $1 AND channel_id = $2',
    [row.telegram_user_id, row.channel_id],
  );
  const { rows: invites } = await db.query<{ sent_at: Date | null; joined_at: Date | null; revoked_at: Date | null }>(
    'SELECT sent_at, joined_at, revoked_at FROM invite_links WHERE payment_id = $1',
    [row.id],
  );
  const payout = await retrievePayoutView(db, row.id);
  const subscription = subscriptions[0];
  const invite = invites[0];
  return {
    id: formatPublicId('payment', row.id),
    providerPaymentId: row.provider_payment_id,
    invoiceId: row.provider_invoice_id,
    checkoutId: formatPublicId('checkout', row.checkout_id),
    telegramUserId: String(row.telegram_user_id),
    channel: { id: formatPublicId('channel', row.channel_id), title: row.closed_title, strategy: row.payout_strategy },
    tier: row.tier_number === null ? null : Number(row.tier_number),
    status: row.status,
    isSettled: row.settled_at !== null,
    settledAt: iso(row.settled_at),
    priceUsd: formatUsdCents(BigInt(row.price_amount_cents)),
    paid: row.actually_paid === null ? null : `${row.actually_paid} / ${row.pay_amount ?? '?'} ${(row.pay_currency ?? '').toUpperCase()}`,
    outcome: row.outcome_asset && row.outcome_units !== null ? formatAssetAmount(row.outcome_units, row.outcome_asset) : null,
    createdAt: row.created_at.toISOString(),
    subscription: subscription ? { id: formatPublicId('subscription', subscription.id), status: subscription.status, expiresAt: subscription.expires_at.toISOString() } : null,
    invite: invite ? { sentAt: iso(invite.sent_at), joinedAt: iso(invite.joined_at), revokedAt: iso(invite.revoked_at) } : null,
    ledger: await listLedgerViews(db, row.id, payout ? parsePublicId('payout', payout.id) : null),
    payout,
  };
}

async function listLedgerViews(db: Queryable, paymentId: string, payoutId: string | null): Promise<LedgerTransactionView[]> {
  const { rows } = await db.query<{ id: string; kind: string; occurred_at: Date; description: string | null; code: string; asset: string; amount: string }>(
    `SELECT lt.id, lt.kind, lt.occurred_at, lt.description, a.code, e.asset, e.amount::text AS amount
       FROM ledger_transactions lt JOIN ledger_entries e ON e.transaction_id = lt.id JOIN ledger_accounts a ON a.id = e.account_id
      WHERE lt.payment_id = $1 OR ($2::uuid IS NOT NULL AND lt.payout_id = $2::uuid)
      ORDER BY lt.occurred_at, lt.id, e.line`,
    [paymentId, payoutId],
  );
  const views = new Map<string, LedgerTransactionView>();
  for (const row of rows) {
    let view = views.get(row.id);
    if (!view) {
      view = { id: formatPublicId('ledgerTransaction', row.id), kind: row.kind, occurredAt: row.occurred_at.toISOString(), description: row.description, entries: [] };
      views.set(row.id, view);
    }
    view.entries.push({ account: displayAccount(row.code), amount: formatAssetAmount(row.amount, row.asset) });
  }
  return [...views.values()];
}

async function retrievePayoutView(db: Queryable, paymentId: string): Promise<PayoutView | null> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM payouts WHERE payment_id = $1', [paymentId]);
  return rows[0] ? buildPayoutView(db, rows[0].id) : null;
}

/** The most recent payouts of every kind (instant, threshold, conversion), newest first. */
export async function listPayoutViews(db: Queryable, limit = 10): Promise<PayoutView[]> {
  const { rows } = await db.query<{ id: string }>(`SELECT id FROM payouts ORDER BY requested_at DESC, id LIMIT ${Math.max(1, Math.min(limit, 50))}`);
  const views: PayoutView[] = [];
  for (const row of rows) {
    const view = await buildPayoutView(db, row.id);
    if (view) views.push(view);
  }
  return views;
}

async function buildPayoutView(db: Queryable, payoutId: string): Promise<PayoutView | null> {
  const { rows } = await db.query<{
    id: string;
    kind: string;
    state: string;
    asset: string;
    amount_units: string;
    destination_wallet: string;
    destination_currency: string;
    held_reason: string | null;
    deferred_until: Date | null;
    failure_code: string | null;
    completed_at: Date | null;
  }>(
    `SELECT id, kind, state, asset, amount_units::text AS amount_units, coalesce(destination_wallet_hint, destination_wallet) AS destination_wallet, destination_currency, held_reason,
            deferred_until, failure_code, completed_at
       FROM payouts WHERE id = $1`,
    [payoutId],
  );
  const payout = rows[0];
  if (!payout) return null;
  const { rows: transfers } = await db.query<{ tx_hash: string; status: string; to_address: string; asset: string; amount_units: string; block_number: bigint | null; fee_units: string | null }>(
    `SELECT t.tx_hash, t.status, coalesce(t.to_address, p.destination_wallet_hint) AS to_address, t.asset, t.amount_units::text AS amount_units,
            t.block_number, t.fee_units::text AS fee_units
       FROM chain_transfers t JOIN payouts p ON p.id = t.payout_id WHERE t.payout_id = $1`,
    [payout.id],
  );
  const { rows: swaps } = await db.query<{ provider_exchange_id: string; status: string; received_to_amount: string | null; to_currency: string; payout_hash: string | null }>(
    'SELECT provider_exchange_id, status, received_to_amount::text AS received_to_amount, to_currency, payout_hash FROM swaps WHERE payout_id = $1',
    [payout.id],
  );
  const transfer = transfers[0];
  const swap = swaps[0];
  return {
    id: formatPublicId('payout', payout.id),
    kind: payout.kind,
    state: payout.state,
    amount: formatAssetAmount(payout.amount_units, payout.asset),
    destination: `${payout.destination_wallet} (${payout.destination_currency})`,
    heldReason: payout.held_reason,
    deferredUntil: iso(payout.deferred_until),
    failureCode: payout.failure_code,
    completedAt: iso(payout.completed_at),
    transfer: transfer
      ? {
          txHash: transfer.tx_hash,
          status: transfer.status,
          to: transfer.to_address,
          amount: formatAssetAmount(transfer.amount_units, transfer.asset),
          blockNumber: text(transfer.block_number),
          gas: transfer.fee_units === null ? null : formatAssetAmount(transfer.fee_units, 'ETH'),
        }
      : null,
    swap: swap
      ? {
          exchangeId: swap.provider_exchange_id,
          status: swap.status,
          receivedAmount: swap.received_to_amount === null ? null : `${swap.received_to_amount} ${swap.to_currency}`,
          payoutHash: swap.payout_hash,
        }
      : null,
  };
}
