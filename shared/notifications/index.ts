export { type NotificationDeps, notifyOwner, ownerPaymentText } from './owner-notifications.js';
export { type SubscriberNotificationDeps, notifySubscriber } from './subscriber-notifications.js';
