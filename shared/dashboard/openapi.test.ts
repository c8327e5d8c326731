import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createDashboardHarness, type DashboardHarness } from '../testing/dashboard-api.js';
import { buildOpenApiDocument } from './openapi.js';
import { dashboardRouteModules, dashboardRoutes } from './routes.js';
import { effectiveRateLimits } from './rate-limits.js';

/** The parts of OpenAPI 3.1 we rely on, strict enough to catch a malformed document. */
const JsonSchemaObject = z.record(z.string(), z.unknown());
const Parameter = z.strictObject({ name: z.string().min(1), in: z.enum(['path', 'query', 'header', 'cookie']), required: z.boolean(), description: z.string().optional(), schema: JsonSchemaObject });
const MediaType = z.strictObject({ schema: JsonSchemaObject });
const Response = z.strictObject({ description: z.string().min(1), content: z.record(z.string(), MediaType).optional() });
const Operation = z.strictObject({
  operationId: z.string().regex(/^[a-z][A-Za-z0-9]*$/),
  summary: z.string().min(1),
  description: z.string().optional(),
  tags: z.array(z.string()).min(1),
  security: z.array(z.record(z.string(), z.array(z.string()))),
  parameters: z.array(Parameter),
  requestBody: z.strictObject({ required: z.boolean(), content: z.record(z.string(), MediaType) }).optional(),
  responses: z.record(z.string().regex(/^[1-5]\d\d$/), Response),
});
const Document = z.strictObject({
  openapi: z.string().regex(/^3\.1\.\d+$/),
  info: z.strictObject({ title: z.string(), version: z.string(), description: z.string() }),
  servers: z.array(z.strictObject({ url: z.string() })),
  paths: z.record(z.string().regex(/^\//), z.partialRecord(z.enum(['get', 'post', 'put', 'patch', 'delete']), Operation)),
  components: z.strictObject({ schemas: z.record(z.string(), JsonSchemaObject), securitySchemes: z.record(z.string(), JsonSchemaObject) }),
});

function refsOf(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => refsOf(item, found));
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') found.push(inner);
      else refsOf(inner, found);
    }
  }
  return found;
}

let h: DashboardHarness;
beforeAll(async () => {
  h = await createDashboardHarness();
});
afterAll(() => h?.dispose());

describe('GET /openapi.json', () => {
  it('serves an OpenAPI 3.1 document that parses and lists every route of every registered module', async () => {
    const response = await h.request('GET', '/openapi.json');
    expect(response.status).toBe(200);
    const document = Document.parse(JSON.parse(response.text!));
    expect(document.openapi).toBe('3.1.0');
    for (const [module, routes] of Object.entries(dashboardRouteModules)) {
      for (const route of routes) {
        const operation = document.paths[route.path]?.[route.method.toLowerCase() as 'get'];
        expect(operation, `${module}: ${route.method} ${route.path}`).toBeDefined();
        expect(operation!.operationId).toBe(route.operationId);
        expect(Object.keys(operation!.responses)).toContain(String(route.response.status));
        const templateParams = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort();
        const pathParams = operation!.parameters.filter((parameter) => parameter.in === 'path');
        expect(pathParams.map((parameter) => parameter.name).sort(), `${route.operationId} path parameters`).toEqual(templateParams);
        expect(pathParams.every((parameter) => parameter.required)).toBe(true);
        expect(Boolean(operation!.requestBody)).toBe(Boolean(route.body));
        if (route.auth !== 'none') expect(Object.keys(operation!.responses)).toContain('401');
        if (effectiveRateLimits(route).length > 0) expect(Object.keys(operation!.responses)).toContain('429');
      }
    }
    const operationCount = Object.values(document.paths).reduce((sum, methods) => sum + Object.keys(methods).length, 0);
    expect(operationCount).toBe(dashboardRoutes.length);
    expect(new Set(dashboardRoutes.map((route) => route.operationId)).size).toBe(dashboardRoutes.length);
  });

  it('resolves every $ref inside the document', () => {
    const document = buildOpenApiDocument(dashboardRoutes, { version: 'test' }) as { components: { schemas: Record<string, unknown> } };
    for (const ref of refsOf(document)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(document.components.schemas[ref.split('/').at(-1)!], ref).toBeDefined();
    }
  });

  it('describes request bodies from the same zod schemas the router validates with', () => {
    const document = buildOpenApiDocument(dashboardRoutes, { version: 'test' }) as any;
    const signup = document.paths['/auth/signup'].post.requestBody.content['application/json'].schema;
    expect(signup.required).toEqual(['email', 'password']);
    expect(signup.properties.password).toMatchObject({ type: 'string', minLength: 10, maxLength: 128 });
    expect(document.paths['/me'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(document.paths['/auth/session/refresh'].post.security).toEqual([{ refreshCookie: [] }]);
  });

  it('describes the channel fields of the schedule, the grace period and the subscribe links, and the QR code as SVG', () => {
    const document = buildOpenApiDocument(dashboardRoutes, { version: 'test' }) as any;
    const update = document.paths['/channels/{channelId}'].patch.requestBody.content['application/json'].schema;
    expect(update.properties.gracePeriodHours).toMatchObject({ type: 'integer', minimum: 0, maximum: 72 });
    expect(update.properties.broadcast.properties.intervalHours.anyOf).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'integer', minimum: 1, maximum: 720 }), { type: 'null' }]),
    );
    const channel = document.paths['/channels/{channelId}'].get.responses['200'].content['application/json'].schema;
    expect(channel.required).toEqual(expect.arrayContaining(['gracePeriodHours', 'subscribeLinks', 'broadcast']));
    expect(Object.keys(channel.properties.broadcast.properties).sort()).toEqual(
      ['consecutiveFailures', 'disabledReason', 'enabled', 'intervalHours', 'lastError', 'lastManualTriggerAt', 'lastPostedAt', 'manualTriggerAvailableAt', 'nextRunAt'].sort(),
    );
    const links = channel.properties.subscribeLinks.anyOf.find((option: { type: string }) => option.type === 'object');
    expect(links.properties.tiers.items.required).toEqual(expect.arrayContaining(['tierNumber', 'url', 'startParameter']));

    const qr = document.paths['/channels/{channelId}/subscribe-qr.svg'].get;
    expect(qr.operationId).toBe('retrieveSubscribeQrCode');
    expect(qr.security).toEqual([{ bearerAuth: [] }]);
    expect(qr.responses['200'].content).toEqual({ 'image/svg+xml': { schema: { type: 'string' } } });
    expect(qr.parameters).toContainEqual(expect.objectContaining({ name: 'tier', in: 'query', required: false, schema: expect.objectContaining({ type: 'string', pattern: '^[1-3]$' }) }));
    expect(Object.keys(qr.responses)).toEqual(expect.arrayContaining(['400', '401', '404', '503']));
  });
});
