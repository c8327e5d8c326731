export { GIFT_STATUSES, GIFT_TRANSITIONS, type GiftStatus, canTransitionGift } from './gift-status.js';
export {
  GIFT_CLAIM_DAYS,
  type GiftDeps,
  type GiftView,
  type GiftClaimOutcome,
  type GiftFigures,
  createGift,
  issueGiftClaimCode,
  findGiftByCode,
  retrieveGift,
  listBuyerGifts,
  claimGift,
  expireUnclaimedGifts,
  withdrawPendingGift,
  giftFigures,
} from './gifts.js';
export { ChannelGrowthResourceSchema, type ChannelGrowthResource, retrieveChannelGrowth } from './channel-growth.js';
