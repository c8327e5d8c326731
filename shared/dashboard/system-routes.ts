import * as z from 'zod';
import { buildOpenApiDocument } from './openapi.js';
import { defineRoute, type RouteDefinition } from './route-definition.js';

/** Bumped when the contract changes in a way clients must notice. */
export const DASHBOARD_API_VERSION = '1.0.0';

/**
 * The document describes every registered route; `routes` is read when the handler runs, so the
 * registry can list this module before the others.
 */
export function systemRoutes(allRoutes: () => readonly RouteDefinition[]): RouteDefinition[] {
  let document: Record<string, unknown> | undefined;
  return [
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'retrieveOpenApiDocument',
      summary: 'This API as an OpenAPI 3.1 document',
      tags: ['system'],
      auth: 'none',
      response: { status: 200, description: 'The document', schema: z.record(z.string(), z.unknown()) },
      rateLimits: 'none', // built once, served from memory
      handler: async () => ({ body: (document ??= buildOpenApiDocument(allRoutes(), { version: DASHBOARD_API_VERSION })) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/health',
      operationId: 'checkHealth',
      summary: 'Liveness',
      tags: ['system'],
      auth: 'none',
      response: { status: 200, description: 'Up', schema: z.object({ status: z.literal('ok') }) },
      rateLimits: 'none', // liveness must not depend on the key-value store
      handler: async () => ({ body: { status: 'ok' as const } }),
    }),
  ];
}
