import type { Clock } from '../clock/index.js';
import type { Db, Queryable, Tx } from '../db/index.js';
import { formatPublicId } from '../ids/index.js';
import { formatUsdCents } from '../money/index.js';
import { checkoutStatusesBefore } from './checkout-status.js';
import type { NowPaymentsClient } from '../nowpayments/index.js';
import { checkoutError } from './errors.js';
import { findPromoCodeForCheckout, priceWithPromoCode, releasePromoReservations, reservePromoCode } from '../promo-codes/index.js';
import { type TelegramUserProfile, upsertTelegramUser } from '../telegram-users/index.js';

export type CheckoutRequest =
  | {
      kind: 'subscription';
      user: TelegramUserProfile;
      channelId: string;
      tierNumber: number;
      /** As typed; checked and priced here (`shared/promo-codes`). Refusals are `promo_code_*` errors. */
      promoCode?: string;
      /** Paid by the user for someone else: settles into a gift. */
      isGift?: boolean;
    }
  | { kind: 'donation'; user: TelegramUserProfile; channelId: string; amountCents: bigint };

export interface Checkout {
  id: string;
  /** The opaque id sent to NowPayments as `order_id` and shown to people (`chk_…`). */
  publicId: string;
  kind: 'subscription' | 'donation';
  priceCents: bigint;
  /** The tier's price before a promo code; null without one. */
  listPriceCents: bigint | null;
  durationDays: number | null;
  invoiceUrl: string;
  expiresAt: Date;
  /** True when an open checkout with a still-valid invoice was reused instead of creating one. */
  isReused: boolean;
}

export interface CheckoutDeps {
  db: Db;
  clock: Clock;
  nowpayments: NowPaymentsClient;
  /** Public base URL of the gateway: the IPN callback is `<base>/nowpayments-ipn`. */
  publicBaseUrl: string;
  /** Where NowPayments sends the payer back after paying (the bot's chat). */
  returnUrl: string;
  /** How long a checkout's invoice is offered before a new one is made. Default 60 minutes. */
  validityMinutes?: number;
}

interface CheckoutRow {
  id: string;
  kind: 'subscription' | 'donation';
  price_cents: bigint;
  list_price_cents: bigint | null;
  duration_days: number | null;
  provider_invoice_url: string | null;
  expires_at: Date;
}

const CHECKOUT_COLUMNS = 'id, kind, price_cents, list_price_cents, duration_days, provider_invoice_url, expires_at';

/** Price and duration come from the database, never from the caller: a deep link cannot set a price. */
async function offerFor(tx: Tx, request: CheckoutRequest): Promise<{ tierId: string | null; priceCents: bigint; durationDays: number | null }> {
  const { rows } = await tx.query<{
    status: string;
    donations_enabled: boolean;
    donation_min_cents: bigint | null;
    donation_max_cents: bigint | null;
  }>(`SELECT status, donations_enabled, donation_min_cents, donation_max_cents FROM channels WHERE id = $1 AND deleted_at IS NULL`, [
    request.channelId,
  ]);
  const channel = rows[0];
  if (!channel || channel.status !== 'active') {
    throw checkoutError('channel_unavailable', 'This channel does not accept payments right now', { channelId: request.channelId });
  }
  if (request.kind === 'donation') {
    const { donation_min_cents: min, donation_max_cents: max } = channel;
    if (!channel.donations_enabled || min === null || max === null) {
      throw checkoutError('donations_disabled', 'This channel does not accept donations', { channelId: request.channelId });
    }
    if (request.amountCents < min || request.amountCents > max) {
      throw checkoutError('donation_out_of_bounds', `Donations must be between $${formatUsdCents(min)} and $${formatUsdCents(max)}`, {
        channelId: request.channelId,
        amountCents: request.amountCents.toString(),
      });
    }
    return { tierId: null, priceCents: request.amountCents, durationDays: null };
  }
  const tiers = await tx.query<{ id: string; price_cents: bigint; duration_days: number }>(
    `SELECT id, price_cents, duration_days FROM channel_tiers WHERE channel_id = $1 AND tier_number = $2 AND is_active`,
    [request.channelId, request.tierNumber],
  );
  const tier = tiers.rows[0];
  if (!tier) throw checkoutError('tier_unavailable', 'This subscription option is no longer offered', { channelId: request.channelId });
  return { tierId: tier.id, priceCents: tier.price_cents, durationDays: tier.duration_days };
}

function toCheckout(row: CheckoutRow, isReused: boolean): Checkout {
  if (!row.provider_invoice_url) throw checkoutError('checkout_without_invoice', 'checkout has no invoice yet');
  return {
    id: row.id,
    publicId: formatPublicId('checkout', row.id),
    kind: row.kind,
    priceCents: row.price_cents,
    listPriceCents: row.list_price_cents,
    durationDays: row.duration_days,
    invoiceUrl: row.provider_invoice_url,
    expiresAt: row.expires_at,
    isReused,
  };
}

/**
 * Opens (or reuses) the checkout for a subscriber's choice and makes sure it has a NowPayments
 * invoice whose `order_id` is the checkout's public id. One open checkout per user × channel × tier
 * (and one more for a gift of that tier):
 * while its invoice is valid it is reused; once past its validity it is expired and a new one made.
 * The invoice is created outside any transaction; if that call fails the checkout stays open
 * without an invoice and the next attempt retries the call for the same checkout.
 */
