import type { Composer } from 'grammy';
import type { BotContext } from '../context.js';
import { donationsFeature } from './donations.js';
import { giftsTrialsFeature } from './gifts-trials.js';
import { membershipFeature } from './membership.js';
import { ownerFeature } from './owner.js';
import { promoCodesFeature } from './promo-codes.js';
import { fallbackFeature, subscriberFeature } from './subscriber.js';

/** Every feature module the bot installs, in order. */
export function botFeatures(): Composer<BotContext>[] {
  return [
    subscriberFeature(),
    promoCodesFeature(),
    giftsTrialsFeature(),
    donationsFeature(),
    ownerFeature(),
    membershipFeature(),
    // Keep last: answers the /start payloads and buttons no feature above recognised.
    fallbackFeature(),
  ];
}
