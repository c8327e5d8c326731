import { openWallet, storedWalletColumns, storedWalletOf } from '../../wallets/index.js';
import type { Queryable } from '../../db/index.js';
import type { HotWalletPosition } from '../../hot-wallet/index.js';
import { formatPublicId } from '../../ids/index.js';
import { formatUnits, formatUsdCents, getAsset, isAssetCode } from '../../money/index.js';
import { subscribeStartPayload } from '../../telegram/deep-links.js';

/**
 * Read-only views of the database for the sandbox (its page and CLI): channels and owner balances,
 * the owner's notifications, on-chain transfers (payments: sandbox-payment-views.ts). Ids are public
 * ids, amounts decimal text with their symbol. Local tooling only: production functions never import
 * this.
 */

export interface TierView {
  tier: number;
  priceUsd: string;
  durationDays: number;
}

export interface BalanceView {
  asset: string;
  units: string;
  amount: string;
}

export interface ChannelView {
  id: string;
  /** A short name for the CLI (`premium`, `club`): the title's last word, lower case. */
  alias: string;
  title: string;
  strategy: string;
  thresholdUsd: string | null;
  payoutWallet: string;
  payoutCurrency: string;
  ownerTelegramId: string | null;
  /** The `/start` payload of the channel's deep link. */
  startPayload: string;
  /** The open (public) chat, where the bot posts the tier buttons. */
  openChatId: string;
  tiers: TierView[];
  /** What the gateway owes the owner (ledger), per asset. */
  ownerBalance: BalanceView[];
}

export interface OwnerNotificationView {
  channelTitle: string;
  kind: string;
  status: string;
  createdAt: string;
  sentAt: string | null;
  paymentId: string | null;
  payoutId: string | null;
}

export interface ChainTransferView {
  payoutId: string;
  txHash: string;
  status: string;
  to: string;
  amount: string;
  blockNumber: string | null;
  signedAt: string;
}

/** The hot wallet against the ledger, per asset, as the sandbox page shows it. */
export interface HotWalletView {
  address: string;
  blockNumber: string;
  assets: { asset: string; onChain: string; ledger: string; inFlight: string; unexplained: string; verdict: string }[];
  /** What is in flight, one line each (transfers not mined or not booked yet, payments received and not booked). */
  inFlight: string[];
}

const iso = (value: Date | null | undefined) => (value ? value.toISOString() : null);
const text = (value: unknown) => (value === null || value === undefined ? null : String(value));

/** `0.0032 ETH` from base units; unknown assets are shown raw. */
export function formatAssetAmount(units: string | bigint, asset: string): string {
  if (!isAssetCode(asset)) return `${String(units)} ${asset}`;
  const info = getAsset(asset);
  return `${formatUnits(BigInt(units), info.decimals)} ${info.symbol}`;
}

function aliasOf(title: string): string {
  return (title.trim().split(/\s+/).at(-1) ?? title).toLowerCase();
}

export async function listChannelViews(db: Queryable): Promise<ChannelView[]> {
  const { rows: channels } = await db.query<{
    id: string;
    closed_title: string;
    payout_strategy: string;
    payout_threshold_cents: bigint | null;
    owner_account_id: string;
    payout_currency: string;
    owner_telegram_id: bigint | null;
    open_chat_id: bigint;
  }>(
    `SELECT c.id, c.open_chat_id, c.closed_title, c.payout_strategy, c.payout_threshold_cents, c.owner_account_id, ${storedWalletColumns('c.payout_wallet', 'c.payout_extra_id')}, c.payout_currency, a.telegram_user_id AS owner_telegram_id
       FROM channels c JOIN accounts a ON a.id = c.owner_account_id
      WHERE c.deleted_at IS NULL ORDER BY c.created_at, c.closed_title`,
  );
  const { rows: tiers } = await db.query<{ channel_id: string; tier_number: number; price_cents: bigint; duration_days: number }>(
    'SELECT channel_id, tier_number, price_cents, duration_days FROM channel_tiers WHERE is_active ORDER BY tier_number',
  );
  const { rows: balances } = await db.query<{ channel_id: string; asset: string; total: string }>(
    `SELECT a.channel_id, a.asset, (-sum(e.amount))::text AS total
       FROM ledger_accounts a JOIN ledger_entries e ON e.account_id = a.id
      WHERE a.channel_id IS NOT NULL GROUP BY a.channel_id, a.asset ORDER BY a.asset`,
  );
  return channels.map((row) => {
    const id = formatPublicId('channel', row.id);
    return {
      id,
      alias: aliasOf(row.closed_title),
      title: row.closed_title,
      strategy: row.payout_strategy,
      thresholdUsd: row.payout_threshold_cents === null ? null : formatUsdCents(BigInt(row.payout_threshold_cents)),
      // The sandbox holds the field keys: it shows the demo owner's wallet (and reads its balance).
      payoutWallet: openWallet(row.owner_account_id, storedWalletOf(row as unknown as Record<string, unknown>, 'payout_wallet', 'payout_extra_id')).wallet,
      payoutCurrency: row.payout_currency,
      ownerTelegramId: text(row.owner_telegram_id),
      startPayload: subscribeStartPayload(row.id),
      openChatId: String(row.open_chat_id),
      tiers: tiers
        .filter((tier) => tier.channel_id === row.id)
        .map((tier) => ({ tier: Number(tier.tier_number), priceUsd: formatUsdCents(BigInt(tier.price_cents)), durationDays: Number(tier.duration_days) })),
      ownerBalance: balances
        .filter((balance) => balance.channel_id === row.id)
        .map((balance) => ({ asset: balance.asset, units: balance.total, amount: formatAssetAmount(balance.total, balance.asset) })),
    };
  });
}

