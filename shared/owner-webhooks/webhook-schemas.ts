import * as z from 'zod';
import { userText } from '../user-text/index.js';
import { WEBHOOK_EVENT_TYPES } from './webhook-events.js';
import { MAX_ROTATION_OVERLAP_HOURS } from './webhook-signature.js';

/** Requests and answers of the webhook endpoints API (the dashboard router and OpenAPI reuse them). */

/** Re-authentication: where events go and what signs them are what a stolen session would change. */
const CurrentPassword = z.string().max(1024).meta({ description: 'Your account password (re-authentication)' });

const EventList = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1, 'choose at least one event')
  .refine((events) => new Set(events).size === events.length, 'list each event once');

export const CreateWebhookEndpointSchema = z.object({
  url: z.string().max(2048).meta({ example: 'https://example.com/webhooks/paygate' }),
  description: userText(z.string().max(200)).optional(),
  events: EventList,
  currentPassword: CurrentPassword.optional().meta({ description: 'Your account password: required (re-authentication)' }),
});
export type CreateWebhookEndpointInput = z.infer<typeof CreateWebhookEndpointSchema>;

export const UpdateWebhookEndpointSchema = z.object({
  url: z.string().max(2048).optional(),
  description: userText(z.string().max(200)).optional(),
  events: EventList.optional(),
  enabled: z.boolean().optional(),
  currentPassword: CurrentPassword.optional().meta({ description: 'Your account password: required to change the URL (re-authentication); ignored otherwise' }),
});
export type UpdateWebhookEndpointInput = z.infer<typeof UpdateWebhookEndpointSchema>;

export const RotateWebhookSecretSchema = z.object({
  overlapHours: z
    .number()
    .int()
    .min(0)
    .max(MAX_ROTATION_OVERLAP_HOURS)
    .optional()
    .meta({ description: `How long the previous secret keeps signing too, 0..${MAX_ROTATION_OVERLAP_HOURS} hours; default 24` }),
  currentPassword: CurrentPassword.optional().meta({ description: 'Your account password: required (re-authentication)' }),
});
export type RotateWebhookSecretInput = z.infer<typeof RotateWebhookSecretSchema>;

export const WebhookEndpointResourceSchema = z.object({
  id: z.string().meta({ example: 'we_Ehz5dX8hQSeMc0Q8m0Q2Xw' }),
  url: z.string(),
  description: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  enabled: z.boolean(),
  secretVersion: z.number().int(),
  /** Until when the previous secret still signs (a rotation's overlap); null outside one. */
  previousSecretUntil: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type WebhookEndpointResource = z.infer<typeof WebhookEndpointResourceSchema>;

/** Creation and rotation: the endpoint and its signing secret, shown once. */
export const WebhookEndpointWithSecretSchema = WebhookEndpointResourceSchema.extend({
  secret: z.string().meta({ description: 'The signing secret (whsec_…); store it with your receiver. Shown only now.' }),
});

export const WebhookEndpointListSchema = z.object({ items: z.array(WebhookEndpointResourceSchema) });

export const WebhookAttemptResourceSchema = z.object({
  attempt: z.number().int(),
  startedAt: z.string(),
  durationMs: z.number().int(),
  statusCode: z.number().int().nullable(),
  errorClass: z.string().nullable(),
  responseBody: z.string().nullable(),
});

export const WebhookDeliveryResourceSchema = z.object({
  id: z.string().meta({ example: 'whd_Ehz5dX8hQSeMc0Q8m0Q2Xw' }),
  endpointId: z.string(),
  eventId: z.string(),
  eventType: z.enum(WEBHOOK_EVENT_TYPES),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  resendOf: z.string().nullable(),
  createdAt: z.string(),
  attemptLog: z.array(WebhookAttemptResourceSchema),
});
export type WebhookDeliveryResource = z.infer<typeof WebhookDeliveryResourceSchema>;

export const WebhookDeliveryListQuerySchema = z.object({
  cursor: z.string().max(400).optional(),
  limit: z
    .string()
    .regex(/^[1-9]\d?$|^100$/, 'must be a whole number 1..100')
    .optional()
    .meta({ description: 'Items per page, 1..100, default 20' }),
});
export type WebhookDeliveryListQuery = z.infer<typeof WebhookDeliveryListQuerySchema>;
