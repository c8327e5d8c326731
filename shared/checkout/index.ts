export { type TelegramUserProfile, type CheckoutRequest, type Checkout, type CheckoutDeps, openCheckout, upsertTelegramUser } from './checkouts.js';