export async function listOwnerNotificationViews(db: Queryable, limit = 20): Promise<OwnerNotificationView[]> {
  const { rows } = await db.query<{ closed_title: string; kind: string; status: string; created_at: Date; sent_at: Date | null; payment_id: string | null; payout_id: string | null }>(
    `SELECT c.closed_title, n.kind, n.status, n.created_at, n.sent_at, n.payment_id, n.payout_id
       FROM owner_notifications n JOIN channels c ON c.id = n.channel_id ORDER BY n.created_at DESC LIMIT ${Math.max(1, Math.min(limit, 100))}`,
  );
  return rows.map((row) => ({
    channelTitle: row.closed_title,
    kind: row.kind,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    sentAt: iso(row.sent_at),
    paymentId: row.payment_id ? formatPublicId('payment', row.payment_id) : null,
    payoutId: row.payout_id ? formatPublicId('payout', row.payout_id) : null,
  }));
}

export async function listChainTransferViews(db: Queryable, limit = 20): Promise<ChainTransferView[]> {
  const { rows } = await db.query<{ payout_id: string; tx_hash: string; status: string; to_address: string; asset: string; amount_units: string; block_number: bigint | null; signed_at: Date }>(
    // A recipient sealed at rest (the owner's wallet) is shown masked, as the payout shows it.
    `SELECT t.payout_id, t.tx_hash, t.status, coalesce(t.to_address, p.destination_wallet_hint) AS to_address, t.asset,
            t.amount_units::text AS amount_units, t.block_number, t.signed_at
       FROM chain_transfers t JOIN payouts p ON p.id = t.payout_id ORDER BY t.signed_at DESC LIMIT ${Math.max(1, Math.min(limit, 100))}`,
  );
  return rows.map((row) => ({
    payoutId: formatPublicId('payout', row.payout_id),
    txHash: row.tx_hash,
    status: row.status,
    to: row.to_address,
    amount: formatAssetAmount(row.amount_units, row.asset),
    blockNumber: text(row.block_number),
    signedAt: row.signed_at.toISOString(),
  }));
}

export function hotWalletView(position: HotWalletPosition): HotWalletView {
  const signed = (units: bigint, asset: string) => `${units > 0n ? '+' : ''}${formatAssetAmount(units, asset)}`;
  return {
    address: position.address,
    blockNumber: position.blockNumber.toString(),
    assets: position.assets.map((comparison) => ({
      asset: comparison.asset,
      onChain: formatAssetAmount(comparison.chainUnits, comparison.asset),
      ledger: formatAssetAmount(comparison.ledgerUnits, comparison.asset),
      inFlight: signed(comparison.inFlightUnits, comparison.asset),
      unexplained: signed(comparison.unexplainedUnits, comparison.asset),
      verdict: comparison.verdict,
    })),
    inFlight: [
      ...position.transfers.map(
        (transfer) =>
          `payout ${formatPublicId('payout', transfer.payoutId)}: transfer ${transfer.onChain.replace('_', ' ')}, ${signed(transfer.valueUnits, transfer.asset)}` +
          (transfer.gasNotBookedWei === 0n ? '' : `, gas not booked yet ${formatAssetAmount(transfer.gasNotBookedWei, 'ETH')}`),
      ),
      ...position.payments.map(
        (payment) => `payment ${formatPublicId('payment', payment.paymentId)} (${payment.status}): ${formatAssetAmount(payment.arrivedUnits - payment.bookedUnits, payment.asset)} received, not booked`,
      ),
    ],
  };
}
