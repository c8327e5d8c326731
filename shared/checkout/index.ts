export { type CheckoutRequest, type Checkout, type CheckoutDeps, openCheckout, markCheckoutPaidSql, expireCheckouts } from './checkouts.js';
export { type CheckoutStatus, CHECKOUT_STATUSES, CHECKOUT_TRANSITIONS, canTransitionCheckout, checkoutStatusesBefore } from './checkout-status.js';
export { type CheckoutPaymentStatus, loadCheckoutPaymentStatus } from './checkout-payment-status.js';