export async function openCheckout(deps: CheckoutDeps, request: CheckoutRequest): Promise<Checkout> {
  const validityMs = (deps.validityMinutes ?? 60) * 60_000;
  const isGift = request.kind === 'subscription' && request.isGift === true;
  const prepared = await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    await upsertTelegramUser(tx, request.user);
    const offer = await offerFor(tx, request);
    // Locked before the user's checkout: concurrent checkouts with one code count its uses one at a time.
    const promo = request.kind === 'subscription' && request.promoCode !== undefined ? await findPromoCodeForCheckout(tx, request.channelId, request.promoCode) : undefined;
    const existing = await tx.query<CheckoutRow & { tier_id: string | null; promo_code_id: string | null }>(
      `SELECT ${CHECKOUT_COLUMNS}, tier_id, promo_code_id FROM checkouts
       WHERE telegram_user_id = $1 AND channel_id = $2 AND tier_id IS NOT DISTINCT FROM $3 AND is_gift = $4 AND status = 'open'
       FOR UPDATE`,
      [request.user.id, request.channelId, offer.tierId, isGift],
    );
    const open = existing.rows[0];
    const isStillValid =
      open &&
      open.expires_at > now &&
      (open.list_price_cents ?? open.price_cents) === offer.priceCents &&
      open.duration_days === offer.durationDays &&
      open.promo_code_id === (promo?.id ?? null);
    if (open && isStillValid) return { row: open, isReused: open.provider_invoice_url !== null };
    if (open) {
      // Past its validity, the owner changed the price, or another promo code (or none) was asked for: a new checkout replaces it.
      await tx.query(`UPDATE checkouts SET status = 'expired', closed_at = $2, updated_at = $2 WHERE id = $1 AND status = ANY($3::text[])`, [
        open.id,
        now,
        checkoutStatusesBefore('expired'),
      ]);
      await releasePromoReservations(tx, now, { checkoutId: open.id });
    }
    const priceCents =
      promo && offer.tierId !== null
        ? await priceWithPromoCode(tx, promo, { tierId: offer.tierId, telegramUserId: request.user.id, listPriceCents: offer.priceCents, now })
        : offer.priceCents;
    const inserted = await tx.query<CheckoutRow>(
      `INSERT INTO checkouts (kind, telegram_user_id, channel_id, tier_id, price_cents, duration_days, created_at, expires_at, updated_at,
                              promo_code_id, list_price_cents, is_gift)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $9, $10, $11)
       RETURNING ${CHECKOUT_COLUMNS}`,
      [request.kind, request.user.id, request.channelId, offer.tierId, priceCents, offer.durationDays, now, new Date(now.getTime() + validityMs),
        promo?.id ?? null, promo ? offer.priceCents : null, isGift],
    );
    const row = inserted.rows[0] as CheckoutRow;
    if (promo) await reservePromoCode(tx, { checkoutId: row.id, promoCodeId: promo.id, telegramUserId: request.user.id, now });
    return { row, isReused: false };
  });
  if (prepared.row.provider_invoice_url) return toCheckout(prepared.row, prepared.isReused);

  const publicId = formatPublicId('checkout', prepared.row.id);
  const invoice = await deps.nowpayments.createInvoice({
    priceCents: prepared.row.price_cents,
    orderId: publicId,
    orderDescription:
      prepared.row.kind === 'donation' ? 'Donation' : `${isGift ? 'Gift subscription' : 'Subscription'} - ${prepared.row.duration_days} days`,
    ipnCallbackUrl: `${deps.publicBaseUrl}/nowpayments-ipn`,
    successUrl: deps.returnUrl,
    cancelUrl: deps.returnUrl,
  });
  const { rows } = await deps.db.query<CheckoutRow>(
    `UPDATE checkouts SET provider_invoice_id = $2, provider_invoice_url = $3, updated_at = $4
     WHERE id = $1 AND provider_invoice_id IS NULL
     RETURNING ${CHECKOUT_COLUMNS}`,
    [prepared.row.id, invoice.invoiceId, invoice.invoiceUrl, deps.clock.now()],
  );
  if (rows[0]) return toCheckout(rows[0], false);
  // A concurrent request attached its invoice first: offer that one (ours is never paid).
  const { rows: current } = await deps.db.query<CheckoutRow>(
    `SELECT ${CHECKOUT_COLUMNS} FROM checkouts WHERE id = $1`,
    [prepared.row.id],
  );
  return toCheckout(current[0] as CheckoutRow, true);
}

/**
 * The UPDATE that marks a checkout paid (its payment settled), for the caller's statement to run as a
 * CTE together with the settlement (`settlePaymentSql`): `checkoutId` and `at` are SQL. The checkout is
 * paid whatever it was (`checkoutStatusesBefore('paid')`, constants of ours, inlined).
 */
export function markCheckoutPaidSql(checkoutId: string, at: string): string {
  const before = checkoutStatusesBefore('paid').map((status) => `'${status}'`).join(', ');
  return `UPDATE checkouts SET status = 'paid', paid_at = ${at}, closed_at = NULL, updated_at = ${at}
           WHERE id = ${checkoutId} AND status IN (${before})`;
}

/**
 * Open checkouts whose invoice ran out before `expiredBefore` become expired (reconcile's re-drive,
 * watchdog STATE_MACHINES); a late payment still pays them. Returns how many.
 */
export async function expireCheckouts(db: Queryable, now: Date, expiredBefore: Date): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE checkouts SET status = 'expired', closed_at = $1, updated_at = $1 WHERE status = ANY($3::text[]) AND expires_at < $2`,
    [now, expiredBefore, checkoutStatusesBefore('expired')],
  );
  return rowCount;
}
