import type * as z from 'zod';
import type { Logger } from '../logging/index.js';
import type { DashboardDeps } from './dashboard-deps.js';

/**
 * # Route definitions
 *
 * Every endpoint of the dashboard API is one `RouteDefinition`, made with `defineRoute`. The router
 * serves it under `/api/v1` and the OpenAPI document (`GET /api/v1/openapi.json`) is generated from
 * the same object, so the contract and the validation cannot drift apart.
 *
 * ```ts
 * export const channelRoutes: RouteDefinition[] = [
 *   defineRoute({
 *     method: 'GET',
 *     path: '/channels/{channelId}',          // OpenAPI template; each {name} must be a key of `params`
 *     operationId: 'retrieveChannel',         // unique across the API
 *     summary: 'One of your channels',
 *     tags: ['channels'],
 *     auth: 'bearer',                         // 'none' | 'bearer' | 'refresh_cookie'
 *     params: z.object({ channelId: z.string() }),
 *     query: z.object({ ... }),               // optional; query values arrive as strings
 *     body: z.object({ ... }),                // optional; JSON only (else 415); `.optional()`: may be left out
 *     response: { status: 200, description: 'The channel', schema: ChannelSchema },
 *     errors: { 404: 'No such channel among yours' },   // extra statuses for the document
 *     rateLimits: [{ name: 'channel-read', key: 'account', limit: 120, windowSeconds: 60 }],
 *     handler: async ({ params, auth, deps, request, logger }) => ({ body: await retrieveChannel(deps, auth.accountId, params.channelId) }),
 *   }),
 * ];
 * ```
 *
 * Then list the module in `routes.ts`. That is all: the OpenAPI test iterates the registry, so a new
 * route is checked for a unique operationId, matching path parameters and a valid document.
 *
 * Rules the router applies before the handler runs, in order: CORS origin check, route match (404 /
 * 405), body size (413) and `Content-Type: application/json` (415), JSON parsing (400
 * `malformed_json`), zod validation of params, query and body (400 `validation_failed` with
 * `fields`), authentication (401), CSRF check for cookie routes (403), rate limits (429 with
 * `Retry-After`). Handlers throw `PermanentError` with a code the mapper in `shared/http-entry`
 * knows (add new codes there with their status); anything else becomes a 500 without details. The
 * handler's body is parsed with `response.schema` before it is sent, so unknown fields are dropped.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * - `none`: public.
 * - `bearer`: `Authorization: Bearer <access token>`; the session must still be live.
 * - `refresh_cookie`: the httpOnly refresh cookie; the request must come from an allowed origin (CSRF).
 */
export type RouteAuth = 'none' | 'bearer' | 'refresh_cookie';

/** The account and session behind a bearer token. */
export interface AuthContext {
  accountId: string;
  sessionId: string;
}

/** Facts about the request, safe to log. */
export interface RequestInfo {
  requestId: string;
  method: HttpMethod;
  /** The client's IP as seen through Google's front end (or the socket locally). */
  ip: string | undefined;
  origin: string | undefined;
  userAgent: string | undefined;
  cookies: Record<string, string>;
  /** Path prefix in front of `/api/v1` as the browser sees it ('' in production), for cookie paths. */
  publicPathPrefix: string;
}

/**
 * A fixed-window limit counted in the key-value store. `key` picks what is counted: the client IP,
 * the authenticated account, or a value from the validated input (return `undefined` to skip).
 * Counter keys are hashed, so an email never appears in a store key.
 */
export interface RateLimitRule<I = unknown> {
  /** Stable and unique per rule, part of the counter key: `login-ip`. */
  name: string;
  limit: number;
  windowSeconds: number;
  key: 'ip' | 'account' | ((input: I) => string | undefined);
}

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;
type InferIn<S> = S extends z.ZodType ? z.input<S> : undefined;

export interface RouteContext<P, Q, B, A extends RouteAuth> {
  params: Infer<P>;
  query: Infer<Q>;
  body: Infer<B>;
  auth: A extends 'bearer' ? AuthContext : undefined;
  deps: DashboardDeps;
  request: RequestInfo;
  logger: Logger;
}

export interface RouteResult<R> {
  body?: InferIn<R>;
  /** Extra response headers (lower-case names). */
  headers?: Record<string, string>;
  /** `Set-Cookie` values. */
  cookies?: string[];
}

export interface RouteSpec<P extends z.ZodType | undefined, Q extends z.ZodType | undefined, B extends z.ZodType | undefined, R extends z.ZodType | undefined, A extends RouteAuth> {
  method: HttpMethod;
  /** Relative to `/api/v1`, OpenAPI template syntax: `/channels/{channelId}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: A;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * The success answer; `schema` omitted for an empty body (204). `mediaType` other than
   * `application/json` (the default), e.g. `image/svg+xml`: the handler's body is a string, checked
   * with `schema` and sent as is. Errors still answer in the JSON envelope.
   */
  response: { status: number; description: string; schema?: R; mediaType?: string };
  /** Error statuses beyond those the router implies (400, 401, 403, 413, 415, 429), with when they happen. */
  errors?: Record<number, string>;
  /**
   * Omitted: the default budget for the route's kind of auth (`DEFAULT_RATE_LIMITS`). `'none'` only
   * for answers served from memory that touch neither the database nor the key-value store.
   */
  rateLimits?: RateLimitRule<{ params: Infer<P>; query: Infer<Q>; body: Infer<B> }>[] | 'none';
  /** Largest accepted body in bytes. Default 16 KiB. */
  maxBodyBytes?: number;
  handler: (context: RouteContext<P, Q, B, A>) => Promise<RouteResult<R>>;
}

/** A route with its types erased, as the router and the registry hold it. */
export type RouteDefinition = RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType | undefined, RouteAuth>;

/** Checks a route's types against its schemas and erases them for the registry. */
export function defineRoute<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends z.ZodType | undefined = undefined,
  A extends RouteAuth = RouteAuth,
>(spec: RouteSpec<P, Q, B, R, A>): RouteDefinition {
  return spec as unknown as RouteDefinition;
}
