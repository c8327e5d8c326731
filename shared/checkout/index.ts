export { type TelegramUserProfile, type CheckoutRequest, type Checkout, type CheckoutDeps, openCheckout, upsertTelegramUser } from './checkouts.js';
export { type CheckoutStatus, CHECKOUT_STATUSES, CHECKOUT_TRANSITIONS, canTransitionCheckout, checkoutStatusesBefore } from './checkout-status.js';
