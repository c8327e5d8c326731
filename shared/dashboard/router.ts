import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type * as z from 'zod';
import { verifyAccessToken, isSessionActive } from '../accounts/index.js';
import { AppError, PermanentError } from '../errors/index.js';
import { errorResult, SECURITY_HEADERS } from '../http-entry/index.js';
import { cloudTraceFields, type Logger, logger as rootLogger } from '../logging/index.js';
import { corsHeaders, type OriginPolicy, preflightHeaders } from './cors.js';
import type { DashboardDeps } from './dashboard-deps.js';
import { effectiveRateLimits, enforceRateLimits } from './rate-limits.js';
import { parseCookies } from './refresh-cookie.js';
import type { AuthContext, RequestInfo, RouteDefinition } from './route-definition.js';
import { dashboardError } from './errors.js';

/** A request as the router needs it; `serveDashboardRequest` builds it from the Functions Framework's. */
export interface DashboardRequest {
  method: string;
  /** Path and query as received: `/api/v1/me?x=1`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body bytes as received; undefined or empty when there is none. */
  rawBody: Buffer | undefined;
  ip: string | undefined;
  /** Path prefix in front of `/api/v1` as the browser sees it ('' in production). */
  publicPathPrefix?: string;
}

export interface DashboardResponse {
  status: number;
  headers: Record<string, string | string[]>;
  /** JSON text (or the text of a route's own media type, `content-type` says which), or undefined for an empty body. */
  body: string | undefined;
}

const JSON_MEDIA_TYPE = 'application/json';

export interface DashboardRouterOptions {
  routes: readonly RouteDefinition[];
  /** Resolved per request (the services are built once per instance); a failure answers 503. */
  deps: () => Promise<DashboardDeps>;
  originPolicy: OriginPolicy;
  /** Default `/api/v1`. */
  basePath?: string;
}

export interface DashboardRouter {
  routes: readonly RouteDefinition[];
  handle(request: DashboardRequest): Promise<DashboardResponse>;
}

/** Largest request body a route accepts unless it says otherwise. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

/** The largest body any of `routes` accepts: what the function reads at most (`publicHttpFunction`). */
export function maxRequestBodyBytes(routes: readonly RouteDefinition[]): number {
  return Math.max(DEFAULT_MAX_BODY_BYTES, ...routes.map((route) => route.maxBodyBytes ?? 0));
}

interface CompiledRoute {
  route: RouteDefinition;
  pattern: RegExp;
  paramNames: string[];
}

function compile(route: RouteDefinition): CompiledRoute {
  const paramNames: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{([A-Za-z][A-Za-z0-9_]*)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      paramNames.push(param[1]!);
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), paramNames };
}

function header(request: DashboardRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function fieldsOf(issues: readonly z.core.$ZodIssue[], prefix: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || prefix || '(body)';
    fields[path] ??= issue.message;
  }
  return fields;
}

function validationFailed(fields: Record<string, string>): PermanentError {
  return dashboardError('validation_failed', 'Some fields are missing or invalid; see fields', { fields });
}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const [type, ...parameters] = value.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  const charset = parameters.find((parameter) => parameter.startsWith('charset='));
  return !charset || charset === 'charset=utf-8';
}

function parseInput(route: RouteDefinition, part: 'params' | 'query' | 'body', value: unknown, fields: Record<string, string>): unknown {
  const schema = route[part];
  if (!schema) return undefined;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  Object.assign(fields, fieldsOf(parsed.error.issues, part === 'body' ? '' : part === 'params' ? 'path' : 'query'));
  return undefined;
}

/**
 * The dashboard API's HTTP pipeline (see `route-definition.ts` for the order of checks). Every
 * answer, errors included, carries the security headers, `x-request-id`, and for an allowed
 * `Origin` the CORS headers; every error uses the one envelope `{ error: { code, message, fields? },
 * requestId }`.
 */
