import { ConfigError } from '../config/index.js';

/**
 * The browser origins the dashboard API answers (DASHBOARD_CORS_ORIGINS): exact matches only, never
 * a wildcard, never `null`. The same list gates the refresh cookie (CSRF check), so put the
 * dashboard's origin here even when it is served from the API's own origin.
 */
export interface OriginPolicy {
  origins: readonly string[];
  isAllowed(origin: string | undefined): origin is string;
}

/**
 * Builds the policy; on Cloud Run (`isOnCloudRun`) an http:// origin is a configuration error, as
 * every other production URL must be https (config only lets http through for localhost).
 *
 * @throws ConfigError naming DASHBOARD_CORS_ORIGINS.
 */
export function createOriginPolicy(origins: readonly string[], options: { isOnCloudRun: boolean }): OriginPolicy {
  const insecure = origins.filter((origin) => !origin.startsWith('https://'));
  if (options.isOnCloudRun && insecure.length > 0) {
    throw new ConfigError(['DASHBOARD_CORS_ORIGINS'], 'Invalid configuration: DASHBOARD_CORS_ORIGINS: only https:// origins are allowed on Google Cloud');
  }
  const allowed = new Set(origins);
  return {
    origins: [...origins],
    isAllowed: (origin): origin is string => origin !== undefined && allowed.has(origin),
  };
}

/** Headers of an allowed cross-origin answer. Credentials are allowed: the refresh cookie needs them. */
export function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'Retry-After, X-Request-Id',
  };
}

/** Preflight answer for an allowed origin. */
export function preflightHeaders(origin: string, methods: readonly string[]): Record<string, string> {
  return {
    ...corsHeaders(origin),
    'access-control-allow-methods': methods.join(', '),
    'access-control-allow-headers': 'Authorization, Content-Type',
    'access-control-max-age': '600',
  };
}
