import type { Queryable, Tx } from '../db/index.js';
import { promoCodeError } from './errors.js';
import { discountedPriceCents, normalizePromoCode, type PromoDiscount } from './pricing.js';
import { type PromoCodeTerms, type PromoCodeUsage, refusalOf } from './validity.js';

const REFUSAL_MESSAGES = {
  promo_code_unknown: 'This promo code does not exist for this channel',
  promo_code_not_started: 'This promo code is not valid yet',
  promo_code_expired: 'This promo code has expired',
  promo_code_used_up: 'This promo code has been used up',
  promo_code_user_limit_reached: 'You have already used this promo code as often as it allows',
  promo_code_not_for_tier: 'This promo code is not valid for this subscription option',
} as const;

interface CodeRow {
  id: string;
  code: string;
  status: 'active' | 'archived';
  percent_off_bps: number | null;
  amount_off_cents: bigint | null;
  valid_from: Date | null;
  valid_until: Date | null;
  max_uses: number | null;
  max_uses_per_user: number | null;
  tier_ids: string[];
}

export function discountOf(row: { percent_off_bps: number | null; amount_off_cents: bigint | null }): PromoDiscount {
  return row.percent_off_bps !== null ? { kind: 'percent', percentOffBps: row.percent_off_bps } : { kind: 'fixed', amountOffCents: BigInt(row.amount_off_cents ?? 0n) };
}

/**
 * The channel's code as typed, locked for the rest of `tx` (`FOR NO KEY UPDATE`: concurrent
 * checkouts with the same code queue here, so counting and reserving a use is one step; rows that
 * only reference the code, as settlement's redemption does, are not blocked). `undefined` when the
 * channel has no such code.
 */
async function lockPromoCode(tx: Tx, channelId: string, code: string): Promise<PromoCodeTerms | undefined> {
  const { rows } = await tx.query<CodeRow>(
    `SELECT p.id, p.code, p.status, p.percent_off_bps, p.amount_off_cents, p.valid_from, p.valid_until, p.max_uses, p.max_uses_per_user,
            ARRAY(SELECT t.tier_id::text FROM promo_code_tiers t WHERE t.promo_code_id = p.id) AS tier_ids
     FROM promo_codes p WHERE p.channel_id = $1 AND p.code = $2 FOR NO KEY UPDATE OF p`,
    [channelId, code],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    code: row.code,
    status: row.status,
    discount: discountOf(row),
    validFrom: row.valid_from,
    validUntil: row.valid_until,
    maxUses: row.max_uses,
    maxUsesPerUser: row.max_uses_per_user,
    tierIds: row.tier_ids,
  };
}

/** Uses a code has taken: reservations still held plus redemptions, in total and by one user. */
async function usageOf(q: Queryable, promoCodeId: string, telegramUserId: bigint): Promise<PromoCodeUsage> {
  const { rows } = await q.query<{ total: bigint; by_user: bigint }>(
    `SELECT (SELECT count(*) FROM promo_code_reservations WHERE promo_code_id = $1 AND status = 'reserved')
          + (SELECT count(*) FROM promo_redemptions WHERE promo_code_id = $1) AS total,
            (SELECT count(*) FROM promo_code_reservations WHERE promo_code_id = $1 AND telegram_user_id = $2 AND status = 'reserved')
          + (SELECT count(*) FROM promo_redemptions WHERE promo_code_id = $1 AND telegram_user_id = $2) AS by_user`,
    [promoCodeId, telegramUserId.toString()],
  );
  return { total: Number(rows[0]?.total ?? 0), byUser: Number(rows[0]?.by_user ?? 0) };
}

/** The code a checkout applies, locked (see `lockPromoCode`). @throws PermanentError `promo_code_unknown`. */
export async function findPromoCodeForCheckout(tx: Tx, channelId: string, typed: string): Promise<PromoCodeTerms> {
  const code = normalizePromoCode(typed);
  const terms = code === undefined ? undefined : await lockPromoCode(tx, channelId, code);
  if (!terms) throw promoCodeError('promo_code_unknown', REFUSAL_MESSAGES.promo_code_unknown, { channelId });
  return terms;
}

