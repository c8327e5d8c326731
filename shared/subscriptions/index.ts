export { type SubscriptionExtension, extendSubscription } from './extend.js';
export { type InviteDeps, type InviteOutcome, sendInvite } from './invites.js';
export { type ExpiryDeps, type ExpiryReport, expireDueSubscriptions, removalRetryDelayMs } from './expiry.js';
export { type ResendInviteOutcome, resendInvite } from './resend-invite.js';
export { revokePaymentPeriod } from './revoke.js';
export {
  type ReminderDeps,
  type ReminderOffset,
  type ReminderReport,
  graceNoticeDedupeKey,
  reminderDedupeKey,
  sendRenewalReminders,
  turnOffRenewalReminders,
} from './reminders.js';
export { NOTICE_LEASE_MS } from './notice-claims.js';
export { remindersOffData, renewData, renewTierData } from './renewal-buttons.js';
export { type InviteLinkHolder, findInviteLink, recordInviteJoin, recordInviteRevoked } from './invite-joins.js';
