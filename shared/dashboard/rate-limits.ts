import { createHash } from 'node:crypto';
import { AppError } from '../errors/index.js';
import type { KeyValueStore } from '../kv/index.js';
import type { AuthContext, RateLimitRule, RouteAuth, RouteDefinition } from './route-definition.js';
import { dashboardError } from './errors.js';

/**
 * Counts one hit for every rule and refuses when any is over its limit: `PermanentError
 * ('rate_limited')` with `retryAfterSeconds` (the longest wait among the exceeded rules), which the
 * mapper turns into 429 + `Retry-After`. Every rule counts even when an earlier one is exceeded, so a
 * client cannot dodge the per-account counter by tripping the per-IP one.
 */
export async function enforceRateLimits<I>(
  kv: KeyValueStore,
  rules: readonly RateLimitRule<I>[],
  subject: { ip: string | undefined; auth: AuthContext | undefined; input: I },
  now: Date,
): Promise<void> {
  let retryAfterSeconds = 0;
  for (const rule of rules) {
    const value = rule.key === 'ip' ? subject.ip : rule.key === 'account' ? subject.auth?.accountId : rule.key(subject.input);
    if (value === undefined || value === '') continue;
    const digest = createHash('sha256').update(value.toLowerCase()).digest('base64url').slice(0, 32);
    const { count, resetAt } = await kv.increment(`rate:dashboard:${rule.name}:${digest}`, { windowSeconds: rule.windowSeconds }).catch((error: unknown) => {
      // The store being down is our trouble, and passing: 503 with Retry-After, not a 500.
      throw error instanceof AppError ? error : dashboardError('rate_limit_store_unavailable', 'Rate limits cannot be checked right now', {}, error);
    });
    if (count > rule.limit) retryAfterSeconds = Math.max(retryAfterSeconds, Math.max(1, Math.ceil((resetAt.getTime() - now.getTime()) / 1000)));
  }
  if (retryAfterSeconds > 0) {
    throw dashboardError('rate_limited', `Too many requests; try again in ${retryAfterSeconds} seconds`, { retryAfterSeconds });
  }
}

type RouteInput = { params: unknown; query: unknown; body: unknown };

/**
 * Limits for a route that states none: every endpoint is limited. Reads and writes by a signed-in
 * account share one budget per account; public routes one per client IP. Generous for a person
 * clicking through the dashboard, low enough that a leaked token cannot page through everything
 * or hammer the database.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<RouteAuth, readonly RateLimitRule<RouteInput>[]>> = {
  bearer: [{ name: 'account-requests', key: 'account', limit: 300, windowSeconds: 60 }],
  refresh_cookie: [{ name: 'ip-requests', key: 'ip', limit: 120, windowSeconds: 60 }],
  none: [{ name: 'ip-requests', key: 'ip', limit: 120, windowSeconds: 60 }],
};

/**
 * The limits the router enforces for `route`: its own, else the default for its kind of auth.
 * `'none'` (answers served from memory, touching neither the database nor the key-value store)
 * enforces nothing.
 */
export function effectiveRateLimits(route: Pick<RouteDefinition, 'auth' | 'rateLimits'>): readonly RateLimitRule<RouteInput>[] {
  if (route.rateLimits === 'none') return [];
  return route.rateLimits?.length ? route.rateLimits : DEFAULT_RATE_LIMITS[route.auth];
}
