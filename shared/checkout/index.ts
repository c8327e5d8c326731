export { type CheckoutRequest, type Checkout, type CheckoutDeps, openCheckout } from './checkouts.js';