export function createDashboardRouter(options: DashboardRouterOptions): DashboardRouter {
  const basePath = options.basePath ?? '/api/v1';
  const compiled = options.routes.map(compile);

  async function run(request: DashboardRequest, requestId: string, respond: { headers: Record<string, string | string[]>; logger: Logger; routePath?: string }) {
    let deps: DashboardDeps;
    try {
      deps = await options.deps();
    } catch (error) {
      throw dashboardError('service_unavailable', 'The service is starting or its database is unreachable', {}, error);
    }
    respond.logger = deps.logger.child({
      requestId,
      ...cloudTraceFields(header(request, 'traceparent') ?? header(request, 'x-cloud-trace-context'), deps.projectId),
    });

    const origin = header(request, 'origin');
    if (origin !== undefined) {
      if (!options.originPolicy.isAllowed(origin)) throw dashboardError('origin_not_allowed', 'This origin may not call the dashboard API');
      Object.assign(respond.headers, corsHeaders(origin), { vary: 'Origin' });
    }

    // The request target is a path: resolved against a base, `//host/…` would name another host
    // (or throw for `//%2F`), so it is appended to a fixed origin instead.
    const url = new URL(`http://dashboard.internal${request.url.startsWith('/') ? '' : '/'}${request.url}`);
    let path = url.pathname;
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const relative = path === basePath ? '/' : path.startsWith(`${basePath}/`) ? path.slice(basePath.length) : undefined;
    const matches = relative === undefined ? [] : compiled.filter((entry) => entry.pattern.test(relative));
    if (relative === undefined || matches.length === 0) {
      throw dashboardError('not_found', `No endpoint at ${path}; the API is described at ${basePath}/openapi.json`);
    }
    const methods = [...new Set(matches.map((entry) => entry.route.method))];
    if (request.method === 'OPTIONS') {
      Object.assign(respond.headers, origin ? preflightHeaders(origin, [...methods, 'OPTIONS']) : { allow: [...methods, 'OPTIONS'].join(', ') });
      return { status: 204, body: undefined };
    }
    const entry = matches.find((candidate) => candidate.route.method === request.method);
    if (!entry) {
      respond.headers.allow = [...methods, 'OPTIONS'].join(', ');
      throw dashboardError('method_not_allowed', `Use ${methods.join(' or ')} for ${path}`);
    }
    const { route } = entry;
    respond.routePath = route.path;

    // Body checks before parsing anything.
    const raw = request.rawBody ?? Buffer.alloc(0);
    const maxBodyBytes = route.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const declaredLength = Number(header(request, 'content-length') ?? '0');
    if (raw.length > maxBodyBytes || declaredLength > maxBodyBytes) {
      throw dashboardError('payload_too_large', `Request bodies are limited to ${maxBodyBytes} bytes`);
    }
    let json: unknown;
    // A body the route may go without (its schema accepts undefined) may be left out altogether:
    // no bytes and no Content-Type. `DELETE /channels/{id}` without a body then reaches the handler
    // and answers 403 password_required, not 415.
    const isBodyLeftOut = raw.length === 0 && header(request, 'content-type') === undefined && route.body?.safeParse(undefined).success === true;
    if (route.body && !isBodyLeftOut) {
      if (!isJsonContentType(header(request, 'content-type'))) {
        throw dashboardError('unsupported_media_type', 'Send the body as JSON with Content-Type: application/json');
      }
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw dashboardError('malformed_json', 'The body is not valid JSON');
      }
    }

    const match = entry.pattern.exec(relative!)!;
    const rawParams: Record<string, string> = {};
    try {
      entry.paramNames.forEach((name, index) => (rawParams[name] = decodeURIComponent(match[index + 1]!)));
    } catch {
      throw dashboardError('not_found', `No endpoint at ${path}`);
    }
    const fields: Record<string, string> = {};
    const params = parseInput(route, 'params', rawParams, fields);
    const query = parseInput(route, 'query', Object.fromEntries(url.searchParams), fields);
    const body = parseInput(route, 'body', json, fields);
    if (Object.keys(fields).length > 0) throw validationFailed(fields);

    const cookies = parseCookies(header(request, 'cookie'));
    const info: RequestInfo = {
      requestId,
      method: route.method,
      ip: request.ip,
      origin,
      userAgent: header(request, 'user-agent'),
      cookies,
      publicPathPrefix: request.publicPathPrefix ?? '',
    };
    const now = deps.clock.now();
    const auth = await authenticate(route, request, deps, info, options.originPolicy, now);
    await enforceRateLimits(deps.kv, effectiveRateLimits(route), { ip: request.ip, auth, input: { params, query, body } }, now);

    const result = await route.handler({ params, query, body, auth: auth as never, deps, request: info, logger: respond.logger });
    Object.assign(respond.headers, result.headers ?? {});
    if (result.cookies?.length) respond.headers['set-cookie'] = result.cookies;
    if (!route.response.schema) return { status: route.response.status, body: undefined };
    const checked = route.response.schema.safeParse(result.body);
    if (!checked.success) {
      respond.logger.error('http.response_invalid', { route: route.path, fields: fieldsOf(checked.error.issues, '') });
      throw dashboardError('response_schema_mismatch', `response of ${route.operationId} does not match its schema`);
    }
    const mediaType = route.response.mediaType ?? JSON_MEDIA_TYPE;
    if (mediaType !== JSON_MEDIA_TYPE) {
      if (typeof checked.data !== 'string') throw dashboardError('response_schema_mismatch', `response of ${route.operationId} (${mediaType}) must be a string`);
      return { status: route.response.status, body: checked.data, mediaType };
    }
    return { status: route.response.status, body: checked.data };
  }

  return {
    routes: options.routes,
    async handle(request) {
      const started = performance.now();
      const requestId = randomUUID();
      const respond: { headers: Record<string, string | string[]>; logger: Logger; routePath?: string } = {
        headers: { ...SECURITY_HEADERS, 'x-request-id': requestId },
        logger: rootLogger.child({ requestId }),
      };
      let status: number;
      let payload: unknown;
      let mediaType: string | undefined;
      let errorCode: string | undefined;
      try {
        ({ status, body: payload, mediaType } = await run(request, requestId, respond));
      } catch (error) {
        const result = errorResult(error, requestId);
        status = result.status;
        payload = result.body;
        Object.assign(respond.headers, result.headers ?? {});
        if (status === 401) respond.headers['www-authenticate'] = 'Bearer';
        errorCode = error instanceof AppError ? error.code : 'internal_error';
        if (status >= 500) respond.logger.error('http.failed', { method: request.method, route: respond.routePath, status, error });
      }
      const durationMs = Math.round(performance.now() - started);
      respond.logger.info('http.request', { method: request.method, route: respond.routePath, status, durationMs, ...(errorCode ? { code: errorCode } : {}) });
      if (payload === undefined) return { status, headers: respond.headers, body: undefined };
      if (mediaType !== undefined && typeof payload === 'string') {
        respond.headers['content-type'] = mediaType;
        return { status, headers: respond.headers, body: payload };
      }
      respond.headers['content-type'] = 'application/json; charset=utf-8';
      return { status, headers: respond.headers, body: JSON.stringify(payload) };
    },
  };
}

