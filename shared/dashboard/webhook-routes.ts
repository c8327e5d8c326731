import * as z from 'zod';
import {
  CreateWebhookEndpointSchema,
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  type OwnerWebhookSettings,
  ownerWebhookError,
  resendWebhookDelivery,
  RotateWebhookSecretSchema,
  rotateWebhookSecret,
  UpdateWebhookEndpointSchema,
  updateWebhookEndpoint,
  WebhookDeliveryListQuerySchema,
  WebhookDeliveryResourceSchema,
  WebhookEndpointListSchema,
  WebhookEndpointResourceSchema,
  WebhookEndpointWithSecretSchema,
} from '../owner-webhooks/index.js';
import { confirmPasswordOfAccount } from '../accounts/index.js';
import type { DashboardDeps } from './dashboard-deps.js';
import { defineRoute, type RequestInfo, type RouteDefinition } from './route-definition.js';

const HOUR = 3600;

const EndpointParams = z.object({ endpointId: z.string().max(64).meta({ description: 'The endpoint id (we_…)', example: 'we_Ehz5dX8hQSeMc0Q8m0Q2Xw' }) });
const DeliveryParams = z.object({ deliveryId: z.string().max(64).meta({ description: 'The delivery id (whd_…)', example: 'whd_Ehz5dX8hQSeMc0Q8m0Q2Xw' }) });

/** The signing key is needed to show a secret: an instance without OWNER_WEBHOOK_SIGNING_KEY answers 503. */
function settingsOf(deps: DashboardDeps): OwnerWebhookSettings {
  if (!deps.ownerWebhooks) throw ownerWebhookError('webhooks_not_configured', 'Owner webhooks are not configured on this instance (OWNER_WEBHOOK_SIGNING_KEY)');
  return deps.ownerWebhooks;
}

const actorOf = (accountId: string, request: RequestInfo) => ({ accountId, requestId: request.requestId, ip: request.ip });

/**
 * Re-authentication for where events go and what signs them (a stolen access token must not be
 * enough): the password, counted with login failures per (address, IP); a refusal is audited.
 */
const confirmPassword = (deps: DashboardDeps, accountId: string, password: string | undefined, request: RequestInfo, what: string) =>
  confirmPasswordOfAccount(deps, {
    accountId,
    password,
    origin: { requestId: request.requestId, ip: request.ip },
    action: 'webhook_endpoint.change_refused',
    field: 'currentPassword',
    what,
  });
const PASSWORD_ERRORS = {
  400: 'validation_failed (fields.url, fields.events), incorrect_password (fields.currentPassword)',
  403: 'password_required (fields.currentPassword)',
  429: 'rate_limited (too many wrong passwords)',
} as const;
const writeLimits = [{ name: 'webhook-write-account', key: 'account' as const, limit: 60, windowSeconds: HOUR }];

