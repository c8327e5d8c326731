import { defineErrors, type ErrorCodeOf } from '../errors/index.js';

/** Every error the owner-webhooks/ folder raises, with its kind (status and retry follow from it). */
export const ownerWebhookError = defineErrors({
  validation_failed: 'invalid',
  invalid_cursor: 'invalid',
  webhook_endpoint_not_found: 'not_found',
  webhook_delivery_not_found: 'not_found',
  webhook_endpoint_limit_reached: 'conflict',
  webhook_endpoint_deleted: 'conflict',
  webhook_endpoint_changed_meanwhile: 'conflict',
  unknown_webhook_delivery: 'not_found',
  webhooks_not_configured: 'unavailable',
});
export type OwnerWebhookErrorCode = ErrorCodeOf<typeof ownerWebhookError>;
