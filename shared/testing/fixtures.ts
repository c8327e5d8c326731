import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Db, Queryable, Tx } from '../db/index.js';
import { sealAccountEmail } from '../accounts/index.js';
import { clearWallet, openWallet, sealWallet, storedWalletColumns, storedWalletOf } from '../wallets/index.js';
import { loadFieldCipher } from '../field-crypto/index.js';
import { sealSignedTransaction, sealTransferRecipient } from '../chain/index.js';
import { ledgerAccountCodes, postLedgerTransaction } from '../ledger/index.js';
import { createPayout } from '../payouts/create-payout.js';
import { type PayoutState, type PayoutTransitionFields, transitionPayout } from '../payouts/index.js';

/**
 * Builders that insert valid rows with defaults, for tests and the sandbox. Each takes overrides
 * for the columns a test cares about and creates the parents it needs (a checkout creates its
 * Telegram user, channel and tier). Ids are random, so builders never collide within a database.
 */

/** The time fixtures stamp rows with; the same instant the fake clock starts at. */
export const FIXTURE_NOW = new Date('2026-01-01T00:00:00.000Z');

const DAY_MS = 86_400_000;

/** Drivers differ (PGlite returns small int8 as number): normalise to bigint. */
function toBigInt(value: unknown): bigint {
  return BigInt(value as bigint | number | string);
}

/** Base units as an exact decimal string ('0.003' for 3·10^15 at 18 decimals). */
function decimalText(units: bigint, decimals: number): string {
  const digits = units.toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, -decimals);
  const fraction = digits.slice(-decimals).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

/**
 * A fixture payout rests where the test puts it: the `payout-requested` message its creation queued
 * is removed, so nothing starts its stages unless the test does.
 */
export async function dropPayoutRequest(tx: Tx, payoutId: string): Promise<void> {
  await tx.query('DELETE FROM outbox WHERE dedupe_key = $1', [`payout-requested:${payoutId}`]);
}

function inTransaction<T>(q: Db | Tx, work: (tx: Tx) => Promise<T>): Promise<T> {
  return 'transaction' in q ? q.transaction(work) : work(q);
}

/** A random EVM address, lower-case. */
export function randomEvmAddress(): string {
  return `0x${randomBytes(20).toString('hex')}`;
}

/** A random channel-style chat id: -100 followed by 10 digits. */
export function randomChatId(): bigint {
  return -(1_000_000_000_000n + BigInt(randomInt(1, 2 ** 47 - 1)) % 9_000_000_000n);
}

export interface TelegramUserFixture {
  id: bigint;
  username: string | null;
}

export async function insertTelegramUser(
  q: Queryable,
  overrides: { id?: bigint; username?: string | null; firstName?: string } = {},
): Promise<TelegramUserFixture> {
  const id = overrides.id ?? BigInt(randomInt(10_000, 2 ** 47 - 1));
  const username = overrides.username === undefined ? `user_${id}` : overrides.username;
  await q.query(
    `INSERT INTO telegram_users (id, username, first_name, language_code, created_at, updated_at)
     VALUES ($1, $2, $3, 'en', $4, $4)`,
    [id.toString(), username, overrides.firstName ?? 'Test', FIXTURE_NOW],
  );
  return { id, username };
}

export interface AccountFixture {
  id: string;
  email: string;
}