/** Owner webhooks: endpoints, secret rotation, the delivery log and resends (docs/webhooks.md). */
export const webhookRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'GET',
    path: '/webhook-endpoints',
    operationId: 'listWebhookEndpoints',
    summary: 'Your webhook endpoints, oldest first',
    tags: ['webhooks'],
    auth: 'bearer',
    response: { status: 200, description: 'The endpoints (at most 10)', schema: WebhookEndpointListSchema },
    handler: async ({ auth, deps, logger }) => ({ body: await listWebhookEndpoints({ ...deps, logger }, auth.accountId) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/webhook-endpoints',
    operationId: 'createWebhookEndpoint',
    summary: 'Register an HTTPS endpoint for events; answers its signing secret, shown only now',
    description:
      'Needs your password (`currentPassword`, re-authentication) and mails you a notice. The URL must be https://, without user name or password, and must not name a private, loopback, link-local or reserved address (checked again after DNS resolution at every delivery). At most 10 endpoints per account.',
    tags: ['webhooks'],
    auth: 'bearer',
    body: CreateWebhookEndpointSchema,
    response: { status: 201, description: 'The endpoint with its secret', schema: WebhookEndpointWithSecretSchema },
    errors: { ...PASSWORD_ERRORS, 409: 'webhook_endpoint_limit_reached', 503: 'webhooks_not_configured' },
    rateLimits: writeLimits,
    handler: async ({ auth, body, deps, request, logger }) => {
      const confirm = () => confirmPassword(deps, auth.accountId, body.currentPassword, request, 'add a webhook endpoint');
      return { body: await createWebhookEndpoint({ ...deps, logger }, settingsOf(deps), actorOf(auth.accountId, request), body, confirm) };
    },
  }),
  defineRoute({
    method: 'PATCH',
    path: '/webhook-endpoints/{endpointId}',
    operationId: 'updateWebhookEndpoint',
    summary: 'Change an endpoint: URL, description, events, enabled',
    description: 'A new URL needs your password (`currentPassword`, re-authentication) and mails you a notice; the other fields, and resending the stored URL, do not.',
    tags: ['webhooks'],
    auth: 'bearer',
    params: EndpointParams,
    body: UpdateWebhookEndpointSchema,
    response: { status: 200, description: 'The endpoint', schema: WebhookEndpointResourceSchema },
    errors: { ...PASSWORD_ERRORS, 404: 'webhook_endpoint_not_found', 409: 'webhook_endpoint_changed_meanwhile', 503: 'webhooks_not_configured' },
    rateLimits: writeLimits,
    handler: async ({ auth, params, body, deps, request, logger }) => ({
      body: await updateWebhookEndpoint({ ...deps, logger }, settingsOf(deps), actorOf(auth.accountId, request), params.endpointId, body, () =>
        confirmPassword(deps, auth.accountId, body.currentPassword, request, "change a webhook endpoint's URL"),
      ),
    }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/webhook-endpoints/{endpointId}',
    operationId: 'deleteWebhookEndpoint',
    summary: 'Delete an endpoint: nothing more is sent to it; its delivery log stays readable',
    tags: ['webhooks'],
    auth: 'bearer',
    params: EndpointParams,
    response: { status: 204, description: 'Deleted' },
    errors: { 404: 'webhook_endpoint_not_found' },
    rateLimits: writeLimits,
    handler: async ({ auth, params, deps, request, logger }) => {
      await deleteWebhookEndpoint({ ...deps, logger }, actorOf(auth.accountId, request), params.endpointId);
      return {};
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/webhook-endpoints/{endpointId}/rotate-secret',
    operationId: 'rotateWebhookSecret',
    summary: 'A new signing secret; the previous one keeps signing too during the overlap (default 24 h, at most 7 days)',
    description:
      'Needs your password (`currentPassword`, re-authentication: whoever holds a secret can sign events to your receiver) and mails you a notice. During the overlap each delivery carries two v1 signatures, the new secret first. Answers the new secret, shown only now.',
    tags: ['webhooks'],
    auth: 'bearer',
    params: EndpointParams,
    body: RotateWebhookSecretSchema,
    response: { status: 200, description: 'The endpoint with its new secret', schema: WebhookEndpointWithSecretSchema },
    errors: { ...PASSWORD_ERRORS, 404: 'webhook_endpoint_not_found', 503: 'webhooks_not_configured' },
    rateLimits: writeLimits,
    handler: async ({ auth, params, body, deps, request, logger }) => {
      const confirm = () => confirmPassword(deps, auth.accountId, body.currentPassword, request, "rotate a webhook endpoint's secret");
      return { body: await rotateWebhookSecret({ ...deps, logger }, settingsOf(deps), actorOf(auth.accountId, request), params.endpointId, body, confirm) };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/webhook-endpoints/{endpointId}/deliveries',
    operationId: 'listWebhookDeliveries',
    summary: "An endpoint's deliveries with their attempts, newest first (cursor pages)",
    tags: ['webhooks'],
    auth: 'bearer',
    params: EndpointParams,
    query: WebhookDeliveryListQuerySchema,
    response: { status: 200, description: 'One page; pass nextCursor as cursor for the next', schema: z.object({ items: z.array(WebhookDeliveryResourceSchema), nextCursor: z.string().nullable() }) },
    errors: { 404: 'webhook_endpoint_not_found' },
    handler: async ({ auth, params, query, deps, logger }) => ({ body: await listWebhookDeliveries({ ...deps, logger }, auth.accountId, params.endpointId, query) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/webhook-deliveries/{deliveryId}/resend',
    operationId: 'resendWebhookDelivery',
    summary: "Send a delivery's event to its endpoint again, as a new delivery",
    tags: ['webhooks'],
    auth: 'bearer',
    params: DeliveryParams,
    response: { status: 201, description: 'The new delivery (pending)', schema: WebhookDeliveryResourceSchema },
    errors: { 404: 'webhook_delivery_not_found', 409: 'webhook_endpoint_deleted' },
    rateLimits: writeLimits,
    handler: async ({ auth, params, deps, request, logger }) => ({ body: await resendWebhookDelivery({ ...deps, logger }, actorOf(auth.accountId, request), params.deliveryId) }),
  }),
];
