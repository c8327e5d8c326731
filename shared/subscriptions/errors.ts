import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the subscriptions/ folder raises, with its kind (status and retry follow from it). */
export const subscriptionError = defineErrors({
  unknown_payment: 'not_found',
  invite_link_missing: 'internal',
  invite_in_progress: 'unavailable',
  subscription_invariant_broken: 'internal',
});
export type SubscriptionErrorCode = ErrorCodeOf<typeof subscriptionError>;
