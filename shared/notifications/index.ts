export { type NotificationDeps, notifyOwner, ownerPaymentText } from './owner-notifications.js';
export { type SubscriberNotificationDeps, notifySubscriber } from './subscriber-notifications.js';
export {
  type ReminderDeps,
  type ReminderOffset,
  type ReminderReport,
  graceNoticeDedupeKey,
  reminderDedupeKey,
  sendRenewalReminders,
} from './reminders.js';
export { NOTICE_LEASE_MS } from './notice-claims.js';
export { remindersOffData, renewData, renewTierData } from './renewal-buttons.js';
