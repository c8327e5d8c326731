export { type CheckoutRequest, type Checkout, type CheckoutDeps, openCheckout, markCheckoutPaid, expireCheckouts } from './checkouts.js';
