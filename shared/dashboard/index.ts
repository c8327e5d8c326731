/**
 * The dashboard API (`dashboard-api`): a small router over zod-described routes under `/api/v1`,
 * with one error envelope, CORS from DASHBOARD_CORS_ORIGINS, bearer and refresh-cookie auth, rate
 * limits in the key-value store, and an OpenAPI 3.1 document generated from the same routes.
 * How to add a route: `route-definition.ts`. The auth model and limits: `docs/dashboard-api.md`.
 */
export {
  type HttpMethod,
  type RouteAuth,
  type AuthContext,
  type RequestInfo,
  type RateLimitRule,
  type RouteContext,
  type RouteResult,
  type RouteSpec,
  type RouteDefinition,
  defineRoute,
} from './route-definition.js';
export { type DashboardDeps } from './dashboard-deps.js';
export {
  type DashboardRequest,
  type DashboardResponse,
  type DashboardRouter,
  type DashboardRouterOptions,
  DEFAULT_MAX_BODY_BYTES,
  createDashboardRouter,
  maxRequestBodyBytes,
} from './router.js';
export { type IncomingDashboardRequest, type OutgoingDashboardResponse, serveDashboardRequest } from './http-adapter.js';
export { type OriginPolicy, createOriginPolicy } from './cors.js';
export { ErrorEnvelopeSchema, buildOpenApiDocument } from './openapi.js';
export { DEVICE_COOKIE_NAME, REFRESH_COOKIE_NAME, SESSION_PATH } from './refresh-cookie.js';
export { DASHBOARD_API_VERSION } from './system-routes.js';
export { dashboardRouteModules, dashboardRoutes } from './routes.js';
// The function reads OWNER_WEBHOOK_SIGNING_KEY through the dashboard's door, beside the routes that need it.
export { loadOwnerWebhookSettings } from '../owner-webhooks/index.js';
