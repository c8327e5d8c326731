import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the notifications/ folder raises, with its kind (status and retry follow from it). */
export const notificationError = defineErrors({
  invalid_notification_subject: 'invalid',
  owner_notification_in_progress: 'unavailable',
  unknown_channel: 'not_found',
  bot_username_missing: 'internal',
  unknown_conversion_share: 'not_found',
  unknown_gift: 'not_found',
  unknown_invite_link: 'not_found',
  unknown_payment: 'not_found',
  unknown_payout: 'not_found',
  unknown_subscription: 'not_found',
  unsupported_notification: 'invalid',
});
export type NotificationErrorCode = ErrorCodeOf<typeof notificationError>;