export async function insertAccount(
  q: Queryable,
  overrides: { id?: string; email?: string; passwordHash?: string; isEmailVerified?: boolean } = {},
): Promise<AccountFixture> {
  const id = overrides.id ?? randomUUID();
  const email = overrides.email ?? `owner-${id.slice(0, 8)}@example.com`;
  const sealed = sealAccountEmail(id, email);
  await q.query(
    `INSERT INTO accounts (id, email_ciphertext, email_index, email_hint, password_hash, email_verified_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
    [
      id,
      sealed.ciphertext,
      sealed.index,
      sealed.hint,
      overrides.passwordHash ?? '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo',
      overrides.isEmailVerified === false ? null : FIXTURE_NOW,
      FIXTURE_NOW,
    ],
  );
  return { id, email };
}

export interface ChannelFixture {
  id: string;
  ownerAccountId: string;
  openChatId: bigint;
  closedChatId: bigint;
  payoutCurrency: string;
  payoutNetwork: string;
  payoutWallet: string;
  payoutStrategy: 'instant' | 'threshold';
  payoutThresholdCents: bigint | null;
  underpaymentToleranceBps: number;
}

export interface ChannelOverrides {
  id?: string;
  ownerAccountId?: string;
  openChatId?: bigint;
  closedChatId?: bigint;
  status?: 'pending' | 'active' | 'paused' | 'deleted';
  payoutCurrency?: string;
  payoutNetwork?: string;
  payoutWallet?: string;
  payoutStrategy?: 'instant' | 'threshold';
  payoutThresholdCents?: bigint | null;
  underpaymentToleranceBps?: number;
}

/** A live channel (instant ETH payouts to a random address) with its broadcast schedule row. */
export async function insertChannel(q: Queryable, overrides: ChannelOverrides = {}): Promise<ChannelFixture> {
  const ownerAccountId = overrides.ownerAccountId ?? (await insertAccount(q)).id;
  const strategy = overrides.payoutStrategy ?? 'instant';
  const channel: ChannelFixture = {
    id: overrides.id ?? randomUUID(),
    ownerAccountId,
    openChatId: overrides.openChatId ?? randomChatId(),
    closedChatId: overrides.closedChatId ?? randomChatId(),
    payoutCurrency: overrides.payoutCurrency ?? 'ETH',
    payoutNetwork: overrides.payoutNetwork ?? 'ETH',
    payoutWallet: overrides.payoutWallet ?? randomEvmAddress(),
    payoutStrategy: strategy,
    payoutThresholdCents:
      overrides.payoutThresholdCents === undefined ? (strategy === 'threshold' ? 5_000n : null) : overrides.payoutThresholdCents,
    underpaymentToleranceBps: overrides.underpaymentToleranceBps ?? 9800,
  };
  const status = overrides.status ?? 'active';
  const sealed = sealWallet(ownerAccountId, channel.payoutWallet, null);
  // One statement, so the deferred "every channel has a schedule" check sees both rows.
  await q.query(
    `WITH channel AS (
       INSERT INTO channels (id, owner_account_id, open_chat_id, closed_chat_id, open_title, closed_title, status,
                             payout_currency, payout_network, payout_wallet_ciphertext, payout_wallet_index, payout_wallet_hint,
                             payout_strategy, payout_threshold_cents, underpayment_tolerance_bps, created_at, updated_at, deleted_at)
       VALUES ($1, $2, $3, $4, 'Open channel', 'Closed channel', $5, $6, $7, $8, $13, $14, $9, $10, $11, $12, $12,
               CASE WHEN $5 = 'deleted' THEN $12::timestamptz END)
       RETURNING id)
     INSERT INTO broadcast_schedules (channel_id, next_run_at, created_at, updated_at)
     SELECT id, $12, $12, $12 FROM channel`,
    [
      channel.id,
      channel.ownerAccountId,
      channel.openChatId.toString(),
      channel.closedChatId.toString(),
      status,
      channel.payoutCurrency,
      channel.payoutNetwork,
      sealed.ciphertext,
      channel.payoutStrategy,
      channel.payoutThresholdCents?.toString() ?? null,
      channel.underpaymentToleranceBps,
      FIXTURE_NOW,
      sealed.index,
      sealed.hint,
    ],
  );
  return channel;
}

export interface TierFixture {
  id: string;
  channelId: string;
  tierNumber: number;
  priceCents: bigint;
  durationDays: number;
}

export async function insertTier(
  q: Queryable,
  overrides: { id?: string; channelId?: string; tierNumber?: number; priceCents?: bigint; durationDays?: number } = {},
): Promise<TierFixture> {
  const tier: TierFixture = {
    id: overrides.id ?? randomUUID(),
    channelId: overrides.channelId ?? (await insertChannel(q)).id,
    tierNumber: overrides.tierNumber ?? 1,
    priceCents: overrides.priceCents ?? 999n,
    durationDays: overrides.durationDays ?? 30,
  };
  await q.query(
    `INSERT INTO channel_tiers (id, channel_id, tier_number, price_cents, duration_days, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)`,
    [tier.id, tier.channelId, tier.tierNumber, tier.priceCents.toString(), tier.durationDays, FIXTURE_NOW],
  );
  return tier;
}

export interface CheckoutFixture {
  id: string;
  kind: 'subscription' | 'donation';
  telegramUserId: bigint;
  channelId: string;
  tierId: string | null;
  priceCents: bigint;
  durationDays: number | null;
  status: 'open' | 'paid' | 'expired' | 'cancelled';
}

export interface CheckoutOverrides {
  id?: string;
  kind?: 'subscription' | 'donation';
  telegramUserId?: bigint;
  channelId?: string;
  tierId?: string;
  priceCents?: bigint;
  status?: 'open' | 'paid' | 'expired' | 'cancelled';
}

/**
 * A checkout snapshotting its tier's price and duration. Subscriptions use `tierId` (whose channel
 * is then required as `channelId`) or a new tier on `channelId` (or on a new channel).
 */
export async function insertCheckout(q: Queryable, overrides: CheckoutOverrides = {}): Promise<CheckoutFixture> {
  const kind = overrides.kind ?? 'subscription';
  const telegramUserId = overrides.telegramUserId ?? (await insertTelegramUser(q)).id;
  const channelId = overrides.channelId ?? (await insertChannel(q)).id;
  let tier: { id: string; priceCents: bigint; durationDays: number } | null = null;
  if (kind === 'subscription') {
    if (overrides.tierId) {
      const { rows } = await q.query<{ price_cents: unknown; duration_days: number }>(
        'SELECT price_cents, duration_days FROM channel_tiers WHERE id = $1',
        [overrides.tierId],
      );
      const row = rows[0];
      if (!row) throw new Error(`insertCheckout: tier ${overrides.tierId} does not exist`);
      tier = { id: overrides.tierId, priceCents: toBigInt(row.price_cents), durationDays: row.duration_days };
    } else {
      tier = await insertTier(q, { channelId });
    }
  }
  const status = overrides.status ?? 'open';
  const checkout: CheckoutFixture = {
    id: overrides.id ?? randomUUID(),
    kind,
    telegramUserId,
    channelId,
    tierId: tier?.id ?? null,
    priceCents: overrides.priceCents ?? tier?.priceCents ?? 500n,
    durationDays: tier?.durationDays ?? null,
    status,
  };
  await q.query(
    `INSERT INTO checkouts (id, kind, telegram_user_id, channel_id, tier_id, price_cents, duration_days, status,
                            created_at, expires_at, paid_at, closed_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
             CASE WHEN $8 = 'paid' THEN $9::timestamptz END,
             CASE WHEN $8 IN ('expired', 'cancelled') THEN $9::timestamptz END, $9)`,
    [
      checkout.id,
      checkout.kind,
      checkout.telegramUserId.toString(),
      checkout.channelId,
      checkout.tierId,
      checkout.priceCents.toString(),
      checkout.durationDays,
      status,
      FIXTURE_NOW,
      new Date(FIXTURE_NOW.getTime() + DAY_MS),
    ],
  );
  return checkout;
}

export type PaymentStatus =
  | 'waiting'
  | 'confirming'
  | 'confirmed'
  | 'sending'
  | 'partially_paid'
  | 'finished'
  | 'failed'
  | 'refunded'
  | 'expired';

export interface PaymentFixture {
  id: string;
  checkoutId: string;
  channelId: string;
  telegramUserId: bigint;
  provider: 'nowpayments';
  providerPaymentId: string;
  status: PaymentStatus;
}

/** A NowPayments payment in ETH outcome for a checkout (a new open subscription checkout by default). */
export async function insertPayment(
  q: Queryable,
  overrides: {
    id?: string;
    checkoutId?: string;
    providerPaymentId?: string;
    status?: PaymentStatus;
    outcomeUnits?: bigint;
    isSettled?: boolean;
    /** When it settled (implies isSettled); default FIXTURE_NOW when isSettled. */
    settledAt?: Date;
  } = {},
): Promise<PaymentFixture> {
  let checkout: { id: string; channelId: string; telegramUserId: bigint; priceCents: bigint };
  if (overrides.checkoutId) {
    const { rows } = await q.query<{ channel_id: string; telegram_user_id: unknown; price_cents: unknown }>(
      'SELECT channel_id, telegram_user_id, price_cents FROM checkouts WHERE id = $1',
      [overrides.checkoutId],
    );
    const row = rows[0];
    if (!row) throw new Error(`insertPayment: checkout ${overrides.checkoutId} does not exist`);
    checkout = {
      id: overrides.checkoutId,
      channelId: row.channel_id,
      telegramUserId: toBigInt(row.telegram_user_id),
      priceCents: toBigInt(row.price_cents),
    };
  } else {
    checkout = await insertCheckout(q);
  }
  const status = overrides.status ?? 'waiting';
  const payment: PaymentFixture = {
    id: overrides.id ?? randomUUID(),
    checkoutId: checkout.id,
    channelId: checkout.channelId,
    telegramUserId: checkout.telegramUserId,
    provider: 'nowpayments',
    providerPaymentId: overrides.providerPaymentId ?? String(randomInt(1_000_000_000, 2 ** 47 - 1)),
    status,
  };
  const outcomeUnits = overrides.outcomeUnits ?? 3_000_000_000_000_000n; // 0.003 ETH
  await q.query(
    `INSERT INTO payments (id, provider, provider_payment_id, checkout_id, status, pay_currency, pay_amount, actually_paid,
                           price_amount_cents, outcome_currency, outcome_amount, outcome_asset, outcome_units,
                           settled_at, settled_outcome_units, created_at, updated_at)
     VALUES ($1, 'nowpayments', $2, $3, $4, 'btc', '0.00012345', '0.00012345', $5, 'eth', $6, 'ETH', $7, $8,
             CASE WHEN $8::timestamptz IS NOT NULL THEN $7::numeric END, $9, $9)`,
    [
      payment.id,
      payment.providerPaymentId,
      payment.checkoutId,
      status,
      checkout.priceCents.toString(),
      decimalText(outcomeUnits, 18),
      outcomeUnits.toString(),
      overrides.settledAt ?? (overrides.isSettled ? FIXTURE_NOW : null),
      FIXTURE_NOW,
    ],
  );
  return payment;
}

export interface SubscriptionFixture {
  id: string;
  telegramUserId: bigint;
  channelId: string;
  expiresAt: Date;
}

export async function insertSubscription(
  q: Queryable,
  overrides: { id?: string; telegramUserId?: bigint; channelId?: string; expiresAt?: Date } = {},
): Promise<SubscriptionFixture> {
  const subscription: SubscriptionFixture = {
    id: overrides.id ?? randomUUID(),
    telegramUserId: overrides.telegramUserId ?? (await insertTelegramUser(q)).id,
    channelId: overrides.channelId ?? (await insertChannel(q)).id,
    expiresAt: overrides.expiresAt ?? new Date(FIXTURE_NOW.getTime() + 30 * DAY_MS),
  };
  await q.query(
    `INSERT INTO subscriptions (id, telegram_user_id, channel_id, status, expires_at, created_at, updated_at)
     VALUES ($1, $2, $3, 'active', $4, $5, $5)`,
    [subscription.id, subscription.telegramUserId.toString(), subscription.channelId, subscription.expiresAt, FIXTURE_NOW],
  );
  return subscription;
}

/**
 * Gives a channel's owner a balance: an 'adjustment' that debits the hot wallet and credits the
 * owner. Returns the ledger transaction id.
 */
export async function creditOwner(q: Db | Tx, channelId: string, asset: string, units: bigint): Promise<string> {
  return inTransaction(q, (tx) =>
    postLedgerTransaction(tx, {
      kind: 'adjustment',
      idempotencyKey: `fixture-credit:${randomUUID()}`,
      occurredAt: FIXTURE_NOW,
      description: 'test fixture: owner balance',
      entries: [
        { account: ledgerAccountCodes.hotWallet(asset), asset, amount: units },
        { account: ledgerAccountCodes.owner(channelId, asset), asset, amount: -units },
      ],
    }),
  );
}

export interface PayoutFixture {
  id: string;
  kind: 'threshold' | 'instant' | 'conversion';
  channelId: string | null;
  asset: string;
  amountUnits: bigint;
  destinationCurrency: string;
  destinationNetwork: string;
  destinationWallet: string;
  claimTransactionId: string;
}

/**
 * A payout in state 'requested', made by `createPayout` (its claim, then the row with the channel's
 * payout wallet as the destination snapshot): credits the owner `amountUnits` first (unless
 * `isOwnerCredited` is false). Its `payout-requested` message is not queued: a test drives the stages
 * itself (`movePayout` for a later state).
 */
export async function insertPayout(
  q: Db | Tx,
  overrides: {
    id?: string;
    kind?: 'threshold' | 'instant';
    channelId?: string;
    paymentId?: string;
    asset?: string;
    amountUnits?: bigint;
    amountUsdCents?: bigint | null;
    isOwnerCredited?: boolean;
  } = {},
): Promise<PayoutFixture> {
  return inTransaction(q, async (tx) => {
    const kind = overrides.kind ?? 'threshold';
    const asset = overrides.asset ?? 'ETH';
    const amountUnits = overrides.amountUnits ?? 2_000_000_000_000_000n;
    const paymentId =
      kind === 'instant' ? (overrides.paymentId ?? (await insertPayment(tx, { status: 'finished', isSettled: true })).id) : null;
    let channelId = overrides.channelId;
    if (!channelId) {
      if (paymentId) {
        const { rows } = await tx.query<{ channel_id: string }>(
          'SELECT c.channel_id FROM payments p JOIN checkouts c ON c.id = p.checkout_id WHERE p.id = $1',
          [paymentId],
        );
        channelId = rows[0]?.channel_id;
      }
      channelId ??= (await insertChannel(tx)).id;
    }
    const { rows } = await tx.query<{ owner_account_id: string; payout_currency: string; payout_network: string }>(
      `SELECT owner_account_id, payout_currency, payout_network, ${storedWalletColumns('payout_wallet', 'payout_extra_id')} FROM channels WHERE id = $1`,
      [channelId],
    );
    const channel = rows[0];
    if (!channel) throw new Error(`insertPayout: channel ${channelId} does not exist`);
    const stored = storedWalletOf(channel as unknown as Record<string, unknown>, 'payout_wallet', 'payout_extra_id');
    if (overrides.isOwnerCredited !== false) await creditOwner(tx, channelId, asset, amountUnits);

    const origin = { channelId, ownerAccountId: channel.owner_account_id };
    const id = await createPayout(tx, {
      ...(paymentId ? { kind: 'instant', paymentId, ...origin } : { kind: 'threshold', ...origin }),
      ...(overrides.id ? { id: overrides.id } : {}),
      asset,
      amountUnits,
      amountUsdCents: overrides.amountUsdCents ?? null,
      destination: { currency: channel.payout_currency, network: channel.payout_network, stored },
      at: FIXTURE_NOW,
    });
    await dropPayoutRequest(tx, id);
    return {
      id,
      kind,
      channelId,
      asset,
      amountUnits,
      destinationCurrency: channel.payout_currency,
      destinationNetwork: channel.payout_network,
      destinationWallet: openWallet(channel.owner_account_id, stored).wallet,
      claimTransactionId: await claimOf(tx, id),
    };
  });
}

async function claimOf(q: Queryable, payoutId: string): Promise<string> {
  const { rows } = await q.query<{ claim_transaction_id: string }>('SELECT claim_transaction_id FROM payouts WHERE id = $1', [payoutId]);
  return rows[0]!.claim_transaction_id;
}

/** The states a payout passes through from `requested` to each state, one allowed transition at a time (direct payouts skip the swap). */
const PAYOUT_PATHS: Record<PayoutState, readonly PayoutState[]> = {
  requested: [],
  held: ['held'],
  deferred: ['deferred'],
  quoted: ['quoted'],
  swap_created: ['quoted', 'swap_created'],
  transfer_signed: ['quoted', 'swap_created', 'transfer_signed'],
  transfer_broadcast: ['quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast'],
  awaiting_swap: ['quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap'],
  needs_attention: ['quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap', 'needs_attention'],
  completed: ['quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap', 'completed'],
  failed: ['failed'],
  refunded: ['quoted', 'swap_created', 'transfer_signed', 'transfer_broadcast', 'awaiting_swap', 'refunded'],
  cancelled: ['cancelled'],
};

/**
 * Moves a payout with `transitionPayout`, one allowed step at a time, all stamped `at`: to a state
 * along the main line (from `requested`, or from `from` when it lies on the way; through the swap
 * states unless `isDirect`), or through the given states in order (from `from`, default `requested`).
 * Only the payout's state columns change: the ledger entries, swaps and transfers a real stage
 * would write are the test's to add. The reasons a state needs have defaults (held
 * `over_payout_limit`; deferred `test_deferral` until a day after `at`; failed `test_failure`).
 */
export async function movePayout(
  q: Db | Tx,
  payoutId: string,
  to: PayoutState | readonly PayoutState[],
  options: { from?: PayoutState; at?: Date; isDirect?: boolean } & PayoutTransitionFields = {},
): Promise<void> {
  const { from = 'requested', at = FIXTURE_NOW, isDirect = false, ...fields } = options;
  let steps: readonly PayoutState[];
  if (typeof to === 'string') {
    const line = PAYOUT_PATHS[to].filter((state) => !isDirect || (state !== 'swap_created' && state !== 'awaiting_swap'));
    if (from !== 'requested' && !line.includes(from)) throw new Error(`movePayout: ${to} is not reached through ${from}`);
    steps = line.slice(line.indexOf(from) + 1);
  } else {
    steps = to;
  }
  const reasons = { heldReason: 'over_payout_limit', deferredUntil: new Date(at.getTime() + DAY_MS), deferredReason: 'test_deferral', failureCode: 'test_failure', ...fields };
  await inTransaction(q, async (tx) => {
    let state = from;
    for (const step of steps) {
      if (!(await transitionPayout(tx, { ...reasons, payoutId, from: state, to: step, at }))) {
        throw new Error(`movePayout: payout ${payoutId} is not in ${state}`);
      }
      state = step;
    }
  });
}

export interface SwapFixture {
  id: string;
  payoutId: string;
  providerExchangeId: string;
  depositAddress: string;
}

/** What the swap and transfer fixtures take of a payout: a `PayoutFixture` or the payouts read model (`PayoutRow`). */
export type PayoutToSend = Pick<PayoutFixture, 'id' | 'asset' | 'amountUnits' | 'destinationCurrency' | 'destinationNetwork'>;

/** The payout's destination wallet opened, with its blind index (null while it is still in clear). */
export async function payoutWalletOf(q: Queryable, payoutId: string): Promise<{ wallet: string; index: Buffer | null }> {
  const { rows } = await q.query(`SELECT owner_account_id, ${storedWalletColumns('destination_wallet', 'destination_extra_id')} FROM payouts WHERE id = $1`, [payoutId]);
  const row = rows[0] as Record<string, unknown> | undefined;
  if (!row) throw new Error(`no payout ${payoutId}`);
  const stored = storedWalletOf(row, 'destination_wallet', 'destination_extra_id');
  return { wallet: openWallet((row.owner_account_id as string | null) ?? null, stored).wallet, index: stored.index };
}

/** A ChangeNow exchange in status 'waiting' for exactly the payout's amount and destination. */
export async function insertSwap(
  q: Queryable,
  payout: PayoutToSend,
  overrides: { id?: string; providerExchangeId?: string; depositAddress?: string; payoutAddress?: string; fromAmountUnits?: bigint } = {},
): Promise<SwapFixture> {
  const swap: SwapFixture = {
    id: overrides.id ?? randomUUID(),
    payoutId: payout.id,
    providerExchangeId: overrides.providerExchangeId ?? randomBytes(7).toString('hex'),
    depositAddress: overrides.depositAddress ?? randomEvmAddress(),
  };
  // The payout's destination as it stores it (sealed: copied), unless a test names another address.
  await q.query(
    `INSERT INTO swaps (id, payout_id, provider_exchange_id, from_asset, from_amount_units, from_currency, from_network,
                        to_currency, to_network, expected_to_amount, deposit_address, payout_address, payout_address_ciphertext,
                        payout_address_index, refund_address, status, created_at, updated_at)
     SELECT $1, $2, $3, $4, $5, lower($4), 'eth', $6, $7, '1.5', $8,
            CASE WHEN $9::text IS NULL THEN p.destination_wallet ELSE $9 END,
            CASE WHEN $9::text IS NULL THEN p.destination_wallet_ciphertext END,
            CASE WHEN $9::text IS NULL THEN p.destination_wallet_index END,
            $10, 'waiting', $11, $11
       FROM payouts p WHERE p.id = $2`,
    [
      swap.id,
      payout.id,
      swap.providerExchangeId,
      payout.asset,
      (overrides.fromAmountUnits ?? payout.amountUnits).toString(),
      payout.destinationCurrency,
      payout.destinationNetwork,
      swap.depositAddress,
      overrides.payoutAddress ?? null,
      randomEvmAddress(),
      FIXTURE_NOW,
    ],
  );
  return swap;
}

export interface ChainTransferFixture {
  id: string;
  payoutId: string;
  chainId: bigint;
  fromAddress: string;
  nonce: bigint;
  txHash: string;
}

/**
 * A signed (not yet broadcast) transfer of exactly the payout's amount, to its swap's deposit address
 * (in clear) or, without a swap, to the payout destination (sealed, named by its index), with random
 * sealed bytes — stored as send-transfer stores them.
 */
export async function insertChainTransfer(
  q: Queryable,
  payout: PayoutToSend,
  overrides: { id?: string; chainId?: bigint; fromAddress?: string; toAddress?: string; nonce?: bigint; amountUnits?: bigint } = {},
): Promise<ChainTransferFixture> {
  const { rows: swaps } = await q.query<{ address: string }>('SELECT lower(deposit_address) AS address FROM swaps WHERE payout_id = $1', [payout.id]);
  const deposit = swaps[0]?.address;
  let toAddress = overrides.toAddress ?? deposit;
  let toIndex: Buffer | null = null;
  if (toAddress === undefined) {
    const destination = await payoutWalletOf(q, payout.id);
    toAddress = destination.wallet.toLowerCase();
    toIndex = destination.index;
  } else if (deposit === undefined) {
    toIndex = loadFieldCipher().walletIndex(toAddress);
  }
  const transfer: ChainTransferFixture = {
    id: overrides.id ?? randomUUID(),
    payoutId: payout.id,
    chainId: overrides.chainId ?? 1n,
    fromAddress: overrides.fromAddress ?? randomEvmAddress(),
    nonce: overrides.nonce ?? BigInt(randomInt(0, 1_000_000)),
    txHash: `0x${randomBytes(32).toString('hex')}`,
  };
  const recipient = toIndex === null ? { clear: toAddress, ciphertext: null } : sealTransferRecipient(payout.id, toAddress);
  await q.query(
    `INSERT INTO chain_transfers (id, payout_id, chain_id, from_address, to_address, to_address_ciphertext, asset, amount_units, nonce, gas_limit,
                                  max_fee_per_gas, max_priority_fee_per_gas, signed_tx_ciphertext, tx_hash, signed_at, created_at, updated_at, to_address_index)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 21000, 30000000000, 1000000000, $10, $11, $12, $12, $12, $13)`,
    [
      transfer.id,
      payout.id,
      transfer.chainId.toString(),
      transfer.fromAddress,
      recipient.clear,
      recipient.ciphertext,
      payout.asset,
      (overrides.amountUnits ?? payout.amountUnits).toString(),
      transfer.nonce.toString(),
      sealSignedTransaction(payout.id, 1, `0x02${randomBytes(100).toString('hex')}`).ciphertext,
      transfer.txHash,
      FIXTURE_NOW,
      toIndex,
    ],
  );
  return transfer;
}

export interface ConversionBatchFixture {
  id: string;
  payout: PayoutFixture;
  totalFromUnits: bigint;
}

/**
 * A 'converting' batch: credits each channel's owner its ETH share, claims the shares into one
 * 'conversion' payout to a platform USDT wallet, and records the batch and its shares.
 * `shareSkew` adds to the first share row only, to build a batch whose shares do not add up.
 */
export async function insertConversionBatch(
  q: Db | Tx,
  shares: ReadonlyArray<{ channelId: string; fromUnits: bigint }>,
  options: { shareSkew?: bigint } = {},
): Promise<ConversionBatchFixture> {
  return inTransaction(q, async (tx) => {
    const id = randomUUID();
    const payoutId = randomUUID();
    const total = shares.reduce((sum, share) => sum + share.fromUnits, 0n);
    for (const share of shares) await creditOwner(tx, share.channelId, 'ETH', share.fromUnits);
    const destination = { currency: 'USDT', network: 'ETH', wallet: randomEvmAddress() };
    await createPayout(tx, {
      kind: 'conversion',
      batchId: id,
      shares: shares.map((share) => ({ channelId: share.channelId, units: share.fromUnits })),
      id: payoutId,
      asset: 'ETH',
      amountUnits: total,
      amountUsdCents: null,
      destination: { currency: destination.currency, network: destination.network, stored: clearWallet(destination.wallet) },
      at: FIXTURE_NOW,
    });
    await dropPayoutRequest(tx, payoutId);
    const payout: PayoutFixture = {
      id: payoutId,
      kind: 'conversion',
      channelId: null,
      asset: 'ETH',
      amountUnits: total,
      destinationCurrency: destination.currency,
      destinationNetwork: destination.network,
      destinationWallet: destination.wallet,
      claimTransactionId: await claimOf(tx, payoutId),
    };
    await tx.query(
      `INSERT INTO conversion_batches (id, payout_id, from_asset, to_asset, total_from_units, created_at, updated_at)
       VALUES ($1, $2, 'ETH', 'USDT_ERC20', $3, $4, $4)`,
      [id, payoutId, total.toString(), FIXTURE_NOW],
    );
    for (const [index, share] of shares.entries()) {
      const units = share.fromUnits + (index === 0 ? (options.shareSkew ?? 0n) : 0n);
      await tx.query('INSERT INTO conversion_batch_shares (batch_id, channel_id, from_units) VALUES ($1, $2, $3)', [
        id,
        share.channelId,
        units.toString(),
      ]);
    }
    return { id, payout, totalFromUnits: total };
  });
}
