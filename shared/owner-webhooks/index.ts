/**
 * Owner webhooks (Stripe-style; docs/webhooks.md): an owner's HTTPS endpoints, the events recorded
 * in the transaction of the effect that caused them (`recordOwnerWebhookEvents`, one statement, none
 * at all for an owner without endpoints: select `hasLiveWebhookEndpointSql` in the effect's first
 * statement), their signed delivery with retries for 3 days (deliver-owner-webhook, and the
 * retry-owner-webhooks sweep), the SSRF guard (registration and, after DNS, every delivery), and the
 * dashboard's endpoint, rotation, delivery-log and resend operations.
 */
export { ownerWebhookError, type OwnerWebhookErrorCode } from './errors.js';
export {
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
  type WebhookEventData,
  type WebhookEventInput,
  hasLiveWebhookEndpointSql,
  recordOwnerWebhookEvents,
  subscriptionGrantEvent,
  type SubscriptionGrantNews,
} from './webhook-events.js';
export {
  SIGNATURE_HEADER,
  DEFAULT_ROTATION_OVERLAP_HOURS,
  MAX_ROTATION_OVERLAP_HOURS,
  endpointSecret,
  signatureHeader,
  signatureOf,
  signingSecrets,
} from './webhook-signature.js';
export { type HostResolver, type WebhookUrlSettings, isPublicAddress, webhookUrlProblem, resolveWebhookTarget, systemResolver } from './webhook-url.js';
export {
  type WebhookDeliveryDeps,
  type WebhookDeliverySettings,
  type WebhookDeliveryOutcome,
  DEFAULT_TIMEOUT_MS,
  RETRY_WINDOW_SECONDS,
  deliverOwnerWebhook,
  requeueDueWebhookDeliveries,
  retryDelaySeconds,
  webhookEventBody,
} from './webhook-delivery.js';
export {
  type OwnerWebhookDeps,
  type OwnerWebhookSettings,
  type WebhookActor,
  MAX_WEBHOOK_ENDPOINTS,
  loadOwnerWebhookSettings,
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  resendWebhookDelivery,
  rotateWebhookSecret,
  updateWebhookEndpoint,
} from './webhook-endpoints.js';
export {
  CreateWebhookEndpointSchema,
  UpdateWebhookEndpointSchema,
  RotateWebhookSecretSchema,
  WebhookEndpointResourceSchema,
  WebhookEndpointWithSecretSchema,
  WebhookEndpointListSchema,
  WebhookDeliveryResourceSchema,
  WebhookDeliveryListQuerySchema,
  type WebhookEndpointResource,
  type WebhookDeliveryResource,
} from './webhook-schemas.js';