/**
 * The price `terms` makes of `listPriceCents` for this user and tier now, after checking validity
 * and limits (call with the code locked, after releasing the user's replaced checkout).
 * @throws PermanentError with the refusal's code (`promo_code_used_up`, …, `promo_code_below_minimum_price`).
 */
export async function priceWithPromoCode(
  tx: Tx,
  terms: PromoCodeTerms,
  request: { tierId: string; telegramUserId: bigint; listPriceCents: bigint; now: Date },
): Promise<bigint> {
  const usage = await usageOf(tx, terms.id, request.telegramUserId);
  const refusal = refusalOf(terms, request.tierId, request.now, usage);
  if (refusal) throw promoCodeError(refusal, REFUSAL_MESSAGES[refusal], { promoCodeId: terms.id });
  const price = discountedPriceCents(request.listPriceCents, terms.discount);
  if (price === undefined) {
    throw promoCodeError('promo_code_below_minimum_price', 'This promo code cannot be used at this price', { promoCodeId: terms.id });
  }
  return price;
}

/** Holds one use of the code for a new discounted checkout (in the checkout's transaction). */
export async function reservePromoCode(tx: Tx, reservation: { checkoutId: string; promoCodeId: string; telegramUserId: bigint; now: Date }): Promise<void> {
  await tx.query(
    `INSERT INTO promo_code_reservations (checkout_id, promo_code_id, telegram_user_id, reserved_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (checkout_id) DO NOTHING`,
    [reservation.checkoutId, reservation.promoCodeId, reservation.telegramUserId.toString(), reservation.now],
  );
}

/**
 * Frees the uses held by checkouts that closed unpaid (expired or cancelled) and have no payment
 * still on its way (one that is neither failed nor expired keeps its use until it settles or fails).
 * Idempotent; `checkoutId` limits it to one checkout (a replaced checkout, in the caller's
 * transaction). Reconcile runs it on every pass: the owner of `reserved` (watchdog STATE_MACHINES).
 * Returns how many uses it freed.
 */
export async function releasePromoReservations(q: Queryable, now: Date, options: { checkoutId?: string } = {}): Promise<number> {
  const { rowCount } = await q.query(
    `UPDATE promo_code_reservations r SET status = 'released', closed_at = $1
     FROM checkouts k
     WHERE k.id = r.checkout_id AND r.status = 'reserved' AND k.status IN ('expired', 'cancelled')
       AND ($2::uuid IS NULL OR r.checkout_id = $2::uuid)
       AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.checkout_id = r.checkout_id AND p.status NOT IN ('failed', 'expired'))`,
    [now, options.checkoutId ?? null],
  );
  return rowCount;
}

/**
 * A settled payment of a discounted checkout becomes the code's redemption (in settlement's
 * transaction): one per payment, whatever the delivery count, and the checkout's reservation is
 * closed as redeemed (a late payment redeems a released one: the money came at the discounted price).
 * Returns true when this call recorded it.
 */
export async function redeemPromoCode(tx: Tx, paymentId: string, now: Date): Promise<boolean> {
  // The redemption first: it only takes key-share locks, so it cannot deadlock with a checkout holding the code.
  const { rows } = await tx.query<{ checkout_id: string }>(
    `INSERT INTO promo_redemptions (promo_code_id, payment_id, checkout_id, telegram_user_id, list_price_cents, price_cents, redeemed_at)
     SELECT k.promo_code_id, p.id, k.id, k.telegram_user_id, k.list_price_cents, k.price_cents, $2
     FROM payments p JOIN checkouts k ON k.id = p.checkout_id
     WHERE p.id = $1 AND k.promo_code_id IS NOT NULL
     ON CONFLICT (payment_id) DO NOTHING
     RETURNING checkout_id`,
    [paymentId, now],
  );
  const redeemed = rows[0];
  if (!redeemed) return false;
  await tx.query(`UPDATE promo_code_reservations SET status = 'redeemed', closed_at = $2 WHERE checkout_id = $1 AND status IN ('reserved', 'released')`, [
    redeemed.checkout_id,
    now,
  ]);
  return true;
}
