/**
 * The gift lifecycle, the same graph as `gift_status_can_advance` in SQL (sql/030; a test walks
 * both). A gift is `pending` from its settlement until someone other than the buyer claims it, or
 * until 30 days pass unclaimed (`expired`, the buyer is told; the money is not refunded: the owner
 * was paid). Both ends are final.
 */
export const GIFT_STATUSES = ['pending', 'claimed', 'expired'] as const;
export type GiftStatus = (typeof GIFT_STATUSES)[number];

export const GIFT_TRANSITIONS = {
  pending: ['claimed', 'expired'],
  claimed: [],
  expired: [],
} as const satisfies Record<GiftStatus, readonly GiftStatus[]>;

export function canTransitionGift(from: GiftStatus, to: GiftStatus): boolean {
  return (GIFT_TRANSITIONS[from] as readonly GiftStatus[]).includes(to);
}
