import * as z from 'zod';
import type { RouteDefinition } from './route-definition.js';
import { REFRESH_COOKIE_NAME } from './refresh-cookie.js';
import { effectiveRateLimits } from './rate-limits.js';

/** The error envelope every non-2xx answer uses. */
export const ErrorEnvelopeSchema = z.object({
  error: z.object({
    code: z.string().describe('Stable snake_case code, e.g. validation_failed, rate_limited'),
    message: z.string().describe('What went wrong and how to fix it, for people'),
    fields: z.record(z.string(), z.string()).optional().describe('Per-field messages (validation errors): body fields by name, query.x, path.x'),
  }),
  requestId: z.string().describe('Quote it when reporting a problem'),
});

const STANDARD_ERRORS: Record<number, string> = {
  400: 'Invalid input (validation_failed with fields, malformed_json)',
  401: 'Missing, invalid or expired credentials',
  403: 'Refused: origin not allowed, CSRF check failed, or not permitted',
  413: 'Body too large',
  415: 'Body is not JSON',
  429: 'Rate limited; wait Retry-After seconds',
};

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function parametersOf(schema: z.ZodType | undefined, location: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const object = jsonSchema(schema, 'input');
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
    schema: property,
  }));
}

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } });

function errorStatusesOf(route: RouteDefinition): Record<number, string> {
  const statuses: Record<number, string> = {};
  if (route.params || route.query || route.body) statuses[400] = STANDARD_ERRORS[400]!;
  if (route.auth !== 'none') statuses[401] = STANDARD_ERRORS[401]!;
  if (route.auth === 'refresh_cookie') statuses[403] = STANDARD_ERRORS[403]!;
  if (route.body) Object.assign(statuses, { 413: STANDARD_ERRORS[413], 415: STANDARD_ERRORS[415] });
  if (effectiveRateLimits(route).length > 0) statuses[429] = STANDARD_ERRORS[429]!;
  return { ...statuses, ...(route.errors ?? {}) };
}

function operationOf(route: RouteDefinition): JsonSchema {
  const responses: JsonSchema = {
    [route.response.status]: route.response.schema
      ? { description: route.response.description, content: { [route.response.mediaType ?? 'application/json']: { schema: jsonSchema(route.response.schema, 'output') } } }
      : { description: route.response.description },
  };
  for (const [status, description] of Object.entries(errorStatusesOf(route))) responses[status] = errorResponse(description);
  const limits = effectiveRateLimits(route).map((rule) => `${rule.limit} per ${rule.windowSeconds} s per ${typeof rule.key === 'string' ? rule.key : 'input value'}`);
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description || limits?.length ? { description: [route.description, limits?.length ? `Rate limits: ${limits.join('; ')}.` : undefined].filter(Boolean).join('\n\n') } : {}),
    tags: route.tags,
    ...(route.auth === 'bearer' ? { security: [{ bearerAuth: [] }] } : route.auth === 'refresh_cookie' ? { security: [{ refreshCookie: [] }] } : { security: [] }),
    parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
    ...(route.body ? { requestBody: { required: !route.body.safeParse(undefined).success, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } } } : {}),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of `routes`, built from the same zod schemas the router validates with
 * (`z.toJSONSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses as is): request schemas in their
 * input form, response schemas in their output form.
 */
export function buildOpenApiDocument(routes: readonly RouteDefinition[], options: { version: string; serverUrl?: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'PayGatePrime dashboard API',
      version: options.version,
      description: 'Channel owners manage their account, channels, earnings and payouts. Errors share one envelope (ErrorEnvelope).',
    },
    servers: [{ url: options.serverUrl ?? '/api/v1' }],
    paths,
    components: {
      schemas: { ErrorEnvelope: jsonSchema(ErrorEnvelopeSchema, 'output') },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from login or refresh, 15 minutes' },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: REFRESH_COOKIE_NAME, description: 'httpOnly refresh cookie; requests need an allowed Origin' },
      },
    },
  };
}
