export { type SubscriptionExtension, extendSubscription } from './extend.js';
export { grantFreePeriod } from './free-periods.js';
export { type InviteDeps, type InviteOutcome, sendInvite } from './invites.js';
export { type ExpiryDeps, type ExpiryReport, expireDueSubscriptions, removalRetryDelayMs } from './expiry.js';
export { type ResendInviteOutcome, resendInvite } from './resend-invite.js';
export { revokePaymentPeriod } from './revoke.js';
export { turnOffRenewalReminders } from './reminder-opt-out.js';
export { type InviteLinkHolder, findInviteLink, recordInviteJoin, recordInviteRevoked } from './invite-joins.js';
export { type SubscriberSubscriptionRow, listSubscriberSubscriptions } from './subscriber-subscriptions.js';
