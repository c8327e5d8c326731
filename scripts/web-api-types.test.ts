import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateWebApiTypes, servedOpenApiDocument, WEB_API_TYPES_FILE } from './web-api-types.js';

describe('the web app’s API types', () => {
  it('are what openapi-typescript makes of the served OpenAPI document today (else run npm run web:api)', async () => {
    const checkedIn = await readFile(WEB_API_TYPES_FILE, 'utf8');
    // A plain toBe would print 3,000 lines; the hint says what to do.
    const isCurrent = checkedIn === (await generateWebApiTypes());
    expect(isCurrent, 'web/src/api/schema.gen.ts is stale: run `npm run web:api` and commit it').toBe(true);
  });

  it('come from the document the router serves, with every operation the web app calls', async () => {
    const document = (await servedOpenApiDocument()) as { paths: Record<string, Record<string, { operationId: string }>> };
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((operation) => operation.operationId));
    expect(operations).toEqual(expect.arrayContaining(['logIn', 'refreshSession', 'signUp', 'verifyEmail', 'createChannel', 'listChannels', 'retrieveSubscribeQrCode']));
  });
});
