import { accountRoutes } from './account-routes.js';
import { authRoutes } from './auth-routes.js';
import { channelRoutes } from './channel-routes.js';
import { earningsRoutes } from './earnings-routes.js';
import { promoCodeRoutes } from './promo-code-routes.js';
import { securityRoutes } from './security-routes.js';
import type { RouteDefinition } from './route-definition.js';
import { systemRoutes } from './system-routes.js';
import { webhookRoutes } from './webhook-routes.js';

/**
 * The registry: every route module of the dashboard API. To add endpoints, write a module that
 * exports `xRoutes: RouteDefinition[]` (see `route-definition.ts`) and list it here; the router, the
 * OpenAPI document and its test pick it up.
 */
export const dashboardRouteModules: Record<string, readonly RouteDefinition[]> = {
  system: systemRoutes(() => dashboardRoutes),
  auth: authRoutes,
  account: accountRoutes,
  security: securityRoutes,
  channels: channelRoutes,
  earnings: earningsRoutes,
  promoCodes: promoCodeRoutes,
  webhooks: webhookRoutes,
};

export const dashboardRoutes: readonly RouteDefinition[] = Object.values(dashboardRouteModules).flat();