const CSRF_MESSAGE = 'Cookie requests must come from the dashboard (Origin header of an allowed origin)';

async function authenticate(
  route: RouteDefinition,
  request: DashboardRequest,
  deps: DashboardDeps,
  info: RequestInfo,
  originPolicy: OriginPolicy,
  now: Date,
): Promise<AuthContext | undefined> {
  if (route.auth === 'none') return undefined;
  if (route.auth === 'refresh_cookie') {
    // CSRF: SameSite=Strict already keeps cross-site requests from carrying the cookie; the Origin
    // check also refuses requests from any page that is not the dashboard, and requests without
    // an Origin (browsers always send one with POST).
    if (!originPolicy.isAllowed(info.origin)) throw dashboardError('csrf_rejected', CSRF_MESSAGE);
    if (header(request, 'sec-fetch-site') === 'cross-site') throw dashboardError('csrf_rejected', CSRF_MESSAGE);
    return undefined;
  }
  const authorization = header(request, 'authorization');
  const bearer = authorization ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(authorization.trim()) : null;
  if (!bearer) throw dashboardError('unauthorized', 'Send the access token as Authorization: Bearer <token>');
  const subject = await verifyAccessToken(deps.accessTokens, bearer[1]!, now);
  if (!(await isSessionActive(deps.db, { ...subject, now }))) {
    throw dashboardError('invalid_token', 'The session has ended; log in again');
  }
  return subject;
}
