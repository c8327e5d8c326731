import type { PromoCodeErrorCode } from './errors.js';
import type { PromoDiscount } from './pricing.js';

/** A code as the checkout sees it, with the uses it has taken. */
export interface PromoCodeTerms {
  id: string;
  code: string;
  status: 'active' | 'archived';
  discount: PromoDiscount;
  validFrom: Date | null;
  validUntil: Date | null;
  maxUses: number | null;
  maxUsesPerUser: number | null;
  /** Empty: every tier of the channel. */
  tierIds: readonly string[];
}

/** Uses taken: reservations still held plus redemptions (settled payments). */
export interface PromoCodeUsage {
  total: number;
  byUser: number;
}

export type PromoRefusal = Extract<
  PromoCodeErrorCode,
  'promo_code_unknown' | 'promo_code_not_started' | 'promo_code_expired' | 'promo_code_used_up' | 'promo_code_user_limit_reached' | 'promo_code_not_for_tier'
>;

/**
 * Why `terms` cannot discount `tierId` at `now` for a user with `usage`, or `undefined` when it can.
 * `validFrom` is inclusive, `validUntil` exclusive. Checked in this order, so a person hears the most
 * lasting reason first (an archived code is "unknown": owners archive codes they want forgotten).
 */
export function refusalOf(terms: PromoCodeTerms, tierId: string, now: Date, usage: PromoCodeUsage): PromoRefusal | undefined {
  if (terms.status !== 'active') return 'promo_code_unknown';
  if (terms.tierIds.length > 0 && !terms.tierIds.includes(tierId)) return 'promo_code_not_for_tier';
  if (terms.validUntil !== null && now >= terms.validUntil) return 'promo_code_expired';
  if (terms.validFrom !== null && now < terms.validFrom) return 'promo_code_not_started';
  if (terms.maxUses !== null && usage.total >= terms.maxUses) return 'promo_code_used_up';
  if (terms.maxUsesPerUser !== null && usage.byUser >= terms.maxUsesPerUser) return 'promo_code_user_limit_reached';
  return undefined;
}
